// PATCH /collections/{name}: Qdrant's update-collection endpoint. Only strict_mode_config can be changed
// so far; Qdrant's other fields (optimizers_config, params, hnsw_config, vectors, quantization_config,
// sparse_vectors, metadata) are refused by name rather than silently ignored.
#include "api/handlers.h"
#include "collection/strict_mode_config.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

StatusOr<json::value> HandleUpdateCollection(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  for (const auto& kv : body) {
    if (kv.key() == "strict_mode_config") continue;
    for (const char* qdrant : {"vectors", "optimizers_config", "params", "hnsw_config", "quantization_config",
                               "sparse_vectors", "metadata"}) {
      if (kv.key() == qdrant && !kv.value().is_null()) {
        return absl::InvalidArgumentError(std::string(qdrant) +
                                          ": cannot be changed; PATCH /collections/{name} accepts strict_mode_config only");
      }
    }
  }
  VJ_RETURN_IF_ERROR(CheckKnownFields(body,
                                      {"strict_mode_config", "vectors", "optimizers_config", "params", "hnsw_config",
                                       "quantization_config", "sparse_vectors", "metadata"},
                                      ""));
  if (const json::value* strict = FindField(body, "strict_mode_config"); strict != nullptr && !strict->is_null()) {
    VJ_ASSIGN_OR_RETURN(StrictModeConfig update, ParseStrictModeConfig(*strict, "strict_mode_config"));
    VJ_RETURN_IF_ERROR(collection->UpdateStrictMode(update));
  }
  return json::value(true);
}

}  // namespace vj

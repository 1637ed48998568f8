// PATCH /collections/{name}: Qdrant's update-collection endpoint. strict_mode_config is merged and
// persisted. Qdrant's other fields (optimizers_config, params, hnsw_config, vectors,
// quantization_config, sparse_vectors, metadata) change settings that this engine fixes at create (its
// indexes are not rebuilt for new parameters): null or an empty object ("change nothing") is accepted,
// any setting in them is refused by its full name rather than silently ignored.
#include "api/handlers.h"
#include "collection/strict_mode_config.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

// The first setting named inside `value` (dotted path below `where`), skipping nulls and empty objects;
// "" when there is none.
std::string FirstSetting(const json::value& value, const std::string& where, int depth = 0) {
  if (value.is_null()) return "";
  const json::object* obj = value.if_object();
  if (obj == nullptr || depth >= 3) return where;
  for (const auto& kv : *obj) {
    std::string inner = FirstSetting(kv.value(), where + "." + std::string(kv.key()), depth + 1);
    if (!inner.empty()) return inner;
  }
  return "";
}

}  // namespace

StatusOr<json::value> HandleUpdateCollection(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body,
                                      {"strict_mode_config", "vectors", "optimizers_config", "params", "hnsw_config",
                                       "quantization_config", "sparse_vectors", "metadata"},
                                      ""));
  for (const auto& kv : body) {
    if (kv.key() == "strict_mode_config") continue;
    const std::string setting = FirstSetting(kv.value(), std::string(kv.key()));
    if (!setting.empty()) {
      return absl::InvalidArgumentError(
          setting + ": cannot be changed after the collection is created (its indexes are built with the "
                    "settings of create); PATCH /collections/{name} changes strict_mode_config only");
    }
  }
  if (const json::value* strict = FindField(body, "strict_mode_config"); strict != nullptr && !strict->is_null()) {
    VJ_ASSIGN_OR_RETURN(StrictModeConfig update, ParseStrictModeConfig(*strict, "strict_mode_config"));
    VJ_RETURN_IF_ERROR(collection->UpdateStrictMode(update));
  }
  return json::value(true);
}

}  // namespace vj

// PATCH /collections/{name}: Qdrant's update-collection endpoint. strict_mode_config is merged and
// persisted; hnsw_config and quantization_config (collection-wide or per vector) are persisted and the
// shards rebuild their vector indexes with them in the background (Collection::UpdateIndexSettings).
// Any other setting is refused by its full name (ApplyCollectionUpdate) rather than silently ignored.
#include "api/handlers.h"
#include "collection/strict_mode_config.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

StatusOr<json::value> HandleUpdateCollection(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  // Everything is checked before anything changes.
  VJ_RETURN_IF_ERROR(ApplyCollectionUpdate(collection->config(), body).status());
  std::optional<StrictModeConfig> strict;
  if (const json::value* s = FindField(body, "strict_mode_config"); s != nullptr && !s->is_null()) {
    VJ_ASSIGN_OR_RETURN(strict, ParseStrictModeConfig(*s, "strict_mode_config"));
  }
  VJ_RETURN_IF_ERROR(collection->UpdateIndexSettings(body));
  if (strict) VJ_RETURN_IF_ERROR(collection->UpdateStrictMode(*strict));
  return json::value(true);
}

}  // namespace vj

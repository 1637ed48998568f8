// POST /collections/{c}/facet (Qdrant's shape): counts of a payload key's values among matching points.
// As in Qdrant, the key needs a keyword, integer, bool or uuid payload index; counts are always exact.
#include "api/aggregation_codec.h"
#include "api/filter_codec.h"
#include "api/handlers.h"
#include "api/strict_mode.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

StatusOr<json::value> HandleFacet(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"key", "filter", "limit", "exact", "shard_key"}, ""));
  FacetRequest request;
  request.deadline = deadline;
  const json::value* key = FindField(body, "key");
  if (key == nullptr) return absl::InvalidArgumentError("key: missing");
  VJ_ASSIGN_OR_RETURN(request.key, ReadString(*key, "key"));
  StatusOr<PayloadPath> path = ParsePayloadPath(request.key);
  if (!path.ok()) return absl::InvalidArgumentError("key: " + std::string(path.status().message()));
  request.path = std::move(*path);
  if (const json::value* filter = FindField(body, "filter")) {
    VJ_ASSIGN_OR_RETURN(request.filter, ParseFilter(*filter, "filter", call.limits().filter));
  }
  if (const json::value* limit = FindField(body, "limit")) {
    VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*limit, "limit"));
    if (n == 0) return absl::InvalidArgumentError("limit: must be at least 1");
    if (n > call.limits().max_limit) return OverLimit("limit", n, "hits", call.limits().max_limit, "limit");
    request.limit = n;
  }
  if (const json::value* exact = FindField(body, "exact")) {
    VJ_RETURN_IF_ERROR(ReadBool(*exact, "exact").status());  // counts are exact either way
  }
  const CollectionConfig config = collection->config();
  auto index = config.payload_schema.find(request.key);
  if (index == config.payload_schema.end() || index->second.type == PayloadSchemaType::kFloat ||
      index->second.type == PayloadSchemaType::kText) {
    return absl::InvalidArgumentError("key: facet needs a keyword, integer, bool or uuid payload index on \"" +
                                      request.key + "\"; create one first");
  }
  request.type = index->second.type;
  VJ_RETURN_IF_ERROR(strict.AdmitCount(request.filter));
  VJ_ASSIGN_OR_RETURN(std::vector<FacetHit> hits, collection->Facet(request));
  return FacetHitsToJson(hits);
}

}  // namespace vj

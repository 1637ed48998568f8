// Search endpoints: the universal /points/query (and batch) and the older /points/search (and batch).
#include "api/fast_body.h"
#include "api/filter_codec.h"
#include "api/handlers.h"
#include "api/point_codec.h"
#include "api/query_codec.h"
#include "api/request_phases.h"
#include "api/service.h"
#include "api/strict_mode.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

json::array ScoredToJson(const std::vector<PointView>& views) {
  json::array out;
  out.reserve(views.size());
  for (const PointView& v : views) out.push_back(PointViewToJson(v));
  return out;
}

// One /points/query body, run as a query plan (collection/query_plan.h). Without "query" and
// "prefetch" it lists points in id order, as Qdrant does. `fast`: the vector decoded apart (fast_body.h).
StatusOr<json::value> RunQuery(const Call& call, const Collection& collection, const json::value& body_value,
                               const std::string& where, FastBody* fast = nullptr) {
  VJ_ASSIGN_OR_RETURN(const json::object* body, ReadObject(body_value, where));
  VJ_ASSIGN_OR_RETURN(QueryPlan plan, ParseQueryPlan(*body, call.limits(), where));
  if (fast != nullptr) VJ_RETURN_IF_ERROR(RestoreVector(fast, &plan));
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views, QueryPoints(call, collection, std::move(plan)));
  return json::object{{"points", ScoredToJson(views)}};
}

StatusOr<std::vector<PointView>> RunSearch(const Call& call, const Collection& collection,
                                           const json::value& body_value, const std::string& where,
                                           FastBody* fast = nullptr) {
  const RequestLimits limits = call.limits();
  VJ_ASSIGN_OR_RETURN(const json::object* body_ptr, ReadObject(body_value, where));
  const json::object& body = *body_ptr;
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"vector", "filter", "limit", "offset", "score_threshold",
                                             "with_payload", "with_vector", "params", "shard_key"},
                                      where));
  QueryRequest request;
  VJ_RETURN_IF_ERROR(ParseSearchCommon(body, limits, &request));
  const json::value* vector = FindField(body, "vector");
  if (vector == nullptr) return absl::InvalidArgumentError("vector: missing");
  if (const json::object* named = vector->if_object()) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*named, {"name", "vector"}, "vector"));
    const json::value* name = FindField(*named, "name");
    const json::value* values = FindField(*named, "vector");
    if (name == nullptr || values == nullptr) {
      return absl::InvalidArgumentError("vector: expected {\"name\": ..., \"vector\": [...]}");
    }
    VJ_ASSIGN_OR_RETURN(request.using_vector, ReadString(*name, "vector.name"));
    if (values->is_object()) {
      VJ_ASSIGN_OR_RETURN(request.sparse_vector,
                          ParseSparseVector(*values, "vector.vector", limits.max_sparse_nnz, InferenceSide::kQuery));
    } else {
      VJ_ASSIGN_OR_RETURN(request.vector, ParseFloatVector(*values, "vector.vector"));
    }
  } else {
    VJ_ASSIGN_OR_RETURN(request.vector, ParseFloatVector(*vector, "vector"));
  }
  if (fast != nullptr) VJ_RETURN_IF_ERROR(RestoreVector(fast, &request));
  return SearchPoints(call, collection, std::move(request));
}

StatusOr<const json::array*> ReadSearches(const json::object& body, const RequestLimits& limits) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"searches", "shard_key"}, ""));
  const json::value* searches = FindField(body, "searches");
  if (searches == nullptr) return absl::InvalidArgumentError("searches: missing");
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*searches, "searches"));
  if (arr->size() > limits.max_batch_queries) {
    return OverLimit("searches", arr->size(), "queries", limits.max_batch_queries, "batch_queries");
  }
  return arr;
}

}  // namespace

StatusOr<json::value> HandleQuery(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, 1));
  VJ_ASSIGN_OR_RETURN(FastBody body, DecodeBody(call, BodyVectorSlot::kQuery, /*optional=*/true));
  return RunQuery(call, *collection, json::value(std::move(body.json)), "", &body);
}

// Batches check the deadline before each query, so a batch that runs out of time stops there.
StatusOr<json::value> HandleQueryBatch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(const json::array* searches, ReadSearches(body, call.limits()));
  VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, searches->size()));
  json::array results;
  for (size_t i = 0; i < searches->size(); ++i) {
    VJ_RETURN_IF_ERROR(deadline.Check("Query"));
    VJ_ASSIGN_OR_RETURN(json::value r, RunQuery(call, *collection, (*searches)[i], "searches[" + std::to_string(i) + "]"));
    results.push_back(std::move(r));
  }
  return results;
}

StatusOr<json::value> HandleSearch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, 1));
  VJ_ASSIGN_OR_RETURN(FastBody body, DecodeBody(call, BodyVectorSlot::kSearch, /*optional=*/false));
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                      RunSearch(call, *collection, json::value(std::move(body.json)), "", &body));
  return ScoredToJson(views);
}

StatusOr<json::value> HandleSearchBatch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(const json::array* searches, ReadSearches(body, call.limits()));
  VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, searches->size()));
  json::array results;
  for (size_t i = 0; i < searches->size(); ++i) {
    VJ_RETURN_IF_ERROR(deadline.Check("Search"));
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                        RunSearch(call, *collection, (*searches)[i], "searches[" + std::to_string(i) + "]"));
    results.push_back(ScoredToJson(views));
  }
  return results;
}

Status AdmitReadBatch(const Call& call, const Collection& collection, size_t queries) {
  const StrictMode strict = StrictMode::For(call, collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  return queries > 1 ? strict.CheckBatch(queries) : absl::OkStatus();
}

StatusOr<std::vector<PointView>> SearchPoints(const Call& call, const Collection& collection, QueryRequest request) {
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitQuery(request));
  VJ_ASSIGN_OR_RETURN(request.deadline, call.RequestDeadline());
  ExecutePhase execute;
  return collection.Query(request);
}

StatusOr<std::vector<PointView>> QueryPoints(const Call& call, const Collection& collection, QueryPlan plan) {
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitQueryPlan(plan));
  VJ_ASSIGN_OR_RETURN(plan.deadline, call.RequestDeadline());
  ExecutePhase execute;
  return RunQueryPlan(collection, plan);
}

}  // namespace vj

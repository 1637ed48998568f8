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

json::object QueryAnswer(const std::vector<PointView>& views) { return json::object{{"points", ScoredToJson(views)}}; }

// One /points/query body as a query plan (collection/query_plan.h). Without "query" and "prefetch" it
// lists points in id order, as Qdrant does. `fast`: the vector decoded apart (fast_body.h).
StatusOr<QueryPlan> ParseQueryBody(const Call& call, const json::value& body_value, const std::string& where,
                                   FastBody* fast = nullptr) {
  VJ_ASSIGN_OR_RETURN(const json::object* body, ReadObject(body_value, where));
  VJ_ASSIGN_OR_RETURN(QueryPlan plan, ParseQueryPlan(*body, call.limits(), where));
  if (fast != nullptr) VJ_RETURN_IF_ERROR(RestoreVector(fast, &plan));
  return plan;
}

// One /points/search body.
StatusOr<QueryRequest> ParseSearchBody(const Call& call, const json::value& body_value, const std::string& where,
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
  return request;
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
  VJ_ASSIGN_OR_RETURN(QueryPlan plan, ParseQueryBody(call, json::value(std::move(body.json)), "", &body));
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views, QueryPoints(call, *collection, std::move(plan)));
  return QueryAnswer(views);
}

// Batches parse and admit every query before the first runs (QueryPointsBatch).
StatusOr<json::value> HandleQueryBatch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(const json::array* searches, ReadSearches(body, call.limits()));
  VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, searches->size()));
  std::vector<QueryPlan> plans;
  plans.reserve(searches->size());
  for (size_t i = 0; i < searches->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(QueryPlan plan, ParseQueryBody(call, (*searches)[i], "searches[" + std::to_string(i) + "]"));
    plans.push_back(std::move(plan));
  }
  VJ_ASSIGN_OR_RETURN(std::vector<std::vector<PointView>> answers,
                      QueryPointsBatch(call, *collection, std::move(plans), "searches"));
  json::array results;
  for (const std::vector<PointView>& views : answers) results.push_back(QueryAnswer(views));
  return results;
}

StatusOr<json::value> HandleSearch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, 1));
  VJ_ASSIGN_OR_RETURN(FastBody body, DecodeBody(call, BodyVectorSlot::kSearch, /*optional=*/false));
  VJ_ASSIGN_OR_RETURN(QueryRequest request, ParseSearchBody(call, json::value(std::move(body.json)), "", &body));
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views, SearchPoints(call, *collection, std::move(request)));
  return ScoredToJson(views);
}

StatusOr<json::value> HandleSearchBatch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(const json::array* searches, ReadSearches(body, call.limits()));
  VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, searches->size()));
  std::vector<QueryRequest> requests;
  requests.reserve(searches->size());
  for (size_t i = 0; i < searches->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(QueryRequest request,
                        ParseSearchBody(call, (*searches)[i], "searches[" + std::to_string(i) + "]"));
    requests.push_back(std::move(request));
  }
  VJ_ASSIGN_OR_RETURN(std::vector<std::vector<PointView>> answers,
                      SearchPointsBatch(call, *collection, std::move(requests), "searches"));
  json::array results;
  for (const std::vector<PointView>& views : answers) results.push_back(ScoredToJson(views));
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

StatusOr<std::vector<std::vector<PointView>>> SearchPointsBatch(const Call& call, const Collection& collection,
                                                                std::vector<QueryRequest> requests,
                                                                const std::string& field) {
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitQueries(requests, field));
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  std::vector<std::vector<PointView>> answers;
  answers.reserve(requests.size());
  for (QueryRequest& request : requests) {
    VJ_RETURN_IF_ERROR(deadline.Check("Search"));
    request.deadline = deadline;
    ExecutePhase execute;
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> views, collection.Query(request));
    answers.push_back(std::move(views));
  }
  return answers;
}

StatusOr<std::vector<std::vector<PointView>>> QueryPointsBatch(const Call& call, const Collection& collection,
                                                               std::vector<QueryPlan> plans, const std::string& field) {
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitQueryPlans(plans, field));
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  std::vector<std::vector<PointView>> answers;
  answers.reserve(plans.size());
  for (QueryPlan& plan : plans) {
    VJ_RETURN_IF_ERROR(deadline.Check("Query"));
    plan.deadline = deadline;
    ExecutePhase execute;
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> views, RunQueryPlan(collection, plan));
    answers.push_back(std::move(views));
  }
  return answers;
}

}  // namespace vj

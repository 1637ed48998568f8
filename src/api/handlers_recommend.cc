// The older recommend and discover endpoints, /points/recommend and /points/discover (and their
// batches), run as query plans with one recommend or discover/context query (collection/query_plan.h),
// as Qdrant runs them.
#include "api/handlers.h"
#include "api/point_codec.h"
#include "api/query_codec.h"
#include "api/strict_mode.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

json::array PointsToJson(const std::vector<PointView>& views) {
  json::array out;
  out.reserve(views.size());
  for (const PointView& v : views) out.push_back(PointViewToJson(v));
  return out;
}

using PlanParser = StatusOr<QueryPlan> (*)(const json::object&, const RequestLimits&, const std::string&);

StatusOr<json::value> RunPlan(PlanParser parse, const Collection& collection, const json::value& body_value,
                              const std::string& where, const RequestLimits& limits, const Deadline& deadline,
                              const StrictMode& strict) {
  VJ_ASSIGN_OR_RETURN(const json::object* body, ReadObject(body_value, where));
  VJ_ASSIGN_OR_RETURN(QueryPlan plan, parse(*body, limits, where));
  VJ_RETURN_IF_ERROR(strict.AdmitQueryPlan(plan));
  plan.deadline = deadline;
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views, RunQueryPlan(collection, plan));
  return PointsToJson(views);
}

StatusOr<json::value> HandleOne(const Call& call, PlanParser parse) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  return RunPlan(parse, *collection, json::value(std::move(body)), "", call.limits(), deadline, strict);
}

// As the search batch: the deadline is checked before each query of the batch.
StatusOr<json::value> HandleBatch(const Call& call, PlanParser parse, const char* operation) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"searches", "shard_key"}, ""));
  const json::value* searches = FindField(body, "searches");
  if (searches == nullptr) return absl::InvalidArgumentError("searches: missing");
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*searches, "searches"));
  if (arr->size() > call.limits().max_batch_queries) {
    return OverLimit("searches", arr->size(), "queries", call.limits().max_batch_queries, "batch_queries");
  }
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_RETURN_IF_ERROR(strict.CheckBatch(arr->size()));
  json::array results;
  for (size_t i = 0; i < arr->size(); ++i) {
    VJ_RETURN_IF_ERROR(deadline.Check(operation));
    VJ_ASSIGN_OR_RETURN(json::value r,
                        RunPlan(parse, *collection, (*arr)[i], "searches[" + std::to_string(i) + "]",
                                call.limits(), deadline, strict));
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace

StatusOr<json::value> HandleRecommend(const Call& call) { return HandleOne(call, ParseRecommendPlan); }

StatusOr<json::value> HandleRecommendBatch(const Call& call) {
  return HandleBatch(call, ParseRecommendPlan, "Recommend");
}

StatusOr<json::value> HandleDiscover(const Call& call) { return HandleOne(call, ParseDiscoverPlan); }

StatusOr<json::value> HandleDiscoverBatch(const Call& call) {
  return HandleBatch(call, ParseDiscoverPlan, "Discover");
}

}  // namespace vj

// Search endpoints: the universal /points/query (and batch) and the older /points/search (and batch).
#include "api/filter_codec.h"
#include "api/handlers.h"
#include "api/point_codec.h"
#include "api/strict_mode.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

Status ParseSearchParams(const json::object& body, QueryRequest* request) {
  const json::value* params = FindField(body, "params");
  if (params == nullptr) return absl::OkStatus();
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*params, "params"));
  VJ_RETURN_IF_ERROR(
      CheckKnownFields(*obj, {"hnsw_ef", "exact", "quantization", "indexed_only"}, "params"));
  if (const json::value* ef = FindField(*obj, "hnsw_ef")) {
    VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*ef, "params.hnsw_ef"));
    if (n > 65536) return absl::InvalidArgumentError("params.hnsw_ef: must be at most 65536");
    request->hnsw_ef = n;
  }
  if (const json::value* exact = FindField(*obj, "exact")) {
    VJ_ASSIGN_OR_RETURN(request->exact, ReadBool(*exact, "params.exact"));
  }
  if (const json::value* q = FindField(*obj, "quantization")) {
    VJ_ASSIGN_OR_RETURN(const json::object* qobj, ReadObject(*q, "params.quantization"));
    VJ_RETURN_IF_ERROR(
        CheckKnownFields(*qobj, {"ignore", "rescore", "oversampling"}, "params.quantization"));
    if (const json::value* v = FindField(*qobj, "ignore")) {
      VJ_ASSIGN_OR_RETURN(request->ignore_quantization, ReadBool(*v, "params.quantization.ignore"));
    }
    if (const json::value* v = FindField(*qobj, "rescore")) {
      VJ_ASSIGN_OR_RETURN(request->rescore, ReadBool(*v, "params.quantization.rescore"));
    }
    if (const json::value* v = FindField(*qobj, "oversampling")) {
      VJ_ASSIGN_OR_RETURN(double o, ReadNumber(*v, "params.quantization.oversampling"));
      if (o < 1.0 || o > 100.0) {
        return absl::InvalidArgumentError("params.quantization.oversampling: must be between 1 and 100");
      }
      request->oversampling = static_cast<float>(o);
    }
  }
  if (const json::value* indexed = FindField(*obj, "indexed_only")) {
    VJ_RETURN_IF_ERROR(ReadBool(*indexed, "params.indexed_only").status());
  }
  return absl::OkStatus();
}

// The fields /points/query and /points/search share.
Status ParseCommon(const json::object& body, const RequestLimits& limits, QueryRequest* request) {
  if (const json::value* filter = FindField(body, "filter")) {
    VJ_ASSIGN_OR_RETURN(request->filter, ParseFilter(*filter, "filter", limits.filter));
  }
  if (const json::value* limit = FindField(body, "limit")) {
    VJ_ASSIGN_OR_RETURN(request->limit, ReadUint(*limit, "limit"));
    if (request->limit > limits.max_limit) {
      return OverLimit("limit", request->limit, "points", limits.max_limit, "limit");
    }
  }
  if (const json::value* offset = FindField(body, "offset")) {
    VJ_ASSIGN_OR_RETURN(request->offset, ReadUint(*offset, "offset"));
    if (request->offset > limits.max_offset) {
      return OverLimit("offset", request->offset, "points", limits.max_offset, "offset");
    }
  }
  if (const json::value* t = FindField(body, "score_threshold")) {
    VJ_ASSIGN_OR_RETURN(double threshold, ReadNumber(*t, "score_threshold"));
    request->score_threshold = static_cast<float>(threshold);
  }
  VJ_ASSIGN_OR_RETURN(request->with_payload,
                      ParsePayloadSelector(FindField(body, "with_payload"), PayloadSelector{},
                                           limits.max_payload_keys));
  VJ_ASSIGN_OR_RETURN(request->with_vector, ParseVectorSelector(FindField(body, "with_vector")));
  return ParseSearchParams(body, request);
}

json::array ScoredToJson(const std::vector<PointView>& views) {
  json::array out;
  out.reserve(views.size());
  for (const PointView& v : views) out.push_back(PointViewToJson(v));
  return out;
}

// One /points/query body. Without "query" it lists points in id order, as Qdrant does.
StatusOr<json::value> RunQuery(const Collection& collection, const json::value& body_value,
                               const std::string& where, const RequestLimits& limits,
                               const Deadline& deadline, const StrictMode& strict) {
  VJ_ASSIGN_OR_RETURN(const json::object* body_ptr, ReadObject(body_value, where));
  const json::object& body = *body_ptr;
  VJ_RETURN_IF_ERROR(CheckKnownFields(
      body, {"query", "using", "filter", "limit", "offset", "score_threshold", "with_payload",
             "with_vector", "params", "prefetch", "lookup_from", "shard_key"},
      where));
  if (FindField(body, "prefetch") != nullptr || FindField(body, "lookup_from") != nullptr) {
    return absl::InvalidArgumentError(where + (where.empty() ? "" : ": ") +
                                      "prefetch and lookup_from are not supported yet");
  }
  QueryRequest request;
  VJ_RETURN_IF_ERROR(ParseCommon(body, limits, &request));
  VJ_RETURN_IF_ERROR(strict.AdmitQuery(request));
  request.deadline = deadline;
  if (const json::value* u = FindField(body, "using")) {
    VJ_ASSIGN_OR_RETURN(request.using_vector, ReadString(*u, "using"));
  }
  const json::value* query = FindField(body, "query");
  if (query == nullptr) {
    ScrollRequest scroll;
    scroll.limit = request.limit;
    scroll.filter = request.filter;
    scroll.with_payload = request.with_payload;
    scroll.with_vector = request.with_vector;
    scroll.deadline = deadline;
    VJ_ASSIGN_OR_RETURN(ScrollResult result, collection.Scroll(scroll));
    return json::object{{"points", ScoredToJson(result.points)}};
  }
  if (const json::object* q = query->if_object()) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*q, {"nearest"}, "query"));
    const json::value* nearest = FindField(*q, "nearest");
    if (nearest == nullptr) return absl::InvalidArgumentError("query: expected a vector or {\"nearest\": ...}");
    query = nearest;
  }
  if (query->is_array()) {
    VJ_ASSIGN_OR_RETURN(request.vector, ParseFloatVector(*query, "query"));
  } else {
    // A point id: search with that point's stored vector.
    VJ_ASSIGN_OR_RETURN(PointId id, ParsePointId(*query, "query"));
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> found,
                        collection.Retrieve({id}, PayloadSelector{}, VectorSelector{false, {request.using_vector}}));
    if (found.empty() || found[0].vectors.count(request.using_vector) == 0) {
      return absl::NotFoundError("No point with id " + id.ToString() + " found");
    }
    request.vector = found[0].vectors[request.using_vector];
    Filter exclude_self;
    exclude_self.must_not.push_back(HasIdCondition{{id}});
    if (request.filter) exclude_self.must.push_back(std::make_shared<const Filter>(*request.filter));
    request.filter = std::move(exclude_self);
  }
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views, collection.Query(request));
  return json::object{{"points", ScoredToJson(views)}};
}

StatusOr<std::vector<PointView>> RunSearch(const Collection& collection, const json::value& body_value,
                                           const std::string& where, const RequestLimits& limits,
                                           const Deadline& deadline, const StrictMode& strict) {
  VJ_ASSIGN_OR_RETURN(const json::object* body_ptr, ReadObject(body_value, where));
  const json::object& body = *body_ptr;
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"vector", "filter", "limit", "offset", "score_threshold",
                                             "with_payload", "with_vector", "params", "shard_key"},
                                      where));
  QueryRequest request;
  VJ_RETURN_IF_ERROR(ParseCommon(body, limits, &request));
  VJ_RETURN_IF_ERROR(strict.AdmitQuery(request));
  request.deadline = deadline;
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
    VJ_ASSIGN_OR_RETURN(request.vector, ParseFloatVector(*values, "vector.vector"));
  } else {
    VJ_ASSIGN_OR_RETURN(request.vector, ParseFloatVector(*vector, "vector"));
  }
  return collection.Query(request);
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
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.OptionalBody());
  return RunQuery(*collection, json::value(std::move(body)), "", call.limits(), deadline, strict);
}

// Batches check the deadline before each query, so a batch that runs out of time stops there.
StatusOr<json::value> HandleQueryBatch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(const json::array* searches, ReadSearches(body, call.limits()));
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_RETURN_IF_ERROR(strict.CheckBatch(searches->size()));
  json::array results;
  for (size_t i = 0; i < searches->size(); ++i) {
    VJ_RETURN_IF_ERROR(deadline.Check("Query"));
    VJ_ASSIGN_OR_RETURN(json::value r, RunQuery(*collection, (*searches)[i],
                                                "searches[" + std::to_string(i) + "]", call.limits(), deadline, strict));
    results.push_back(std::move(r));
  }
  return results;
}

StatusOr<json::value> HandleSearch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                      RunSearch(*collection, json::value(std::move(body)), "", call.limits(), deadline, strict));
  return ScoredToJson(views);
}

StatusOr<json::value> HandleSearchBatch(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(const json::array* searches, ReadSearches(body, call.limits()));
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_RETURN_IF_ERROR(strict.CheckBatch(searches->size()));
  json::array results;
  for (size_t i = 0; i < searches->size(); ++i) {
    VJ_RETURN_IF_ERROR(deadline.Check("Search"));
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                        RunSearch(*collection, (*searches)[i], "searches[" + std::to_string(i) + "]",
                                  call.limits(), deadline, strict));
    results.push_back(ScoredToJson(views));
  }
  return results;
}

}  // namespace vj

// Search groups: POST /collections/{c}/points/search/groups and /points/query/groups (Qdrant's shapes).
// Groups are assembled by Collection::QueryGroups over every shard; with_lookup reads one point per
// group id from another collection the caller may read.
#include "api/aggregation_codec.h"
#include "api/filter_codec.h"
#include "api/handlers.h"
#include "api/point_codec.h"
#include "api/strict_mode.h"
#include "core/json_fields.h"
#include "security/permission.h"

namespace vj {
namespace json = boost::json;

namespace {

Status ParseGroupSearchParams(const json::object& body, QueryRequest* request) {
  const json::value* params = FindField(body, "params");
  if (params == nullptr) return absl::OkStatus();
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*params, "params"));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"hnsw_ef", "exact", "quantization", "indexed_only"}, "params"));
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
    VJ_RETURN_IF_ERROR(CheckKnownFields(*qobj, {"ignore", "rescore", "oversampling"}, "params.quantization"));
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

StatusOr<size_t> ReadCount(const json::object& body, std::string_view field, std::optional<size_t> fallback,
                           size_t max) {
  const json::value* v = FindField(body, field);
  const std::string name(field);
  if (v == nullptr) {
    if (!fallback) return absl::InvalidArgumentError(name + ": missing");
    return *fallback;
  }
  VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*v, name));
  if (n == 0) return absl::InvalidArgumentError(name + ": must be at least 1");
  if (n > max) return absl::InvalidArgumentError(name + ": must be at most " + std::to_string(max));
  return static_cast<size_t>(n);
}

struct Lookup {
  std::string collection;
  PayloadSelector with_payload{PayloadSelector::Mode::kAll, {}};
  VectorSelector with_vector;
};

StatusOr<std::optional<Lookup>> ParseLookup(const json::object& body, const RequestLimits& limits) {
  const json::value* v = FindField(body, "with_lookup");
  if (v == nullptr) return std::optional<Lookup>();
  Lookup lookup;
  if (v->is_string()) {
    lookup.collection = std::string(v->get_string());
    return std::optional<Lookup>(std::move(lookup));
  }
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*v, "with_lookup"));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"collection", "with_payload", "with_vectors", "with_vector"}, "with_lookup"));
  const json::value* name = FindField(*obj, "collection");
  if (name == nullptr) return absl::InvalidArgumentError("with_lookup.collection: missing");
  VJ_ASSIGN_OR_RETURN(lookup.collection, ReadString(*name, "with_lookup.collection"));
  VJ_ASSIGN_OR_RETURN(lookup.with_payload,
                      ParsePayloadSelector(FindField(*obj, "with_payload"), {PayloadSelector::Mode::kAll, {}},
                                           limits.max_payload_keys));
  const json::value* vectors = FindField(*obj, "with_vectors");
  if (vectors == nullptr) vectors = FindField(*obj, "with_vector");
  VJ_ASSIGN_OR_RETURN(lookup.with_vector, ParseVectorSelector(vectors));
  return std::optional<Lookup>(std::move(lookup));
}

// The fields both routes share, after the query vector is known.
Status ParseGroupCommon(const json::object& body, const RequestLimits& limits, std::optional<size_t> default_size,
                        std::optional<size_t> default_limit, GroupRequest* request) {
  QueryRequest& q = request->query;
  if (const json::value* filter = FindField(body, "filter")) {
    VJ_ASSIGN_OR_RETURN(q.filter, ParseFilter(*filter, "filter", limits.filter));
  }
  if (const json::value* t = FindField(body, "score_threshold")) {
    VJ_ASSIGN_OR_RETURN(double threshold, ReadNumber(*t, "score_threshold"));
    q.score_threshold = static_cast<float>(threshold);
  }
  VJ_ASSIGN_OR_RETURN(q.with_payload, ParsePayloadSelector(FindField(body, "with_payload"), PayloadSelector{},
                                                           limits.max_payload_keys));
  VJ_ASSIGN_OR_RETURN(q.with_vector, ParseVectorSelector(FindField(body, "with_vector")));
  VJ_RETURN_IF_ERROR(ParseGroupSearchParams(body, &q));
  const json::value* group_by = FindField(body, "group_by");
  if (group_by == nullptr) return absl::InvalidArgumentError("group_by: missing");
  VJ_ASSIGN_OR_RETURN(request->group_by, ReadString(*group_by, "group_by"));
  StatusOr<PayloadPath> path = ParsePayloadPath(request->group_by);
  if (!path.ok()) return absl::InvalidArgumentError("group_by: " + std::string(path.status().message()));
  request->group_by_path = std::move(*path);
  VJ_ASSIGN_OR_RETURN(request->group_size, ReadCount(body, "group_size", default_size, limits.max_limit));
  VJ_ASSIGN_OR_RETURN(request->limit, ReadCount(body, "limit", default_limit, limits.max_limit));
  if (request->group_size * request->limit > limits.max_limit) {
    return absl::InvalidArgumentError("group_size * limit: must be at most " + std::to_string(limits.max_limit) +
                                      " (limits.max_limit)");
  }
  // Candidates are bounded by what one query may ask of each shard (peers accept up to max_limit).
  request->max_candidates = limits.max_limit;
  return absl::OkStatus();
}

StatusOr<json::value> RunGroups(const Call& call, const Collection& collection, GroupRequest request,
                                const std::optional<Lookup>& lookup) {
  std::shared_ptr<Collection> lookup_collection;
  if (lookup) {
    // The route authorized the searched collection only; the looked-up one needs its own read grant.
    const Principal* principal = call.context.principal.get();
    if (principal == nullptr || !principal->Allows(Permission::kRead, lookup->collection)) {
      return absl::PermissionDeniedError("with_lookup.collection: no read access to collection \"" +
                                         lookup->collection + "\"");
    }
    VJ_ASSIGN_OR_RETURN(lookup_collection, call.catalog.Get(lookup->collection));
  }
  VJ_ASSIGN_OR_RETURN(std::vector<PointGroup> groups, collection.QueryGroups(request));
  std::vector<json::value> lookups(groups.size());
  if (lookup_collection) {
    std::vector<PointId> ids;
    for (const PointGroup& g : groups) {
      if (StatusOr<PointId> id = ParsePointId(g.id, "group id"); id.ok()) ids.push_back(*id);
    }
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> found,
                        lookup_collection->Retrieve(ids, lookup->with_payload, lookup->with_vector));
    for (size_t i = 0; i < groups.size(); ++i) {
      StatusOr<PointId> id = ParsePointId(groups[i].id, "group id");
      if (!id.ok()) continue;
      for (const PointView& v : found) {
        if (v.id == *id) lookups[i] = PointViewToJson(v);
      }
    }
  }
  return GroupsToJson(groups, lookups);
}

}  // namespace

StatusOr<json::value> HandleSearchGroups(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"vector", "filter", "params", "with_payload", "with_vector",
                                             "score_threshold", "group_by", "group_size", "limit",
                                             "with_lookup", "shard_key"},
                                      ""));
  GroupRequest request;
  request.query.deadline = deadline;
  const json::value* vector = FindField(body, "vector");
  if (vector == nullptr) return absl::InvalidArgumentError("vector: missing");
  if (const json::object* named = vector->if_object()) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*named, {"name", "vector"}, "vector"));
    const json::value* name = FindField(*named, "name");
    const json::value* values = FindField(*named, "vector");
    if (name == nullptr || values == nullptr) {
      return absl::InvalidArgumentError("vector: expected {\"name\": ..., \"vector\": [...]}");
    }
    VJ_ASSIGN_OR_RETURN(request.query.using_vector, ReadString(*name, "vector.name"));
    VJ_ASSIGN_OR_RETURN(request.query.vector, ParseFloatVector(*values, "vector.vector"));
  } else {
    VJ_ASSIGN_OR_RETURN(request.query.vector, ParseFloatVector(*vector, "vector"));
  }
  VJ_RETURN_IF_ERROR(ParseGroupCommon(body, call.limits(), std::nullopt, std::nullopt, &request));
  request.query.limit = request.group_size * request.limit;
  VJ_RETURN_IF_ERROR(strict.AdmitQuery(request.query));
  VJ_ASSIGN_OR_RETURN(std::optional<Lookup> lookup, ParseLookup(body, call.limits()));
  return RunGroups(call, *collection, std::move(request), lookup);
}

StatusOr<json::value> HandleQueryGroups(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"query", "using", "filter", "params", "with_payload", "with_vector",
                                             "score_threshold", "group_by", "group_size", "limit",
                                             "with_lookup", "prefetch", "lookup_from", "shard_key"},
                                      ""));
  if (FindField(body, "prefetch") != nullptr || FindField(body, "lookup_from") != nullptr) {
    return absl::InvalidArgumentError("prefetch and lookup_from are not supported with query/groups yet");
  }
  GroupRequest request;
  request.query.deadline = deadline;
  if (const json::value* u = FindField(body, "using")) {
    VJ_ASSIGN_OR_RETURN(request.query.using_vector, ReadString(*u, "using"));
  }
  VJ_RETURN_IF_ERROR(ParseGroupCommon(body, call.limits(), 3, 10, &request));
  request.query.limit = request.group_size * request.limit;
  VJ_RETURN_IF_ERROR(strict.AdmitQuery(request.query));
  const json::value* query = FindField(body, "query");
  if (query == nullptr) return absl::InvalidArgumentError("query: missing (groups need a query vector or point id)");
  if (const json::object* q = query->if_object()) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*q, {"nearest"}, "query"));
    const json::value* nearest = FindField(*q, "nearest");
    if (nearest == nullptr) return absl::InvalidArgumentError("query: expected a vector, a point id or {\"nearest\": ...}");
    query = nearest;
  }
  if (query->is_array()) {
    VJ_ASSIGN_OR_RETURN(request.query.vector, ParseFloatVector(*query, "query"));
  } else {
    // A point id: search with that point's stored vector, the point itself left out (as /points/query).
    VJ_ASSIGN_OR_RETURN(PointId id, ParsePointId(*query, "query"));
    const std::string& name = request.query.using_vector;
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> found,
                        collection->Retrieve({id}, PayloadSelector{}, VectorSelector{false, {name}}));
    if (found.empty() || found[0].vectors.count(name) == 0) {
      return absl::NotFoundError("No point with id " + id.ToString() + " found");
    }
    request.query.vector = found[0].vectors[name];
    Filter exclude_self;
    exclude_self.must_not.push_back(HasIdCondition{{id}});
    if (request.query.filter) exclude_self.must.push_back(std::make_shared<const Filter>(*request.query.filter));
    request.query.filter = std::move(exclude_self);
  }
  VJ_ASSIGN_OR_RETURN(std::optional<Lookup> lookup, ParseLookup(body, call.limits()));
  return RunGroups(call, *collection, std::move(request), lookup);
}

}  // namespace vj

#include "api/rest_api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string_view>

#include <absl/strings/numbers.h>

#include "api/error_mapping.h"
#include "api/handlers.h"
#include "core/json_fields.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;

namespace {

struct Route {
  std::string_view method;
  std::string_view pattern;  // segments; "{x}" captures one
  HandlerFn handler;
  bool writes = false;  // may block until a write is durable (wait=true) or a collection is opened
  bool shard_scoped = false;  // an internal route of one shard: /internal/shards/{name}/{shard}/...
};

constexpr Route kRoutes[] = {
    {"GET", "/", HandleRoot},
    {"GET", "/cluster", HandleClusterInfo},
    {"POST", "/cluster/rebalance", HandleRebalance, true},
    {"GET", "/collections", HandleListCollections},
    {"GET", "/collections/{name}", HandleGetCollection},
    {"PUT", "/collections/{name}", HandleCreateCollection, true},
    {"DELETE", "/collections/{name}", HandleDeleteCollection, true},
    {"PATCH", "/collections/{name}", HandleUpdateCollection, true},
    {"GET", "/collections/{name}/exists", HandleCollectionExists},
    {"PUT", "/collections/{name}/index", HandleCreateIndex, true},
    {"DELETE", "/collections/{name}/index/{field_name}", HandleDeleteIndex, true},
    {"PUT", "/collections/{name}/points", HandleUpsert, true},
    {"POST", "/collections/{name}/points", HandleRetrieve},
    {"POST", "/collections/{name}/points/delete", HandleDeletePoints, true},
    {"POST", "/collections/{name}/points/payload", HandleSetPayload, true},
    {"PUT", "/collections/{name}/points/payload", HandleOverwritePayload, true},
    {"POST", "/collections/{name}/points/payload/delete", HandleDeletePayload, true},
    {"POST", "/collections/{name}/points/payload/clear", HandleClearPayload, true},
    {"POST", "/collections/{name}/points/scroll", HandleScroll},
    {"POST", "/collections/{name}/points/count", HandleCount},
    {"POST", "/collections/{name}/points/query", HandleQuery},
    {"POST", "/collections/{name}/points/query/batch", HandleQueryBatch},
    {"POST", "/collections/{name}/points/search", HandleSearch},
    {"POST", "/collections/{name}/points/search/batch", HandleSearchBatch},
    {"GET", "/collections/{name}/points/{id}", HandleGetPoint},
    {"GET", "/collections/{name}/cluster", HandleCollectionCluster},
    // Cluster mode: one shard's operations, called by peers (see RestApiOptions::shard_collection).
    {"PUT", "/internal/shards/{name}/{shard}/index", HandleCreateIndex, true, true},
    {"DELETE", "/internal/shards/{name}/{shard}/index/{field_name}", HandleDeleteIndex, true, true},
    {"PUT", "/internal/shards/{name}/{shard}/points", HandleUpsert, true, true},
    {"POST", "/internal/shards/{name}/{shard}/points", HandleRetrieve, false, true},
    {"POST", "/internal/shards/{name}/{shard}/points/delete", HandleDeletePoints, true, true},
    {"POST", "/internal/shards/{name}/{shard}/points/payload", HandleSetPayload, true, true},
    {"PUT", "/internal/shards/{name}/{shard}/points/payload", HandleOverwritePayload, true, true},
    {"POST", "/internal/shards/{name}/{shard}/points/payload/delete", HandleDeletePayload, true, true},
    {"POST", "/internal/shards/{name}/{shard}/points/payload/clear", HandleClearPayload, true, true},
    {"POST", "/internal/shards/{name}/{shard}/points/scroll", HandleScroll, false, true},
    {"POST", "/internal/shards/{name}/{shard}/points/count", HandleCount, false, true},
    {"POST", "/internal/shards/{name}/{shard}/points/query", HandleQuery, false, true},
};

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

// Matches path segments against a pattern; fills params. Literal segments win over captures because
// kRoutes lists literal routes ("/points/scroll") before the capture route ("/points/{id}").
bool MatchRoute(const std::vector<std::string_view>& path, std::string_view pattern,
                std::vector<std::string>* params) {
  std::vector<std::string_view> want = Split(pattern);
  if (want.size() != path.size()) return false;
  params->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].front() == '{') {
      params->emplace_back(path[i]);
    } else if (want[i] != path[i]) {
      return false;
    }
  }
  return true;
}

const Route* FindRoute(const std::vector<std::string_view>& path, std::string_view method,
                       std::vector<std::string>* params, bool* path_known) {
  *path_known = false;
  for (const Route& route : kRoutes) {
    if (!MatchRoute(path, route.pattern, params)) continue;
    *path_known = true;
    if (route.method == method) return &route;
  }
  return nullptr;
}

}  // namespace

bool RestApi::NeverBlocks(const Request& request) {
  std::vector<std::string> params;
  bool path_known;
  const Route* route = FindRoute(Split(request.path), request.method, &params, &path_known);
  return route != nullptr && !route->writes;
}

StatusOr<json::object> Call::Body() const {
  if (request.body.empty()) return absl::InvalidArgumentError("request body is missing");
  VJ_ASSIGN_OR_RETURN(json::value v, ParseJson(request.body, options.max_json_depth));
  json::object* obj = v.if_object();
  if (obj == nullptr) {
    return absl::InvalidArgumentError("request body: expected a JSON object, got " +
                                      std::string(JsonTypeName(v)));
  }
  return std::move(*obj);
}

StatusOr<json::object> Call::OptionalBody() const {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  return Body();
}

StatusOr<bool> Call::Wait() const {
  auto it = request.query.find("wait");
  if (it == request.query.end()) return false;
  if (it->second == "true" || it->second.empty()) return true;
  if (it->second == "false") return false;
  return absl::InvalidArgumentError("query parameter wait: expected true or false, got \"" +
                                    it->second + "\"");
}

StatusOr<std::shared_ptr<Collection>> Call::GetCollection() const {
  if (!shard) {
    if (writes) return catalog.Get(params.at(0));
    // Qdrant's name is `consistency`; `read_consistency` is VJVector's earlier name for it.
    auto qdrant = request.query.find("consistency");
    auto ours = request.query.find("read_consistency");
    if (qdrant != request.query.end() && ours != request.query.end()) {
      return absl::InvalidArgumentError("query parameters consistency and read_consistency: give one of them");
    }
    if (qdrant == request.query.end() && ours == request.query.end()) return catalog.Get(params.at(0));
    const bool is_qdrant = qdrant != request.query.end();
    VJ_ASSIGN_OR_RETURN(ReadConsistency consistency,
                        ParseReadConsistency(is_qdrant ? qdrant->second : ours->second,
                                             is_qdrant ? "consistency" : "read_consistency"));
    if (consistency == ReadConsistency{}) return catalog.Get(params.at(0));
    return catalog.GetForReads(params.at(0), consistency);
  }
  if (!options.shard_collection) return absl::NotFoundError("this node is not in a cluster");
  return options.shard_collection(params.at(0), *shard, writes);
}

StatusOr<Deadline> Call::RequestDeadline() const {
  const RequestLimits& l = options.limits;
  double seconds = l.default_timeout_s;
  if (auto it = request.query.find("timeout"); it != request.query.end()) {
    double asked = 0;
    if (!absl::SimpleAtod(it->second, &asked) || !std::isfinite(asked) || asked <= 0) {
      return absl::InvalidArgumentError("query parameter timeout: expected a positive number of seconds, got \"" +
                                        it->second + "\"");
    }
    seconds = l.max_timeout_s > 0 ? std::min(asked, l.max_timeout_s) : asked;
  }
  if (seconds <= 0) return Deadline();
  return Deadline::After(std::chrono::duration<double>(seconds));
}

json::value UpdateResult(const Collection& collection, bool wait) {
  return json::object{{"operation_id", collection.last_sequence()},
                      {"status", wait ? "completed" : "acknowledged"}};
}

namespace {

bool WantsPosition(const Call& call, bool* primary) {
  if (!call.shard || call.writes) return false;
  auto it = call.request.query.find("position");
  if (it == call.request.query.end()) return false;
  *primary = it->second == "primary";
  return true;
}

// For an internal shard read with ?position=replica|primary: where the replica stands before the read.
// Returns an empty result to go on with (or the error to answer with).
StatusOr<json::value> ReplicaPositionBefore(const Call& call, std::optional<ReplicaPosition>* position) {
  bool primary = false;
  if (!WantsPosition(call, &primary)) return json::value();
  const std::string& v = call.request.query.at("position");
  if (v != "replica" && v != "primary") {
    return absl::InvalidArgumentError("query parameter position: expected replica or primary, got \"" +
                                      v.substr(0, 64) + "\"");
  }
  if (!call.options.replica_position) return absl::NotFoundError("this node is not in a cluster");
  VJ_ASSIGN_OR_RETURN(*position, call.options.replica_position(call.params.at(0), *call.shard, primary));
  return json::value();
}

// After the read: OK when the replica's history held (and, for ?position=primary, it is still primary).
Status ReplicaPositionHeld(const Call& call, const ReplicaPosition& before) {
  bool primary = false;
  WantsPosition(call, &primary);
  VJ_ASSIGN_OR_RETURN(ReplicaPosition after, call.options.replica_position(call.params.at(0), *call.shard, primary));
  return CheckPositionHeld(before, after, "the replica of shard " + std::to_string(*call.shard));
}

}  // namespace

Response RestApi::Handle(const Request& request) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const std::vector<std::string_view> path = Split(request.path);
  std::vector<std::string> params;
  bool path_known = false;
  const Route* matched = FindRoute(path, request.method, &params, &path_known);
  if (matched == nullptr) {
    Response response = ErrorResponse(
        path_known ? absl::Status(absl::StatusCode::kInvalidArgument,
                                  "method " + request.method + " is not allowed on " + request.path)
                   : absl::NotFoundError("no such endpoint: " + request.method + " " + request.path),
        elapsed());
    if (path_known) response.status = 405;
    return response;
  }
  Call call{catalog_, options_, request, std::move(params), std::nullopt, false};
  if (matched->shard_scoped) {
    uint64_t shard = 0;
    if (!absl::SimpleAtoi(call.params.at(1), &shard) || shard > UINT32_MAX) {
      return ErrorResponse(absl::InvalidArgumentError("shard: expected a shard number, got \"" +
                                                      call.params[1] + "\""),
                           elapsed());
    }
    call.shard = static_cast<uint32_t>(shard);
    call.params.erase(call.params.begin() + 1);
  }
  call.writes = matched->writes;
  // A peer's read that asks several replicas wants to know how far along this replica was (see
  // RestApiOptions::replica_position): measured before the read and checked again after it.
  std::optional<ReplicaPosition> position;
  StatusOr<json::value> result = ReplicaPositionBefore(call, &position);
  if (result.ok()) {
    try {
      result = matched->handler(call);
    } catch (const std::exception& e) {
      // Handlers return Status; this guards against a throwing library call we did not wrap.
      result = absl::InternalError(std::string("internal error: ") + e.what());
    }
  }
  if (position && result.ok()) {
    Status held = ReplicaPositionHeld(call, *position);
    if (!held.ok()) result = held;
  }
  Response response;
  if (!result.ok()) {
    response = ErrorResponse(result.status(), elapsed());
  } else if (matched->handler == HandleRoot) {
    response.body = json::serialize(*result);  // Qdrant answers GET / without the envelope
  } else {
    json::object envelope{{"result", std::move(*result)}, {"status", "ok"}, {"time", elapsed()}};
    response.body = json::serialize(envelope);
  }
  response.route = std::string(matched->pattern);
  if (position && result.ok()) response.headers.emplace_back(kReplicaPositionHeader, position->ToString());
  return response;
}

}  // namespace vj

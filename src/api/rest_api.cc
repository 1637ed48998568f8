#include "api/rest_api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string_view>

#include <absl/strings/numbers.h>

#include "api/error_mapping.h"
#include "api/handlers.h"
#include "api/route_table.h"
#include "api/tenant_scope.h"
#include "cluster/peer_protocol.h"
#include "security/permission.h"
#include "core/json_fields.h"
#include "core/json_memory.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;

namespace {

}  // namespace

bool RestApi::NeverBlocks(Port port, const Request& request) {
  const RouteMatch match = MatchRoute(port, request.method, request.path);
  return match.route != nullptr && match.route->server == RouteServer::kApi && !match.route->writes;
}

StatusOr<json::object> Call::Body() const {
  if (request.body.empty()) return absl::InvalidArgumentError("request body is missing");
  VJ_ASSIGN_OR_RETURN(json::value v, ParseJson(request.body, options.max_json_depth, request.json_memory.get()));
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
  return options.shard_collection(params.at(0), *shard, writes, apply_by_unix_ms);
}

namespace {

// Qdrant's ?timeout=<seconds>, capped at limits.max_timeout_s; limits.default_timeout_s without it.
StatusOr<Deadline> ParseRequestTimeout(const Request& request, const RequestLimits& l) {
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

}  // namespace

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

std::optional<std::string> ResolveCollectionAlias(const Catalog& catalog, RouteMatch& match) {
  if (match.route == nullptr || !AcceptsCollectionAlias(*match.route) || match.params.empty()) return std::nullopt;
  std::optional<std::string> collection = catalog.ResolveAlias(match.params.front());
  if (collection) std::swap(*collection, match.params.front());
  return collection;
}

Response RestApi::Handle(const Request& request, Port port) {
  RequestContext context;
  Principal principal = UnauthenticatedAdmin();
  principal.is_peer = port == Port::kPeer;
  context.principal = std::make_shared<const Principal>(std::move(principal));
  RouteMatch match = MatchRoute(port, request.method, request.path);
  (void)ResolveCollectionAlias(ScopedCatalog(catalog_, context, options_.security), match);
  return Handle(context, match, request);
}

Response NoRouteResponse(const RouteMatch& match, const Request& request) {
  Response response = ErrorResponse(
      match.path_known ? absl::Status(absl::StatusCode::kInvalidArgument,
                                      "method " + request.method + " is not allowed on " + request.path)
                       : absl::NotFoundError("no such endpoint: " + request.method + " " + request.path),
      0);
  if (match.path_known) response.status = 405;
  return response;
}

Status RestApi::Run(const RequestContext& request_context, const RouteMatch& match, const Request& request,
                    const std::function<Status(const Call&)>& work) {
  NamespacedCatalog scoped = ScopedCatalog(catalog_, request_context, options_.security);
  RequestContext context = request_context;
  if (!context.deadline.is_set()) {
    StatusOr<Deadline> deadline = ParseRequestTimeout(request, options_.limits);
    if (!deadline.ok()) return deadline.status();
    context.deadline = *deadline;
  }
  Call call{scoped, options_, context, request, match.params, std::nullopt, false};
  call.node_catalog = &catalog_;
  call.names = &scoped;
  call.writes = match.route != nullptr && match.route->writes;
  Status status;
  try {
    status = work(call);
  } catch (const std::exception& e) {
    status = absl::InternalError(std::string("internal error: ") + e.what());
  }
  return scoped.Unmap(status);
}

Response RestApi::Handle(const RequestContext& request_context, const RouteMatch& match, const Request& request) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const RouteSpec* matched = match.route;
  if (matched == nullptr || matched->server != RouteServer::kApi) return NoRouteResponse(match, request);
  // The names this request sees (its tenant's namespace; api/tenant_scope.h): handlers see only these.
  NamespacedCatalog scoped = ScopedCatalog(catalog_, request_context, options_.security);
  // Peers read errors of their routes in the peer protocol's envelope (cluster/peer_protocol.h). An
  // error that names a stored collection names it as the client does.
  auto fail = [&](const Status& status) {
    return matched->port == Port::kPeer ? PeerErrorResponse(status) : ErrorResponse(scoped.Unmap(status), elapsed());
  };
  RequestContext context = request_context;
  if (!context.deadline.is_set()) {
    StatusOr<Deadline> deadline = ParseRequestTimeout(request, options_.limits);
    if (!deadline.ok()) return fail(deadline.status());
    context.deadline = *deadline;
  }
  Call call{scoped, options_, context, request, match.params, std::nullopt, false};
  call.node_catalog = &catalog_;
  call.names = &scoped;
  if (matched->shard_scoped) {
    uint64_t shard = 0;
    if (!absl::SimpleAtoi(call.params.at(1), &shard) || shard > UINT32_MAX) {
      return fail(absl::InvalidArgumentError("shard: expected a shard number, got \"" + call.params[1] + "\""));
    }
    call.shard = static_cast<uint32_t>(shard);
    call.params.erase(call.params.begin() + 1);
  }
  call.writes = matched->writes;
  if (matched->shard_scoped && matched->writes) {
    StatusOr<int64_t> apply_by = ParseForwardDeadline(request.headers);
    if (!apply_by.ok()) return fail(apply_by.status());
    call.apply_by_unix_ms = *apply_by;
  }
  std::optional<Response> raw_response;
  call.raw_response = &raw_response;
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
    response = fail(result.status());
  } else if (raw_response) {
    response = std::move(*raw_response);
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

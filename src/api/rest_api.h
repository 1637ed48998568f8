// RestApi: the Qdrant-compatible REST API over a Catalog (the node's Database, or the cluster's).
// Handle() routes a Request to its endpoint,
// decodes and validates the JSON body, calls the collection, and encodes the Qdrant envelope
// {"result": ..., "status": "ok", "time": seconds} or the error body
// {"status": {"error": "..."}, "time": seconds} with the HTTP status that api/error_mapping gives.
// Thread-safety: Handle may be called concurrently.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "api/request.h"
#include "api/request_limits.h"
#include "api/route_table.h"
#include "core/request_context.h"
#include "collection/catalog.h"
#include "security/rate_limiter.h"

namespace vj {

class SecurityStore;  // security/security_store.h
class SnapshotStore;  // collection/snapshot_store.h

struct RestApiOptions {
  std::string version = "0.1.0";
  size_t max_json_depth = 64;
  // Decode the vector of /points/query and /points/search bodies straight into floats (api/fast_body.h);
  // false decodes them through the ordinary JSON tree (tests compare the two).
  bool fast_body = true;
  // The "result" of GET /cluster (Qdrant's shape: status, peer_id, peers); unset on a standalone node,
  // which answers {"status": "disabled"}.
  std::function<boost::json::value()> cluster_status;
  // The "result" of GET /collections/{name}/cluster (where each shard's replicas live); unset on a
  // standalone node, which answers with its local shards.
  std::function<StatusOr<boost::json::value>(const std::string& collection)> collection_cluster;
  // POST /cluster/rebalance[?replace_dead=true] (cluster mode; unset: 404 "not in a cluster").
  std::function<StatusOr<boost::json::value>(bool replace_dead)> rebalance;
  // POST /vjvector/backups: a backup of the node to the target URI, its summary the route's result
  // (backup/backup.h, set by the server on a standalone node; unset: 501, cluster mode).
  std::function<StatusOr<boost::json::value>(const std::string& uri)> backup;
  // Cluster mode: the collection that serves one shard of `collection` on this node, for the internal
  // routes /internal/shards/{name}/{shard}/... that peers call. `write` asks for the shard's primary
  // path (replicating, never forwarding again); reads get the local replica. `apply_by_unix_ms` is a
  // forwarded write's deadline (kForwardDeadlineHeader, cluster/peer_protocol.h; 0 = none): the write is
  // refused, unapplied, unless the primary orders it by then. Unset: those routes 404.
  std::function<StatusOr<std::shared_ptr<Collection>>(const std::string& collection, uint32_t shard,
                                                      bool write, int64_t apply_by_unix_ms)>
      shard_collection;
  // Cluster mode: where this node's replica of a shard stands (collection/read_consistency.h), for the
  // internal shard reads a peer asks with ?position=replica (any replica) or ?position=primary (this node
  // must be the shard's acting primary, fenced by its lease and term). Unavailable when it cannot tell
  // (the replica is loading a snapshot, or this node is not the acting primary). The answer carries it in
  // kReplicaPositionHeader; an answer during which the replica's history changed is refused (503).
  // Unset: such reads 404.
  std::function<StatusOr<ReplicaPosition>(const std::string& collection, uint32_t shard, bool primary)>
      replica_position;
  // The most work one request may ask for, and its default and largest timeout.
  RequestLimits limits;
  // Managed API keys and custom roles (/vjvector/keys, /vjvector/roles); unset: those routes 404.
  // Not owned; outlives the RestApi.
  SecurityStore* security = nullptr;
  // Collection and full snapshots (standalone node); unset: the snapshot routes answer 501. Not
  // owned; outlives the RestApi.
  SnapshotStore* snapshots = nullptr;
  // Strict mode's read_rate_limit / write_rate_limit buckets, per collection on this node
  // (api/strict_mode.h).
  std::shared_ptr<RateLimiter> strict_mode_rates = std::make_shared<RateLimiter>(RateLimitSettings{});
};

// The Qdrant REST API version VJVector follows, reported as GET /'s "version" (official clients check
// it: @qdrant/js-client-rest 1.18 warns unless the major matches and the minor is within 1); VJVector's
// own version is "vjvector_version".
inline constexpr char kQdrantApiVersion[] = "1.18.0";

// Puts the collection an alias names in place of the alias in `match`'s collection parameter, for the
// routes that take an existing collection (AcceptsCollectionAlias); other names stay as they are.
// Returns the alias it replaced (nullopt: nothing changed). The request pipeline calls it once, before
// authorization; handlers then see collection names only.
std::optional<std::string> ResolveCollectionAlias(const Catalog& catalog, RouteMatch& match);

// 404 (no such path) or 405 (the path exists with another method) in Qdrant's error body.
Response NoRouteResponse(const RouteMatch& match, const Request& request);

class RestApi {
 public:
  RestApi(Catalog& catalog, RestApiOptions options) : catalog_(catalog), options_(std::move(options)) {}
  // Runs the matched route's handler (route_table.h) for a request the middleware already authorized
  // (server/request_pipeline.h). Routes served elsewhere, or no route, answer 404/405.
  Response Handle(const RequestContext& context, const RouteMatch& match, const Request& request);
  // For tests of the handlers: a request of `port` with an unauthenticated admin's context (a peer's on
  // the peer port).
  Response Handle(const Request& request, Port port = Port::kPublic);
  // For another transport's adapter (grpc/): runs `work` with the Call that the handler of `match`'s
  // route would get for `request` (the principal's namespace, the deadline from ?timeout= or the
  // default, node_catalog), after the pipeline admitted it (server/request_pipeline.h Admit). Errors
  // name collections as the client does. `request` carries no body; its query may carry "timeout".
  Status Run(const RequestContext& context, const RouteMatch& match, const Request& request,
             const std::function<Status(const Call&)>& work);
  // True for requests of API routes that only read (queries, scroll, count, retrieve, listings): they
  // never wait for a write, so a transport may run them on its I/O thread.
  static bool NeverBlocks(Port port, const Request& request);

 private:
  Catalog& catalog_;
  const RestApiOptions options_;
};

}  // namespace vj

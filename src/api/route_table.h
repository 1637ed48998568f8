// The route table: every route of every port, with its handler and the permission it needs. Routing is
// decided here and only here: the middleware (server/request_pipeline.h) matches each request once and
// authorizes with the matched route's permission and scope, and RestApi dispatches to its handler (the
// transport may match once more, through RestApi::NeverBlocks, to pick the thread a request runs on).
// A route without a declared permission cannot exist (the table's fields have no default), and
// tests/e2e/test_auth.py walks `vjvector routes` to check every route against every kind of principal.
//
// Two ports: the public REST port (Qdrant's API and VJVector's own /vjvector/... paths) and the peer
// port (node-to-node /internal/... routes, cluster mode only). A path is matched on one port only, so
// no spelling of an internal path (`//internal/...`, `/%2Finternal/...`) reaches the peer routes from
// the public port.
//
// Thread-safety: immutable tables and pure functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/status.h"
#include "security/permission.h"

namespace vj {

struct Call;  // api/handlers.h
using HandlerFn = StatusOr<boost::json::value> (*)(const Call& call);

enum class Port : uint8_t { kPublic, kPeer };

// What the permission applies to.
enum class RouteScope : uint8_t {
  kNode,            // the node as a whole: needs a grant on "*"
  kCollection,      // the collection named by the route's first parameter ({name})
  kAnyCollection,   // any grant at the level; the handler shows only what the principal may see
};

// Who serves a route: RestApi's handler, the transport itself (health endpoints, metrics), or the
// cluster node (replication).
enum class RouteServer : uint8_t { kApi, kTransport, kCluster };

struct RouteSpec {
  Port port;
  std::string_view method;
  std::string_view pattern;  // segments; "{x}" captures one
  Permission permission;
  RouteScope scope;
  RouteServer server;
  HandlerFn handler;  // set for RouteServer::kApi
  bool writes;        // may block until a write is durable (wait=true) or a collection is opened
  bool shard_scoped;  // a peer route of one shard: /internal/shards/{name}/{shard}/...
};

struct RouteMatch {
  const RouteSpec* route = nullptr;  // null: no route for this method and path
  bool path_known = false;           // the path exists with another method (405)
  std::vector<std::string> params;   // path parameters in pattern order
  // The collection the permission applies to (scope kCollection), else empty.
  std::optional<std::string_view> collection() const {
    if (route == nullptr || route->scope != RouteScope::kCollection || params.empty()) return std::nullopt;
    return params.front();
  }
};

RouteMatch MatchRoute(Port port, std::string_view method, std::string_view path);
// Whether the route's collection parameter names an existing collection, which a collection alias may
// stand for: every collection route of the public port but those that create or delete a collection by
// its own name (PUT and DELETE /collections/{name}; as Qdrant, DELETE on an alias deletes nothing).
bool AcceptsCollectionAlias(const RouteSpec& route);
// Whether a tenant principal may use the route (docs/tenancy.md): every route but those of node scope,
// except POST /collections/aliases, which needs `manage` on "*" but changes the aliases of the caller's
// namespace only (a tenant's "*" is its tenant's collections).
bool TenantMayUse(const RouteSpec& route);
std::span<const RouteSpec> AllRoutes();
std::string_view PortName(Port port);  // "public", "peer"
std::string_view RouteScopeName(RouteScope scope);  // "node", "collection", "any_collection"

}  // namespace vj

#include "api/route_table.h"

#include "api/backup_route.h"
#include "api/handlers.h"

namespace vj {
namespace {

using P = Permission;
using S = RouteScope;
using R = RouteServer;
constexpr Port kPub = Port::kPublic;
constexpr Port kPeer = Port::kPeer;

// Literal routes come before capture routes of the same shape ("/points/scroll" before "/points/{id}"):
// the first match wins.
constexpr RouteSpec kRoutes[] = {
    // Health and metrics, served by the transport. /livez and /readyz stay open (probes carry no
    // credentials); /metrics needs a principal unless security.metrics_public (request_pipeline.h).
    {kPub, "GET", "/livez", P::kPublic, S::kNode, R::kTransport, nullptr, false, false},
    {kPub, "GET", "/readyz", P::kPublic, S::kNode, R::kTransport, nullptr, false, false},
    {kPub, "GET", "/healthz", P::kPublic, S::kNode, R::kTransport, nullptr, false, false},
    {kPub, "GET", "/metrics", P::kRead, S::kNode, R::kTransport, nullptr, false, false},
    {kPub, "GET", "/", P::kPublic, S::kNode, R::kApi, HandleRoot, false, false},
    // The web console (docs/dashboard.md): static files, no data; the page's own calls are authorized as any.
    {kPub, "GET", "/dashboard", P::kPublic, S::kNode, R::kApi, HandleDashboard, false, false},
    {kPub, "GET", "/dashboard/{file}", P::kPublic, S::kNode, R::kApi, HandleDashboardFile, false, false},
    // The OpenAPI document of this port's routes (src/api/openapi/; docs/api.md): no data, public.
    {kPub, "GET", "/openapi.json", P::kPublic, S::kNode, R::kApi, HandleOpenApi, false, false},
    {kPub, "GET", "/cluster", P::kRead, S::kNode, R::kApi, HandleClusterInfo, false, false},
    {kPub, "POST", "/cluster/rebalance", P::kAdmin, S::kNode, R::kApi, HandleRebalance, true, false},
    {kPub, "GET", "/collections", P::kRead, S::kAnyCollection, R::kApi, HandleListCollections, false, false},
    {kPub, "POST", "/collections/aliases", P::kManage, S::kNode, R::kApi, HandleUpdateAliases, true, false},
    {kPub, "GET", "/aliases", P::kRead, S::kAnyCollection, R::kApi, HandleListAliases, false, false},
    {kPub, "GET", "/collections/{name}/aliases", P::kRead, S::kCollection, R::kApi, HandleListCollectionAliases, false, false},
    {kPub, "GET", "/collections/{name}", P::kRead, S::kCollection, R::kApi, HandleGetCollection, false, false},
    {kPub, "PUT", "/collections/{name}", P::kManage, S::kCollection, R::kApi, HandleCreateCollection, true, false},
    {kPub, "DELETE", "/collections/{name}", P::kManage, S::kCollection, R::kApi, HandleDeleteCollection, true, false},
    {kPub, "PATCH", "/collections/{name}", P::kManage, S::kCollection, R::kApi, HandleUpdateCollection, true, false},
    {kPub, "GET", "/collections/{name}/exists", P::kRead, S::kCollection, R::kApi, HandleCollectionExists, false, false},
    {kPub, "PUT", "/collections/{name}/index", P::kManage, S::kCollection, R::kApi, HandleCreateIndex, true, false},
    {kPub, "DELETE", "/collections/{name}/index/{field_name}", P::kManage, S::kCollection, R::kApi, HandleDeleteIndex, true, false},
    {kPub, "PUT", "/collections/{name}/points", P::kWrite, S::kCollection, R::kApi, HandleUpsert, true, false},
    {kPub, "POST", "/collections/{name}/points", P::kRead, S::kCollection, R::kApi, HandleRetrieve, false, false},
    {kPub, "POST", "/collections/{name}/points/delete", P::kWrite, S::kCollection, R::kApi, HandleDeletePoints, true, false},
    {kPub, "POST", "/collections/{name}/points/payload", P::kWrite, S::kCollection, R::kApi, HandleSetPayload, true, false},
    {kPub, "PUT", "/collections/{name}/points/payload", P::kWrite, S::kCollection, R::kApi, HandleOverwritePayload, true, false},
    {kPub, "POST", "/collections/{name}/points/payload/delete", P::kWrite, S::kCollection, R::kApi, HandleDeletePayload, true, false},
    {kPub, "POST", "/collections/{name}/points/payload/clear", P::kWrite, S::kCollection, R::kApi, HandleClearPayload, true, false},
    {kPub, "PUT", "/collections/{name}/points/vectors", P::kWrite, S::kCollection, R::kApi, HandleUpdateVectors, true, false},
    {kPub, "POST", "/collections/{name}/points/vectors/delete", P::kWrite, S::kCollection, R::kApi, HandleDeleteVectors, true, false},
    {kPub, "POST", "/collections/{name}/points/batch", P::kWrite, S::kCollection, R::kApi, HandleBatchUpdate, true, false},
    {kPub, "POST", "/collections/{name}/points/scroll", P::kRead, S::kCollection, R::kApi, HandleScroll, false, false},
    {kPub, "POST", "/collections/{name}/points/count", P::kRead, S::kCollection, R::kApi, HandleCount, false, false},
    {kPub, "POST", "/collections/{name}/points/query", P::kRead, S::kCollection, R::kApi, HandleQuery, false, false},
    {kPub, "POST", "/collections/{name}/points/query/batch", P::kRead, S::kCollection, R::kApi, HandleQueryBatch, false, false},
    {kPub, "POST", "/collections/{name}/points/recommend", P::kRead, S::kCollection, R::kApi, HandleRecommend, false, false},
    {kPub, "POST", "/collections/{name}/points/recommend/batch", P::kRead, S::kCollection, R::kApi, HandleRecommendBatch, false, false},
    {kPub, "POST", "/collections/{name}/points/discover", P::kRead, S::kCollection, R::kApi, HandleDiscover, false, false},
    {kPub, "POST", "/collections/{name}/points/discover/batch", P::kRead, S::kCollection, R::kApi, HandleDiscoverBatch, false, false},
    {kPub, "POST", "/collections/{name}/points/search", P::kRead, S::kCollection, R::kApi, HandleSearch, false, false},
    {kPub, "POST", "/collections/{name}/points/search/batch", P::kRead, S::kCollection, R::kApi, HandleSearchBatch, false, false},
    {kPub, "POST", "/collections/{name}/points/search/groups", P::kRead, S::kCollection, R::kApi, HandleSearchGroups, false, false},
    {kPub, "POST", "/collections/{name}/points/query/groups", P::kRead, S::kCollection, R::kApi, HandleQueryGroups, false, false},
    {kPub, "POST", "/collections/{name}/points/search/matrix/pairs", P::kRead, S::kCollection, R::kApi, HandleSearchMatrixPairs, false, false},
    {kPub, "POST", "/collections/{name}/points/search/matrix/offsets", P::kRead, S::kCollection, R::kApi, HandleSearchMatrixOffsets, false, false},
    {kPub, "POST", "/collections/{name}/facet", P::kRead, S::kCollection, R::kApi, HandleFacet, false, false},
    {kPub, "GET", "/collections/{name}/points/{id}", P::kRead, S::kCollection, R::kApi, HandleGetPoint, false, false},
    {kPub, "GET", "/collections/{name}/cluster", P::kRead, S::kCollection, R::kApi, HandleCollectionCluster, false, false},
    // Snapshots (docs/backup.md): downloads read files, so they run on the worker pool (writes=true).
    {kPub, "POST", "/collections/{name}/snapshots", P::kManage, S::kCollection, R::kApi, HandleCreateSnapshot, true, false},
    {kPub, "GET", "/collections/{name}/snapshots", P::kRead, S::kCollection, R::kApi, HandleListSnapshots, false, false},
    {kPub, "PUT", "/collections/{name}/snapshots/recover", P::kManage, S::kCollection, R::kApi, HandleRecoverSnapshot, true, false},
    {kPub, "POST", "/collections/{name}/snapshots/upload", P::kManage, S::kCollection, R::kApi, HandleUploadSnapshot, true, false},
    {kPub, "GET", "/collections/{name}/snapshots/{snapshot_name}", P::kRead, S::kCollection, R::kApi, HandleDownloadSnapshot, true, false},
    {kPub, "DELETE", "/collections/{name}/snapshots/{snapshot_name}", P::kManage, S::kCollection, R::kApi, HandleDeleteSnapshot, true, false},
    {kPub, "POST", "/snapshots", P::kAdmin, S::kNode, R::kApi, HandleCreateFullSnapshot, true, false},
    {kPub, "GET", "/snapshots", P::kAdmin, S::kNode, R::kApi, HandleListFullSnapshots, false, false},
    {kPub, "GET", "/snapshots/{snapshot_name}", P::kAdmin, S::kNode, R::kApi, HandleDownloadFullSnapshot, true, false},
    {kPub, "DELETE", "/snapshots/{snapshot_name}", P::kAdmin, S::kNode, R::kApi, HandleDeleteFullSnapshot, true, false},
    // Backups (docs/backup.md): every collection of the node to a directory or object storage.
    {kPub, "POST", "/vjvector/backups", P::kAdmin, S::kNode, R::kApi, HandleCreateBackup, true, false},
    // API keys and roles (VJVector's own paths; security.md).
    {kPub, "POST", "/vjvector/keys", P::kAdmin, S::kNode, R::kApi, HandleCreateKey, true, false},
    {kPub, "GET", "/vjvector/keys", P::kAdmin, S::kNode, R::kApi, HandleListKeys, false, false},
    {kPub, "DELETE", "/vjvector/keys/{id}", P::kAdmin, S::kNode, R::kApi, HandleRevokeKey, true, false},
    {kPub, "GET", "/vjvector/roles", P::kAdmin, S::kNode, R::kApi, HandleListRoles, false, false},
    {kPub, "PUT", "/vjvector/roles/{name}", P::kAdmin, S::kNode, R::kApi, HandlePutRole, true, false},
    {kPub, "DELETE", "/vjvector/roles/{name}", P::kAdmin, S::kNode, R::kApi, HandleDeleteRole, true, false},
    // Tenants (docs/tenancy.md).
    {kPub, "POST", "/vjvector/tenants", P::kAdmin, S::kNode, R::kApi, HandleCreateTenant, true, false},
    {kPub, "GET", "/vjvector/tenants", P::kAdmin, S::kNode, R::kApi, HandleListTenants, false, false},
    {kPub, "GET", "/vjvector/tenants/{tenant}/usage", P::kAdmin, S::kNode, R::kApi, HandleTenantUsage, false, false},
    {kPub, "GET", "/vjvector/tenants/{tenant}", P::kAdmin, S::kNode, R::kApi, HandleGetTenant, false, false},
    {kPub, "DELETE", "/vjvector/tenants/{tenant}", P::kAdmin, S::kNode, R::kApi, HandleDeleteTenant, true, false},

    // The peer port (cluster mode): node-to-node only, authenticated as a peer (request_pipeline.h).
    {kPeer, "GET", "/livez", P::kPublic, S::kNode, R::kTransport, nullptr, false, false},
    {kPeer, "POST", "/internal/replication/{name}/{shard}", P::kInternal, S::kNode, R::kCluster, nullptr, true, false},
    {kPeer, "PUT", "/internal/shards/{name}/{shard}/index", P::kInternal, S::kNode, R::kApi, HandleCreateIndex, true, true},
    {kPeer, "DELETE", "/internal/shards/{name}/{shard}/index/{field_name}", P::kInternal, S::kNode, R::kApi, HandleDeleteIndex, true, true},
    {kPeer, "PUT", "/internal/shards/{name}/{shard}/points", P::kInternal, S::kNode, R::kApi, HandleUpsert, true, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points", P::kInternal, S::kNode, R::kApi, HandleRetrieve, false, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points/delete", P::kInternal, S::kNode, R::kApi, HandleDeletePoints, true, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points/payload", P::kInternal, S::kNode, R::kApi, HandleSetPayload, true, true},
    {kPeer, "PUT", "/internal/shards/{name}/{shard}/points/payload", P::kInternal, S::kNode, R::kApi, HandleOverwritePayload, true, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points/payload/delete", P::kInternal, S::kNode, R::kApi, HandleDeletePayload, true, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points/payload/clear", P::kInternal, S::kNode, R::kApi, HandleClearPayload, true, true},
    {kPeer, "PUT", "/internal/shards/{name}/{shard}/points/vectors", P::kInternal, S::kNode, R::kApi, HandleUpdateVectors, true, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points/vectors/delete", P::kInternal, S::kNode, R::kApi, HandleDeleteVectors, true, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points/scroll", P::kInternal, S::kNode, R::kApi, HandleScroll, false, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points/count", P::kInternal, S::kNode, R::kApi, HandleCount, false, true},
    {kPeer, "POST", "/internal/shards/{name}/{shard}/points/query", P::kInternal, S::kNode, R::kApi, HandleQuery, false, true},
};

// Path segments; empty segments are dropped ("//a///b" is /a/b).
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

// Each route's pattern split into segments, once (MatchRoute runs for every request).
const std::vector<std::vector<std::string_view>>& PatternSegments() {
  static const std::vector<std::vector<std::string_view>> segments = [] {
    std::vector<std::vector<std::string_view>> out;
    for (const RouteSpec& route : kRoutes) out.push_back(Split(route.pattern));
    return out;
  }();
  return segments;
}

bool Matches(const std::vector<std::string_view>& path, const std::vector<std::string_view>& want,
             std::vector<std::string>* params) {
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

}  // namespace

RouteMatch MatchRoute(Port port, std::string_view method, std::string_view path) {
  RouteMatch match;
  const std::vector<std::string_view> parts = Split(path);
  std::vector<std::string> params;
  const auto& segments = PatternSegments();
  for (size_t r = 0; r < std::size(kRoutes); ++r) {
    const RouteSpec& route = kRoutes[r];
    if (route.port != port || !Matches(parts, segments[r], &params)) continue;
    match.path_known = true;
    if (route.method == method) {
      match.route = &route;
      match.params = std::move(params);
      return match;
    }
  }
  return match;
}

bool AcceptsCollectionAlias(const RouteSpec& route) {
  if (route.port != Port::kPublic || route.scope != RouteScope::kCollection) return false;
  return !(route.pattern == "/collections/{name}" && (route.method == "PUT" || route.method == "DELETE"));
}

bool TenantMayUse(const RouteSpec& route) {
  if (route.scope != RouteScope::kNode || route.permission == Permission::kPublic) return true;
  return route.port == Port::kPublic && route.method == "POST" && route.pattern == "/collections/aliases";
}

std::span<const RouteSpec> AllRoutes() { return kRoutes; }

std::string_view PortName(Port port) { return port == Port::kPublic ? "public" : "peer"; }

std::string_view RouteScopeName(RouteScope scope) {
  switch (scope) {
    case RouteScope::kNode: return "node";
    case RouteScope::kCollection: return "collection";
    case RouteScope::kAnyCollection: return "any_collection";
  }
  return "unknown";
}

}  // namespace vj

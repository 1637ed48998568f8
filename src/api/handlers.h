// The endpoint handlers behind RestApi (internal to api/). Each takes the call's context and returns
// the value of the envelope's "result", or an error Status that RestApi renders.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "api/request.h"
#include "api/rest_api.h"
#include "collection/catalog.h"
#include "collection/collection_namespace.h"
#include "core/deadline.h"
#include "core/request_context.h"
#include "core/status.h"

namespace vj {

struct Call {
  Catalog& catalog;
  const RestApiOptions& options;
  const RequestContext& context;  // who asks, until when (core/request_context.h)
  const Request& request;
  std::vector<std::string> params;  // path parameters in route order ({name}, {id}, ...)
  // Internal shard routes (/internal/shards/{name}/{shard}/...): the shard, taken out of params, and
  // whether the route writes.
  std::optional<uint32_t> shard;
  bool writes = false;
  // A peer's forwarded write: its deadline (kForwardDeadlineHeader, cluster/peer_protocol.h; 0 = none).
  int64_t apply_by_unix_ms = 0;
  // A handler that answers with something other than the JSON envelope (a snapshot's bytes, a 202)
  // puts the whole response here; RestApi sends it as it is.
  std::optional<Response>* raw_response = nullptr;
  // The node's whole catalog, beyond the request's namespace (`catalog` is its NamespacedCatalog: the
  // names a tenant principal sees; api/tenant_scope.h). For node-wide limits; null in tests of one view.
  Catalog* node_catalog = nullptr;
  // The stored name of a collection name the client gave (the namespace's mapping); itself without a
  // namespace.
  const NamespacedCatalog* names = nullptr;
  std::string StoredName(const std::string& name) const {
    if (names == nullptr) return name;
    return names->ToStored(name).value_or(std::string(1, kTenantSeparator));  // '~' names nothing
  }

  // The request body as a JSON object; InvalidArgument when missing, malformed or not an object.
  StatusOr<boost::json::object> Body() const;
  // An absent or empty body reads as {}.
  StatusOr<boost::json::object> OptionalBody() const;
  // ?wait=true|false (default false, as Qdrant).
  StatusOr<bool> Wait() const;
  StatusOr<std::shared_ptr<Collection>> GetCollection() const;
  // The request's deadline (the context's: Qdrant's ?timeout=<seconds>, capped at limits.max_timeout_s,
  // else limits.default_timeout_s from when the request arrived; none when that is 0).
  StatusOr<Deadline> RequestDeadline() const { return context.deadline; }
  // The request's limits. A peer's shard request (`shard` set) was checked by the node that took the
  // client's request; it asks each shard for offset + limit points (collection.cc), so its `limit` may
  // be up to max_offset + max_limit.
  RequestLimits limits() const {
    RequestLimits l = options.limits;
    if (shard) l.max_limit += l.max_offset;
    return l;
  }
};

// Collections (handlers_collections.cc).
StatusOr<boost::json::value> HandleRoot(const Call& call);
StatusOr<boost::json::value> HandleListCollections(const Call& call);
StatusOr<boost::json::value> HandleGetCollection(const Call& call);
StatusOr<boost::json::value> HandleCreateCollection(const Call& call);
StatusOr<boost::json::value> HandleDeleteCollection(const Call& call);
StatusOr<boost::json::value> HandleUpdateCollection(const Call& call);  // handlers_update_collection.cc
StatusOr<boost::json::value> HandleCollectionExists(const Call& call);
StatusOr<boost::json::value> HandleCreateIndex(const Call& call);
StatusOr<boost::json::value> HandleDeleteIndex(const Call& call);
StatusOr<boost::json::value> HandleClusterInfo(const Call& call);
StatusOr<boost::json::value> HandleCollectionCluster(const Call& call);
StatusOr<boost::json::value> HandleRebalance(const Call& call);

// Collection aliases (handlers_aliases.cc).
StatusOr<boost::json::value> HandleUpdateAliases(const Call& call);
StatusOr<boost::json::value> HandleListAliases(const Call& call);
StatusOr<boost::json::value> HandleListCollectionAliases(const Call& call);

// Points (handlers_points.cc).
StatusOr<boost::json::value> HandleUpsert(const Call& call);
StatusOr<boost::json::value> HandleRetrieve(const Call& call);
StatusOr<boost::json::value> HandleGetPoint(const Call& call);
StatusOr<boost::json::value> HandleDeletePoints(const Call& call);
StatusOr<boost::json::value> HandleSetPayload(const Call& call);
StatusOr<boost::json::value> HandleOverwritePayload(const Call& call);
StatusOr<boost::json::value> HandleDeletePayload(const Call& call);
StatusOr<boost::json::value> HandleClearPayload(const Call& call);
StatusOr<boost::json::value> HandleScroll(const Call& call);
StatusOr<boost::json::value> HandleCount(const Call& call);

// Vectors and batches of point writes (handlers_vectors.cc).
StatusOr<boost::json::value> HandleUpdateVectors(const Call& call);
StatusOr<boost::json::value> HandleDeleteVectors(const Call& call);
StatusOr<boost::json::value> HandleBatchUpdate(const Call& call);

// Search (handlers_search.cc).
StatusOr<boost::json::value> HandleQuery(const Call& call);
StatusOr<boost::json::value> HandleQueryBatch(const Call& call);
StatusOr<boost::json::value> HandleRecommend(const Call& call);
StatusOr<boost::json::value> HandleRecommendBatch(const Call& call);
StatusOr<boost::json::value> HandleDiscover(const Call& call);
StatusOr<boost::json::value> HandleDiscoverBatch(const Call& call);
StatusOr<boost::json::value> HandleSearch(const Call& call);
StatusOr<boost::json::value> HandleSearchBatch(const Call& call);

// Search groups (handlers_groups.cc), facet (handlers_facet.cc), search matrix (handlers_matrix.cc).
StatusOr<boost::json::value> HandleSearchGroups(const Call& call);
StatusOr<boost::json::value> HandleQueryGroups(const Call& call);
StatusOr<boost::json::value> HandleFacet(const Call& call);
StatusOr<boost::json::value> HandleSearchMatrixPairs(const Call& call);
StatusOr<boost::json::value> HandleSearchMatrixOffsets(const Call& call);

// The web console's static files (handlers_dashboard.cc; docs/dashboard.md).
StatusOr<boost::json::value> HandleDashboard(const Call& call);
StatusOr<boost::json::value> HandleDashboardFile(const Call& call);
// The OpenAPI document (handlers_openapi.cc).
StatusOr<boost::json::value> HandleOpenApi(const Call& call);

// API keys and roles (handlers_security.cc); 404 when RestApiOptions::security is unset.
StatusOr<boost::json::value> HandleCreateKey(const Call& call);
StatusOr<boost::json::value> HandleListKeys(const Call& call);
StatusOr<boost::json::value> HandleRevokeKey(const Call& call);
StatusOr<boost::json::value> HandlePutRole(const Call& call);
StatusOr<boost::json::value> HandleListRoles(const Call& call);
StatusOr<boost::json::value> HandleDeleteRole(const Call& call);

// Tenants (handlers_tenants.cc); 404 when RestApiOptions::security is unset.
StatusOr<boost::json::value> HandleCreateTenant(const Call& call);
StatusOr<boost::json::value> HandleListTenants(const Call& call);
StatusOr<boost::json::value> HandleGetTenant(const Call& call);
StatusOr<boost::json::value> HandleDeleteTenant(const Call& call);
StatusOr<boost::json::value> HandleTenantUsage(const Call& call);
// The tenant's max_points quota before a write that adds up to `new_points` points: OK, or 403 naming
// the quota. OK for a request of no tenant.
Status CheckTenantPointQuota(const Call& call, uint64_t new_points);

// Snapshots (handlers_snapshots.cc); 501 when RestApiOptions::snapshots is unset (cluster mode).
StatusOr<boost::json::value> HandleCreateSnapshot(const Call& call);
StatusOr<boost::json::value> HandleListSnapshots(const Call& call);
StatusOr<boost::json::value> HandleDownloadSnapshot(const Call& call);
StatusOr<boost::json::value> HandleDeleteSnapshot(const Call& call);
StatusOr<boost::json::value> HandleRecoverSnapshot(const Call& call);
StatusOr<boost::json::value> HandleUploadSnapshot(const Call& call);
StatusOr<boost::json::value> HandleCreateFullSnapshot(const Call& call);
StatusOr<boost::json::value> HandleListFullSnapshots(const Call& call);
StatusOr<boost::json::value> HandleDownloadFullSnapshot(const Call& call);
StatusOr<boost::json::value> HandleDeleteFullSnapshot(const Call& call);

// {"operation_id": n, "status": "completed"|"acknowledged"} for a finished write.
boost::json::value UpdateResult(const Collection& collection, bool wait);

}  // namespace vj

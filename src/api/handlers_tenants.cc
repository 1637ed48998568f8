// Tenants (VJVector's own paths; docs/tenancy.md): /vjvector/tenants over RestApiOptions::security, and
// the tenant's max_points quota that point writes check. The route table gives the routes
// Permission::kAdmin on the node, which no tenant principal passes.
#include <boost/json.hpp>

#include "api/handlers.h"
#include "collection/collection_namespace.h"
#include "core/json_fields.h"
#include "security/security_store.h"

namespace vj {
namespace json = boost::json;
namespace {

StatusOr<SecurityStore*> Store(const Call& call) {
  if (call.options.security == nullptr) return absl::NotFoundError("security is not configured on this node");
  return call.options.security;
}

// The node's catalog as a whole: a tenant's collections are found there by their stored names.
Catalog& NodeCatalog(const Call& call) { return call.node_catalog != nullptr ? *call.node_catalog : call.catalog; }

json::object QuotasJson(const TenantQuotas& q) {
  return json::object{{"max_collections", q.max_collections},
                      {"max_points", q.max_points},
                      {"read_per_s", q.read_per_s},
                      {"write_per_s", q.write_per_s}};
}

json::object TenantJson(const TenantRecord& t) {
  return json::object{{"id", t.id}, {"created_at", t.created_at}, {"quotas", QuotasJson(t.quotas)}};
}

StatusOr<TenantQuotas> ParseQuotas(const json::value& v) {
  VJ_ASSIGN_OR_RETURN(const json::object* o, ReadObject(v, "quotas"));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*o, {"max_collections", "max_points", "read_per_s", "write_per_s"}, "quotas"));
  TenantQuotas q;
  if (const json::value* f = FindField(*o, "max_collections")) {
    VJ_ASSIGN_OR_RETURN(q.max_collections, ReadUint(*f, "quotas.max_collections"));
  }
  if (const json::value* f = FindField(*o, "max_points")) {
    VJ_ASSIGN_OR_RETURN(q.max_points, ReadUint(*f, "quotas.max_points"));
  }
  if (const json::value* f = FindField(*o, "read_per_s")) {
    VJ_ASSIGN_OR_RETURN(q.read_per_s, ReadNumber(*f, "quotas.read_per_s"));
  }
  if (const json::value* f = FindField(*o, "write_per_s")) {
    VJ_ASSIGN_OR_RETURN(q.write_per_s, ReadNumber(*f, "quotas.write_per_s"));
  }
  return q;
}

// The stored names of the tenant's collections.
std::vector<std::string> TenantCollections(Catalog& node, const std::string& tenant) {
  NamespacedCatalog scope(node, NamespacedCatalog::View::kTenant, tenant);
  std::vector<std::string> out;
  for (const std::string& name : scope.List()) out.push_back(*scope.ToStored(name));
  return out;
}

struct TenantUsage {
  uint64_t collections = 0;
  uint64_t points = 0;
  uint64_t vector_bytes = 0;  // points x dense dimensions x 4 bytes (float32), an estimate
};

// Counted now over the tenant's collections (a collection deleted meanwhile is skipped).
TenantUsage UsageOf(Catalog& node, const std::string& tenant) {
  TenantUsage usage;
  for (const std::string& stored : TenantCollections(node, tenant)) {
    StatusOr<std::shared_ptr<Collection>> collection = node.Get(stored);
    if (!collection.ok()) continue;
    uint64_t points = 0;
    for (uint64_t n : (*collection)->ShardPointCounts()) points += n;
    uint64_t dims = 0;
    for (const auto& [name, params] : (*collection)->config().vectors) dims += params.size;
    ++usage.collections;
    usage.points += points;
    usage.vector_bytes += points * dims * sizeof(float);
  }
  return usage;
}

}  // namespace

StatusOr<json::value> HandleCreateTenant(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"id", "quotas"}, ""));
  const json::value* id = FindField(body, "id");
  if (id == nullptr) return absl::InvalidArgumentError("id: missing");
  TenantRecord spec;
  VJ_ASSIGN_OR_RETURN(spec.id, ReadString(*id, "id"));
  if (const json::value* quotas = FindField(body, "quotas")) {
    VJ_ASSIGN_OR_RETURN(spec.quotas, ParseQuotas(*quotas));
  }
  VJ_RETURN_IF_ERROR(ValidateTenant(spec, ""));
  // Collections left by an earlier tenant of this id (a delete interrupted half-way) would become the
  // new tenant's: refuse until an admin removed them.
  const std::vector<std::string> left = TenantCollections(NodeCatalog(call), spec.id);
  if (!left.empty()) {
    return absl::AlreadyExistsError("collections of an earlier tenant \"" + spec.id + "\" remain (" +
                                    std::to_string(left.size()) + ", e.g. " + left.front() +
                                    "): delete them first");
  }
  VJ_ASSIGN_OR_RETURN(TenantRecord created, store->CreateTenant(spec));
  return TenantJson(created);
}

StatusOr<json::value> HandleListTenants(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  json::array tenants;
  for (const TenantRecord& t : store->ListTenants()) tenants.push_back(TenantJson(t));
  return json::object{{"tenants", std::move(tenants)}};
}

StatusOr<json::value> HandleGetTenant(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  std::optional<TenantRecord> tenant = store->GetTenant(call.params.at(0));
  if (!tenant) return absl::NotFoundError("there is no tenant \"" + call.params.at(0).substr(0, 64) + "\"");
  return TenantJson(*tenant);
}

StatusOr<json::value> HandleDeleteTenant(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  const std::string& id = call.params.at(0);
  bool force = false;
  if (auto it = call.request.query.find("force"); it != call.request.query.end()) {
    if (it->second != "true" && it->second != "false") {
      return absl::InvalidArgumentError("query parameter force: expected true or false, got \"" +
                                        it->second.substr(0, 64) + "\"");
    }
    force = it->second == "true";
  }
  if (!store->GetTenant(id)) return absl::NotFoundError("there is no tenant \"" + id.substr(0, 64) + "\"");
  Catalog& node = NodeCatalog(call);
  std::vector<std::string> owned = TenantCollections(node, id);
  if (!owned.empty() && !force) {
    return absl::AbortedError("tenant \"" + id + "\" still owns " + std::to_string(owned.size()) +
                              " collections: delete them first, or pass ?force=true to delete them with it");
  }
  // The tenant first: its keys are revoked and its tokens refused, so nothing creates collections while
  // they are deleted. Then its collections, twice over what a request in flight may have created.
  VJ_ASSIGN_OR_RETURN(size_t revoked_keys, store->DeleteTenant(id));
  json::array deleted;
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& stored : TenantCollections(node, id)) {
      Status st = node.DeleteCollection(stored);
      if (!st.ok() && !absl::IsNotFound(st)) {
        return WithContext(st, "tenant \"" + id + "\" deleted, but not its collection " + stored +
                                   " (delete it by this name)");
      }
      if (st.ok()) deleted.push_back(json::value(stored.substr(id.size() + 1)));
    }
  }
  return json::object{{"deleted_collections", std::move(deleted)}, {"revoked_keys", revoked_keys}};
}

StatusOr<json::value> HandleTenantUsage(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  std::optional<TenantRecord> tenant = store->GetTenant(call.params.at(0));
  if (!tenant) return absl::NotFoundError("there is no tenant \"" + call.params.at(0).substr(0, 64) + "\"");
  const TenantUsage usage = UsageOf(NodeCatalog(call), tenant->id);
  return json::object{{"tenant", tenant->id},
                      {"collections", usage.collections},
                      {"points", usage.points},
                      {"vector_bytes", usage.vector_bytes},
                      {"quotas", QuotasJson(tenant->quotas)}};
}

Status CheckTenantPointQuota(const Call& call, uint64_t new_points) {
  if (call.context.tenant.empty() || call.options.security == nullptr) return absl::OkStatus();
  std::optional<TenantRecord> tenant = call.options.security->GetTenant(call.context.tenant);
  if (!tenant || tenant->quotas.max_points == 0) return absl::OkStatus();
  const uint64_t held = UsageOf(NodeCatalog(call), tenant->id).points;
  if (held + new_points > tenant->quotas.max_points) {
    return absl::PermissionDeniedError("tenant " + tenant->id + ": quota max_points (" +
                                       std::to_string(tenant->quotas.max_points) + ") reached: it holds " +
                                       std::to_string(held) + " points and this request writes " +
                                       std::to_string(new_points));
  }
  return absl::OkStatus();
}

}  // namespace vj

#include "api/tenant_scope.h"

#include "security/permission.h"
#include "security/security_store.h"

namespace vj {

NamespacedCatalog::View ViewOf(const RequestContext& context) {
  if (!context.tenant.empty()) return NamespacedCatalog::View::kTenant;
  const Principal* who = context.principal.get();
  // No principal: a public route, which names no collection. Peers address stored names.
  if (who == nullptr || who->is_peer || who->Allows(Permission::kAdmin, std::nullopt)) {
    return NamespacedCatalog::View::kAll;
  }
  return NamespacedCatalog::View::kShared;
}

NamespacedCatalog ScopedCatalog(Catalog& catalog, const RequestContext& context, const SecurityStore* tenants) {
  const NamespacedCatalog::View view = ViewOf(context);
  uint64_t max_collections = 0;
  if (view == NamespacedCatalog::View::kTenant && tenants != nullptr) {
    if (std::optional<TenantRecord> tenant = tenants->GetTenant(context.tenant)) {
      max_collections = tenant->quotas.max_collections;
    }
  }
  return NamespacedCatalog(catalog, view, context.tenant, max_collections);
}

}  // namespace vj

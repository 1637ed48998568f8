// Which collections a request sees (docs/tenancy.md): the namespace of its principal's tenant, or for a
// principal of no tenant the shared namespace, or every stored name for a node-wide admin (and peers).
// RestApi gives its handlers the scoped catalog, and the request pipeline resolves aliases through the
// same one, so names are mapped in one place (collection/collection_namespace.h).
// Thread-safety: pure functions; the store may be read concurrently.
#pragma once

#include "collection/collection_namespace.h"
#include "core/request_context.h"

namespace vj {

class SecurityStore;  // security/security_store.h

NamespacedCatalog::View ViewOf(const RequestContext& context);
// The catalog the request's handlers use. `tenants` (may be null) gives a tenant's max_collections quota.
NamespacedCatalog ScopedCatalog(Catalog& catalog, const RequestContext& context, const SecurityStore* tenants);

}  // namespace vj

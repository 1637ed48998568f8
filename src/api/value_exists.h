// Qdrant's JWT `value_exists` claim (security/permission.h, ValueExistsCondition): a token that carries
// it is valid only while its collection holds at least one point whose payload matches every
// {key, value} pair. Checked on every request that presents such a token (server/request_pipeline.h's
// principal check), so that deleting the matching point revokes the token at once, as in Qdrant.
// Thread-safety: as the catalog's reads.
#pragma once

#include "collection/catalog.h"
#include "core/status.h"
#include "security/permission.h"

namespace vj {

// OK when a matching point exists; an AuthFailure("value_exists", ...) when none does or the collection
// is missing; another error (e.g. Unavailable) when the check could not be made.
Status CheckValueExists(Catalog& catalog, const ValueExistsCondition& condition);

}  // namespace vj

// The one table between Status codes and HTTP statuses, for the public API's answers (api/error_mapping)
// and the peer protocol's (cluster/peer_protocol), whose errors keep the same HTTP status so that proxies
// and access logs stay meaningful.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "core/status.h"

namespace vj {

// The HTTP status that stands for `status` (200 for OK).
int HttpStatusFor(const Status& status);
// The inverse, as far as an HTTP status tells: several codes share one status (409 is AlreadyExists and
// Aborted, 400 is InvalidArgument, FailedPrecondition and OutOfRange, ...), so this gives the first of
// them. Marks what it can (408 a request timeout, 507 a full disk); unknown statuses are Internal.
Status StatusFromHttpStatus(int http_status, const std::string& message);

}  // namespace vj

// The one table between Status codes and HTTP statuses, for the public API's answers (api/error_mapping)
// and the peer protocol's (cluster/peer_protocol), whose errors keep the same HTTP status so that proxies
// and access logs stay meaningful.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "core/status.h"

namespace vj {

// Payload type URL that marks a ResourceExhausted Status as "this request alone is over a size limit"
// (HTTP 413 Payload Too Large), as opposed to a rate limit (429) or a full disk (507).
inline constexpr char kTooLargePayload[] = "vjvector/too-large";
inline Status TooLargeError(const std::string& message) {
  Status status = absl::ResourceExhaustedError(message);
  status.SetPayload(kTooLargePayload, absl::Cord("1"));
  return status;
}
inline bool IsTooLarge(const Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted && status.GetPayload(kTooLargePayload).has_value();
}

// The HTTP status that stands for `status` (200 for OK).
int HttpStatusFor(const Status& status);
// The inverse, as far as an HTTP status tells: several codes share one status (409 is AlreadyExists and
// Aborted, 400 is InvalidArgument, FailedPrecondition and OutOfRange, ...), so this gives the first of
// them. Marks what it can (408 a request timeout, 507 a full disk); unknown statuses are Internal.
Status StatusFromHttpStatus(int http_status, const std::string& message);

}  // namespace vj

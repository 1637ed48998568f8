// WriteNotApplied: an Unavailable that says the write it answers was refused and not applied. A write a
// peer forwarded to a shard's primary reached it after its deadline (collection/write_queue.h,
// cluster/routed_shard.h); retrying it is safe. It travels between nodes in the peer protocol's payloads
// (cluster/peer_protocol.h). A client's own write that missed its deadline (?timeout) the same way is
// answered as Qdrant's timeout instead (ClientWriteTimeout).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/deadline.h"
#include "core/status.h"

namespace vj {

inline constexpr char kWriteNotAppliedPayload[] = "vjvector/write-not-applied";

inline Status WriteNotApplied(const std::string& message) {
  Status status = absl::UnavailableError(message);
  status.SetPayload(kWriteNotAppliedPayload, absl::Cord("not-applied"));
  return status;
}

inline bool IsWriteNotApplied(const Status& status) {
  return absl::IsUnavailable(status) && status.GetPayload(kWriteNotAppliedPayload).has_value();
}

// `status` unchanged unless it is a WriteNotApplied refusal of a write whose deadline is the client's
// `deadline`: then Qdrant's timeout for `operation` (408), saying that nothing was written.
inline Status ClientWriteTimeout(const Status& status, const Deadline& deadline, std::string_view operation) {
  if (!IsWriteNotApplied(status) || !deadline.is_set()) return status;
  return RequestTimeoutError(std::string(deadline.TimeoutError(operation).message()) + "; " +
                             std::string(status.message()));
}

}  // namespace vj

// WriteNotApplied: an Unavailable that says the write it answers was refused and not applied. A write a
// peer forwarded to a shard's primary reached it after its deadline (collection/write_queue.h,
// cluster/routed_shard.h); retrying it is safe. It travels between nodes in the peer protocol's payloads
// (cluster/peer_protocol.h).
// Thread-safety: pure functions.
#pragma once

#include <string>

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

}  // namespace vj

// LogBatch: the body of the replication requests (cluster/replication.h), entries of a shard's mutation
// log with their sequence numbers (0 in snapshot pages):
//   "VJL1", u32 entry count, then per entry: u64 sequence, u32 length, an encoded Mutation
//   (storage/point_record.h); little-endian. A replica decodes a peer's bytes, so decoding is strict and
//   never trusts a count or a length. Kept apart from the Replicator so the decoder can be fuzzed alone.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/point_record.h"

namespace vj {

std::string EncodeLogBatch(const std::vector<LoggedMutation>& entries);
// InvalidArgument naming the damage (bad header, truncated, trailing bytes, a corrupt entry).
StatusOr<std::vector<LoggedMutation>> DecodeLogBatch(std::string_view bytes);

}  // namespace vj

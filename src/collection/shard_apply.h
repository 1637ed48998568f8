// ApplyToShardState: how a durable batch of mutations reaches a shard's in-memory state (internal to
// collection/). The shard's writer calls it after every PointStore write, and a shard that opens from
// an index snapshot calls it for the log entries the snapshot does not cover, so that both end in the
// same state. Log entries hold each point's resulting state, so applying an entry again is harmless.
// Thread-safety: one caller at a time (the writer thread, or Load before the writer starts); readers
// of the state may run concurrently (it takes state.mu exclusively only to switch the maps over).
#pragma once

#include <cstdint>
#include <vector>

#include "collection/shard_state.h"
#include "storage/point_record.h"

namespace vj {

// Applies `mutations` (already durable in the store, in sequence order, the last one at
// `last_sequence`) to `state`; vectors_changed[i] is false for payload-only upserts, which keep their
// vector-index entry. Inserts into the vector indexes with `insert_threads` threads.
void ApplyToShardState(ShardState& state, const std::vector<const Mutation*>& mutations,
                       const std::vector<bool>& vectors_changed, size_t insert_threads,
                       uint64_t last_sequence);

}  // namespace vj

// The shard's index snapshot, so that a restart loads the vector indexes instead of rebuilding them:
//   <shard dir>/index/ids.bin          the internal-id -> PointId map, stamped with the PointStore
//                                      sequence it covers (format version, xxh64 checksum)
//   <shard dir>/index/vector-<hex name>.hnsw   each vector index (VectorIndex::Save's own format)
// A snapshot is used only when its sequence equals the store's last sequence (no write since it was
// taken) and every file reads back cleanly; anything else means a rebuild from the PointStore.
// Thread-safety: the caller guarantees that no writer runs (shard opening or closing).
#pragma once

#include <string>

#include "collection/shard_state.h"
#include "core/status.h"
#include "storage/point_store.h"

namespace vj {

// Writes the snapshot of `state` (whose writer is stopped) under dir/index, replacing the old one.
[[nodiscard]] Status SaveShardSnapshot(const ShardState& state, const std::string& dir);

// Loads the snapshot into `state`, whose store is open and whose maps are empty: vector indexes, id
// maps, payloads (read from the store), live set. NotFound without a snapshot; FailedPrecondition when
// it is stale; DataLoss when it is corrupt or disagrees with the store. On error `state` must be reset
// by the caller before rebuilding. Point records that do not decode are quarantined
// (PointStore::RecoverEach) and appended to *quarantined; the snapshot then disagrees with the store.
[[nodiscard]] Status LoadShardSnapshot(ShardState& state, const std::string& dir,
                                       std::vector<QuarantinedRecord>* quarantined);

}  // namespace vj

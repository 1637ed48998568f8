// The shard's index snapshot, so that a restart loads the vector indexes instead of rebuilding them:
//   <shard dir>/index/ids.bin          the internal-id -> PointId map of the live points, stamped with
//                                      the PointStore sequence S it covers (format version, xxh64)
//   <shard dir>/index/vector-<hex name>.hnsw   each vector index (VectorIndex::Save's own format)
// A snapshot is written at clean shutdown and in the background while writes go on
// (collection/index_snapshotter.h). It is complete or absent: its files are written into index.new/,
// fsynced, and swapped in by rename, so a crash mid-snapshot leaves the previous one.
// Loading it replays the store's log entries S+1..last over it (collection/shard_apply.h, as the writer
// applies them); it is unusable, and the shard rebuilds from the store, when a file is missing or
// corrupt, when the log no longer holds S+1 (trimmed), or when S is past the store's last sequence (the
// store was rolled back, e.g. a replica's ResetSequence).
// Thread-safety: SaveShardSnapshot may run concurrently with the shard's writer, its readers and its
// IndexCompactor, but not with another SaveShardSnapshot of the same shard (the shard serializes them).
// LoadShardSnapshot runs before the writer starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "collection/shard_state.h"
#include "core/status.h"
#include "storage/point_store.h"

namespace vj {

// What SaveShardSnapshot wrote.
struct IndexSnapshotWritten {
  uint64_t sequence = 0;         // the store sequence the snapshot covers
  double seconds = 0;            // the whole snapshot
  double vector_saves_s = 0;     // the part spent in VectorIndex::Save (which holds each index's writers
                                 // while it copies the index into the page cache)
};

// Writes the snapshot of `state` under dir/index, replacing the old one. The id map is copied under
// state.mu held shared (the writer waits for that copy only); then each vector index is saved, which
// holds its writers (not its searches) while it runs. Everything the copy saw is in the vector indexes
// by then, so the snapshot is consistent as of the copy's sequence; what the writer applies meanwhile
// is replayed from the log at load. Errors: the file system's (the previous snapshot stays).
[[nodiscard]] Status SaveShardSnapshot(const ShardState& state, const std::string& dir,
                                       IndexSnapshotWritten* written = nullptr);

// How LoadShardSnapshot went.
struct IndexSnapshotLoaded {
  uint64_t sequence = 0;  // the sequence the snapshot covered
  uint64_t replayed = 0;  // log entries applied over it
  double files_s = 0;     // reading the snapshot's files
  double replay_s = 0;    // replaying the log entries
};

// Loads the snapshot into `state`, whose store is open and whose maps are empty: vector indexes, id
// maps, the log entries since the snapshot (inserting with `insert_threads` threads), payloads (read
// from the store), live set. NotFound without a snapshot; FailedPrecondition when the log cannot bring
// it up to date; DataLoss when it is corrupt or disagrees with the store. On error `state` must be
// reset by the caller before rebuilding. Point records that do not decode are quarantined
// (PointStore::RecoverEach) and appended to *quarantined; the snapshot then disagrees with the store.
[[nodiscard]] Status LoadShardSnapshot(ShardState& state, const std::string& dir, size_t insert_threads,
                                       IndexSnapshotLoaded* loaded,
                                       std::vector<QuarantinedRecord>* quarantined);

}  // namespace vj

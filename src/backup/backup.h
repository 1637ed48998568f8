// Node backups to a BackupTarget (backup_target.h): incremental, content-addressed, consistent per
// shard. docs/backup.md is the operator's guide.
//
//   CreateBackup   every collection of a running node: per collection, Collection::Checkpoint copies
//                  each shard (a RocksDB checkpoint at a recorded sequence, plus its index snapshot)
//                  into a staging directory; each file is cut into chunks and each chunk stored as
//                  blobs/sha256/<hash> unless the target has it already; then the shard copies are
//                  opened to count their point records, and the manifest (backup_manifest.h) is
//                  stored last, so a backup interrupted at any point is invisible.
//   ListBackups    the manifests, oldest first.
//   RestoreBackup  a backup into a data directory with none of its collections, for `vjvector serve`.
//   VerifyBackup   RestoreBackup into a scratch directory (every chunk's hash and every file's hash
//                  checked), then each shard's store opened and compared with the manifest: its
//                  sequence and its number of point records.
//   PruneBackups   deletes all but the newest N manifests, then every blob no remaining manifest names.
//
// Thread-safety: the functions may run concurrently with a node's reads and writes (CreateBackup) but
// two CreateBackup or PruneBackups on one target must not overlap (a prune could delete a blob a backup
// being written has just found present); the REST route and the CLI run one at a time per process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backup/backup_manifest.h"
#include "backup/backup_target.h"
#include "collection/database.h"
#include "core/status.h"

namespace vj {

struct BackupOptions {
  // Files are stored in chunks of this size: a file that changed in places stores only its changed
  // chunks again.
  uint64_t chunk_bytes = 4ull << 20;
};

struct BackupStats {
  std::string id;
  size_t collections = 0;
  size_t files = 0;
  uint64_t points = 0;
  uint64_t bytes = 0;            // of every file of the backup
  size_t chunks = 0;
  size_t chunks_uploaded = 0;    // chunks the target did not have
  uint64_t bytes_uploaded = 0;   // their bytes (the manifest not counted)
  uint64_t manifest_bytes = 0;
  double seconds = 0;
};

[[nodiscard]] StatusOr<BackupStats> CreateBackup(Database& database, BackupTarget& target,
                                                 const BackupOptions& options = {});

// Oldest first. A manifest that does not decode is an error naming it.
[[nodiscard]] StatusOr<std::vector<BackupManifest>> ListBackups(BackupTarget& target);
// NotFound when there is no such backup.
[[nodiscard]] StatusOr<BackupManifest> ReadBackup(BackupTarget& target, const std::string& id);

struct RestoreStats {
  size_t collections = 0;
  size_t files = 0;
  uint64_t bytes = 0;
};

// Writes the backup's collections under data_dir/collections/ (and its aliases.json). Refuses
// (FailedPrecondition, nothing written) when one of its collections exists there already. Each
// collection is assembled in a staging directory and renamed into place once complete and fsynced.
// DataLoss when a blob is missing or its bytes do not hash to its name.
[[nodiscard]] Status RestoreBackup(BackupTarget& target, const std::string& id, const std::string& data_dir,
                                   RestoreStats* stats = nullptr);

struct VerifyReport {
  size_t collections = 0;
  size_t shards = 0;
  size_t shards_opened = 0;  // shards of encrypted collections are checked by hash only
  uint64_t points = 0;
  uint64_t bytes = 0;
};

// Restores into scratch_dir (which must not exist; removed afterwards) and checks it. DataLoss naming
// the first difference found.
[[nodiscard]] StatusOr<VerifyReport> VerifyBackup(BackupTarget& target, const std::string& id,
                                                  const std::string& scratch_dir);

struct PruneReport {
  std::vector<std::string> deleted_backups;
  size_t blobs_deleted = 0;
  size_t blobs_kept = 0;
};

// Keeps the `keep` newest backups (keep >= 1).
[[nodiscard]] StatusOr<PruneReport> PruneBackups(BackupTarget& target, size_t keep);

// Counts a store's point records and reads its last sequence (opening it writes to its directory).
struct StoreCount {
  uint64_t sequence = 0;
  uint64_t points = 0;
};
[[nodiscard]] StatusOr<StoreCount> CountStore(const std::string& store_dir);

}  // namespace vj

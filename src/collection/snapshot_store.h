// SnapshotStore: a standalone node's snapshots (Qdrant's snapshot API), under <data_dir>/snapshots:
//   <collection>/<name>.snapshot            a collection snapshot (tar, snapshot_archive.h)
//   <collection>/<name>.snapshot.checksum   its sha256 (hex), written before the snapshot appears
//   <name>.snapshot (+ .checksum)           full snapshots: every collection's snapshot, nested
// A collection snapshot holds manifest.json (snapshot_manifest.h: format version, the collection's
// config, each shard's sequence), shards/<n>/store/ (a RocksDB checkpoint of each shard's point
// store: one consistent state per shard, taken while writes go on) and shards/<n>/index/ (the shard's
// index snapshot, written just before the store is copied, so a recovered collection loads its vector
// indexes and replays the few writes after them instead of rebuilding: Shard::Checkpoint).
//
// A snapshot is built under a temporary name (.tmp-*), fsynced, and renamed into place: a crash never
// leaves a half-written snapshot visible, and the constructor removes such leftovers. Recovery checks
// everything (checksum, archive structure, manifest, config, that each store opens at the sequence the
// manifest says) before anything stored changes, then swaps the collection in with
// Database::ReplaceCollection.
//
// Thread-safety: all methods are safe to call concurrently. The destructor waits for background
// snapshots; it must run before the Database's.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collection/database.h"
#include "core/status.h"

namespace vj {

struct SnapshotInfo {
  std::string name;
  uint64_t size = 0;
  std::string creation_time;            // UTC, "YYYY-MM-DDTHH:MM:SS"
  std::optional<std::string> checksum;  // sha256 hex
};

struct SnapshotStoreOptions {
  // The largest snapshot a recovery accepts (a download, an upload, or a file), and the most its
  // archive may unpack to.
  uint64_t max_snapshot_bytes = 1ull << 30;
  // Snapshots built in the background (wait=false) at once; more are refused (ResourceExhausted).
  size_t max_background = 2;
  // Downloads `url` (http or https) into file `path` (must not exist), refusing more than max_bytes;
  // `api_key`, when not empty, is sent as the api-key header. Unset: http(s) locations are refused.
  std::function<Status(const std::string& url, const std::string& path, uint64_t max_bytes,
                       const std::string& api_key)>
      download;
};

class SnapshotStore {
 public:
  SnapshotStore(Database& database, SnapshotStoreOptions options);
  ~SnapshotStore();
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // A snapshot of `collection` (NotFound when absent), durable and listed when this returns.
  [[nodiscard]] StatusOr<SnapshotInfo> Create(const std::string& collection);
  // Starts Create on a background thread after checking the collection exists; the snapshot is
  // listed once complete. ResourceExhausted when max_background snapshots are being built.
  [[nodiscard]] Status CreateInBackground(const std::string& collection);
  // Newest first. NotFound when the collection does not exist.
  [[nodiscard]] StatusOr<std::vector<SnapshotInfo>> List(const std::string& collection) const;
  // The snapshot's file; InvalidArgument for a name that is not a snapshot name, NotFound when absent.
  [[nodiscard]] StatusOr<SnapshotInfo> Find(const std::string& collection, const std::string& name,
                                            std::string* path) const;
  [[nodiscard]] Status Delete(const std::string& collection, const std::string& name);

  // Full snapshots: every collection of the node. "" as `collection` above means the same for them.
  [[nodiscard]] StatusOr<SnapshotInfo> CreateFull() { return Create(""); }
  [[nodiscard]] Status CreateFullInBackground() { return CreateInBackground(""); }

  // Recovers `collection` (creating or replacing it) from `location`: file://<path> of a file inside
  // <data_dir>/snapshots, or an http(s):// URL (downloaded to a temporary file, at most
  // max_snapshot_bytes). `checksum`, when set, must be the archive's sha256. InvalidArgument (nothing
  // changed) for a bad location, checksum, archive, manifest or config.
  [[nodiscard]] Status RecoverFromLocation(const std::string& collection, const std::string& location,
                                           const std::optional<std::string>& checksum,
                                           const std::string& api_key = "");
  // The same from an archive file the caller owns (an upload).
  [[nodiscard]] Status RecoverFromFile(const std::string& collection, const std::string& archive,
                                       const std::optional<std::string>& checksum);
  // A fresh path for a temporary file in the snapshots directory (removed at start if left over).
  std::string TempPath();

  uint64_t max_snapshot_bytes() const { return options_.max_snapshot_bytes; }

 private:
  std::string DirOf(const std::string& collection) const;
  // Writes the snapshot of `collection` to dir/<name> (through dir/.tmp-<name>); returns its checksum.
  StatusOr<std::string> WriteCollectionSnapshot(const std::string& collection, const std::string& dir,
                                                const std::string& name);
  StatusOr<std::string> WriteFullSnapshot(const std::string& dir, const std::string& name);
  std::string NewName(const std::string& collection);
  void RemoveLeftovers();

  // Fixed after construction.
  Database& database_;
  const SnapshotStoreOptions options_;
  const std::string root_;  // <data_dir>/snapshots

  std::atomic<uint64_t> next_temp_{0};
  std::mutex mu_;  // guards jobs_ and reserved_
  std::set<std::string> reserved_;  // paths of snapshots being built (NewName)
  struct Job {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Job> jobs_;
};

// Snapshot names: 1-240 characters of [A-Za-z0-9._-], not starting with '.', ending in ".snapshot".
// InvalidArgument naming the problem otherwise (so no name reaches outside the snapshots directory).
Status ValidateSnapshotName(std::string_view name);

}  // namespace vj

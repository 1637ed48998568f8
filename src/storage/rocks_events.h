// Hooks into RocksDB for PointStore (internal to storage/): its info log goes to our log instead of a
// LOG file in the data directory, and its background errors are recorded for the store instead of
// being recovered by RocksDB itself.
//
// Why not RocksDB's own recovery: Debian's librocksdb 7.8 is built with assertions on, and after a WAL
// append fails with ENOSPC both the automatic recovery (SstFileManager polling free space) and
// DB::Resume() report success but keep the WAL writer that failed, so the next write aborts the process
// (WritableFileWriter: Assertion `sync_without_flush_called_' failed). The info log file's writer does
// the same on the log line after a failed append. Closing and reopening the DB is safe: PointStore
// does that once space is back (point_store.cc).
//
// Thread-safety: RocksDB calls both from its own threads; the recorded error is read with atomics.
#pragma once

#include <atomic>
#include <memory>

#include "rocksdb/env.h"
#include "rocksdb/listener.h"

namespace vj::storage_internal {

// Forwards RocksDB's warnings and errors to spdlog, prefixed with the store's directory.
std::shared_ptr<rocksdb::Logger> NewRocksLogger(const std::string& dir);

// Records that RocksDB entered a background-error state (it refuses writes until recovered) and turns
// off its automatic recovery.
class BackgroundErrorListener : public rocksdb::EventListener {
 public:
  explicit BackgroundErrorListener(std::string dir) : dir_(std::move(dir)) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override;
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason reason, rocksdb::Status error,
                            bool* auto_recovery) override;

  // Whether an error was recorded since the last Clear(), and whether it was a full disk.
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  bool no_space() const { return no_space_.load(std::memory_order_acquire); }
  void Clear() {
    failed_.store(false, std::memory_order_release);
    no_space_.store(false, std::memory_order_release);
  }

 private:
  const std::string dir_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> no_space_{false};
};

}  // namespace vj::storage_internal

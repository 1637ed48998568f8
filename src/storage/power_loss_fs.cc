#include "storage/power_loss_fs.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include <absl/base/thread_annotations.h>

#include "rocksdb/env.h"

namespace vj {
namespace {

std::atomic<uint64_t> g_unsynced_bytes_at_close{0};

}  // namespace

bool PowerLossModeRequested() {
  const char* v = std::getenv(kPowerLossEnvVar);
  return v != nullptr && std::strcmp(v, "1") == 0;
}

class BufferedUntilSyncFile;

// The writable files now open, by name, so that an open for reading can tell whether it would miss
// unsynced bytes. Lock order: the registry's mutex before a file's.
class PowerLossFileSystem::Registry {
 public:
  void Add(const std::string& name, BufferedUntilSyncFile* file) {
    std::lock_guard<std::mutex> lock(mu_);
    open_[name] = file;
  }
  void Remove(const std::string& name, BufferedUntilSyncFile* file) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(name);
    if (it != open_.end() && it->second == file) open_.erase(it);
  }
  // Bytes an open writable file of this name holds unsynced (0 when none is open).
  uint64_t Unsynced(const std::string& name) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, BufferedUntilSyncFile*> open_ ABSL_GUARDED_BY(mu_);
};

// A writable file whose appended bytes stay in memory until Sync/Fsync/Close: bytes [0, persisted_)
// are in the real file, pending_ follows them.
class BufferedUntilSyncFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  BufferedUntilSyncFile(std::unique_ptr<rocksdb::FSWritableFile> target, std::string name,
                        uint64_t persisted, std::shared_ptr<PowerLossFileSystem::Registry> registry)
      : FSWritableFileOwnerWrapper(std::move(target)),
        name_(std::move(name)),
        registry_(std::move(registry)),
        persisted_(persisted) {
    registry_->Add(name_, this);
  }

  ~BufferedUntilSyncFile() override {
    // RocksDB closes what it opens; a file dropped without Close is treated as closed.
    if (!closed_) (void)Close(rocksdb::IOOptions(), nullptr);
  }

  using IOStatus = rocksdb::IOStatus;

  IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions&,
                  rocksdb::IODebugContext*) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.append(data.data(), data.size());
    return IOStatus::OK();
  }
  IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                  const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions&,
                            rocksdb::IODebugContext*) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (offset < persisted_) {
      return IOStatus::NotSupported("power-loss mode: rewrite of synced bytes of " + name_);
    }
    const size_t at = offset - persisted_;
    if (pending_.size() < at + data.size()) pending_.resize(at + data.size(), '\0');
    pending_.replace(at, data.size(), data.data(), data.size());
    return IOStatus::OK();
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& options,
                            const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }

  IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (size >= persisted_) {
      pending_.resize(size - persisted_, '\0');
      return IOStatus::OK();
    }
    pending_.clear();
    IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) persisted_ = size;
    return s;
  }

  // Flush moves bytes from a user-space buffer to the OS: nothing a power loss spares.
  IOStatus Flush(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override { return IOStatus::OK(); }
  // sync_file_range starts write-back and waits for nothing; it makes no byte durable.
  IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return IOStatus::OK();
  }
  IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    std::lock_guard<std::mutex> lock(mu_);
    IOStatus s = Persist(options, dbg);
    return s.ok() ? target()->Sync(options, dbg) : s;
  }
  IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    std::lock_guard<std::mutex> lock(mu_);
    IOStatus s = Persist(options, dbg);
    return s.ok() ? target()->Fsync(options, dbg) : s;
  }
  bool IsSyncThreadSafe() const override { return true; }  // every call holds mu_

  IOStatus Close(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    IOStatus s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return IOStatus::OK();
      closed_ = true;
      g_unsynced_bytes_at_close.fetch_add(pending_.size(), std::memory_order_relaxed);
      s = Persist(options, dbg);
      IOStatus closed = target()->Close(options, dbg);
      if (s.ok()) s = closed;
    }
    registry_->Remove(name_, this);
    return s;
  }

  uint64_t GetFileSize(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    std::lock_guard<std::mutex> lock(mu_);
    return persisted_ + pending_.size();
  }

  uint64_t unsynced() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_ ? 0 : pending_.size();
  }

 private:
  IOStatus Persist(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (pending_.empty()) return IOStatus::OK();
    IOStatus s = target()->Append(rocksdb::Slice(pending_), options, dbg);
    if (!s.ok()) return s;
    persisted_ += pending_.size();
    pending_.clear();
    return target()->Flush(options, dbg);
  }

  const std::string name_;
  const std::shared_ptr<PowerLossFileSystem::Registry> registry_;
  mutable std::mutex mu_;
  uint64_t persisted_ ABSL_GUARDED_BY(mu_);
  std::string pending_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

uint64_t PowerLossFileSystem::Registry::Unsynced(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(name);
  return it == open_.end() ? 0 : it->second->unsynced();
}

PowerLossFileSystem::PowerLossFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target)
    : FileSystemWrapper(target), registry_(std::make_shared<Registry>()) {}

uint64_t PowerLossFileSystem::unsynced_bytes_at_close() {
  return g_unsynced_bytes_at_close.load(std::memory_order_relaxed);
}

rocksdb::IOStatus PowerLossFileSystem::Wrap(const std::string& fname, rocksdb::IOStatus opened,
                                            uint64_t persisted,
                                            std::unique_ptr<rocksdb::FSWritableFile>* result) {
  if (!opened.ok()) return opened;
  *result = std::make_unique<BufferedUntilSyncFile>(std::move(*result), fname, persisted, registry_);
  return opened;
}

rocksdb::IOStatus PowerLossFileSystem::NewWritableFile(const std::string& fname,
                                                       const rocksdb::FileOptions& options,
                                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                       rocksdb::IODebugContext* dbg) {
  rocksdb::FileOptions buffered = options;
  buffered.use_direct_writes = false;  // the buffer hands the real file unaligned appends
  return Wrap(fname, target()->NewWritableFile(fname, buffered, result, dbg), 0, result);
}

rocksdb::IOStatus PowerLossFileSystem::ReopenWritableFile(const std::string& fname,
                                                          const rocksdb::FileOptions& options,
                                                          std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                          rocksdb::IODebugContext* dbg) {
  uint64_t size = 0;
  if (!target()->GetFileSize(fname, options.io_options, &size, dbg).ok()) size = 0;  // a new file
  rocksdb::FileOptions buffered = options;
  buffered.use_direct_writes = false;
  return Wrap(fname, target()->ReopenWritableFile(fname, buffered, result, dbg), size, result);
}

rocksdb::IOStatus PowerLossFileSystem::ReuseWritableFile(const std::string& fname,
                                                         const std::string& old_fname,
                                                         const rocksdb::FileOptions& options,
                                                         std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                         rocksdb::IODebugContext* dbg) {
  // The reused file is written again from offset 0 (its old bytes beyond stay until overwritten).
  rocksdb::FileOptions buffered = options;
  buffered.use_direct_writes = false;
  return Wrap(fname, target()->ReuseWritableFile(fname, old_fname, buffered, result, dbg), 0, result);
}

rocksdb::IOStatus PowerLossFileSystem::CheckNoUnsyncedWriter(const std::string& fname) const {
  const uint64_t unsynced = registry_->Unsynced(fname);
  if (unsynced == 0) return rocksdb::IOStatus::OK();
  return rocksdb::IOStatus::IOError("power-loss mode: " + fname + " is opened for reading while " +
                                    std::to_string(unsynced) +
                                    " bytes written to it are unsynced (see power_loss_fs.h)");
}

rocksdb::IOStatus PowerLossFileSystem::NewSequentialFile(const std::string& fname,
                                                         const rocksdb::FileOptions& options,
                                                         std::unique_ptr<rocksdb::FSSequentialFile>* result,
                                                         rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = CheckNoUnsyncedWriter(fname);
  return s.ok() ? target()->NewSequentialFile(fname, options, result, dbg) : s;
}

rocksdb::IOStatus PowerLossFileSystem::NewRandomAccessFile(const std::string& fname,
                                                           const rocksdb::FileOptions& options,
                                                           std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                                           rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = CheckNoUnsyncedWriter(fname);
  return s.ok() ? target()->NewRandomAccessFile(fname, options, result, dbg) : s;
}

std::shared_ptr<rocksdb::FileSystem> SharedPowerLossFileSystem() {
  static auto* const fs = new std::shared_ptr<rocksdb::FileSystem>(
      std::make_shared<PowerLossFileSystem>(rocksdb::FileSystem::Default()));
  return *fs;
}

rocksdb::Env* PowerLossEnv() {
  static rocksdb::Env* const env = rocksdb::NewCompositeEnv(SharedPowerLossFileSystem()).release();
  return env;
}

}  // namespace vj

// PowerLossFileSystem: a test-only RocksDB FileSystem under which a process killed with kill -9 loses
// what it wrote but did not fsync, as a machine that loses power would.
//
// Without it, kill -9 proves little about durability: the kernel's page cache keeps every byte the
// process wrote, so an acknowledgement that did not wait for fsync goes unseen. Under this file
// system a writable file keeps appended bytes in process memory and hands them to the real file only
// on Sync/Fsync (and Close, see below); kill -9 then discards them with the process.
//
// What the model covers and what it does not (docs/operations.md, "Testing: fault injection"):
//  * Appended bytes not followed by Sync/Fsync are lost. RangeSync (sync_file_range: starts write-back,
//    promises nothing) does not count as a sync. Flush (user-space buffer -> OS) does not either.
//  * Close writes the unsynced tail through to the real file, as the OS would keep it for the running
//    process; real power loss would lose it too. RocksDB syncs each file it depends on before closing
//    it; unsynced_bytes_at_close() counts what was closed unsynced so a test can check that claim.
//  * Creating, renaming and deleting files, and directory fsync, pass straight through: a directory
//    entry survives kill -9 even when its directory was never fsynced.
//  * Files opened with NewRandomRWFile, and files the process writes without RocksDB, are not covered.
//  * Read-your-writes: a file opened for reading while another handle still holds unsynced bytes of it
//    would not see them; RocksDB never does that (a WAL is read only at recovery, an SST or MANIFEST is
//    synced before it is read), and the open fails with IOError, naming the file, if it ever does.
//
// Thread-safety: the file system and its files are safe for concurrent use; each file serializes its
// own calls with a mutex.
#pragma once

#include <cstdint>
#include <memory>

#include "rocksdb/file_system.h"

namespace rocksdb {
class Env;
}

namespace vj {

// The environment variable that turns the mode on ("1"); read by PowerLossModeRequested.
inline constexpr char kPowerLossEnvVar[] = "VJVECTOR_TEST_POWER_LOSS";

// Whether VJVECTOR_TEST_POWER_LOSS=1 is set in this process's environment.
bool PowerLossModeRequested();

class PowerLossFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit PowerLossFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target);

  static const char* kClassName() { return "PowerLossFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewSequentialFile(const std::string& fname, const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSSequentialFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomAccessFile(const std::string& fname, const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                        rocksdb::IODebugContext* dbg) override;

  // Bytes, over the whole process, that a Close wrote through without a Sync before it.
  static uint64_t unsynced_bytes_at_close();

  class Registry;  // open writable files with unsynced bytes, by name (power_loss_fs.cc)

 private:
  rocksdb::IOStatus Wrap(const std::string& fname, rocksdb::IOStatus opened, uint64_t persisted,
                         std::unique_ptr<rocksdb::FSWritableFile>* result);
  rocksdb::IOStatus CheckNoUnsyncedWriter(const std::string& fname) const;

  std::shared_ptr<Registry> registry_;  // set at construction, never replaced
};

// One process-wide Env over PowerLossFileSystem on the default file system. Never destroyed: every DB
// opened with it may outlive any other static.
rocksdb::Env* PowerLossEnv();
// The PowerLossFileSystem under PowerLossEnv, for layering another file system on it (encrypted_fs.h).
std::shared_ptr<rocksdb::FileSystem> SharedPowerLossFileSystem();

}  // namespace vj

#include "storage/power_loss_fs.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>

#include "core/test_dir.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "storage/point_store.h"

namespace vj {
namespace {

// What the real file holds: what a power loss would leave of it.
std::string OnDisk(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class PowerLossFileSystemTest : public ::testing::Test {
 protected:
  std::unique_ptr<rocksdb::FSWritableFile> Create(const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    EXPECT_TRUE(fs_.NewWritableFile(path(name), rocksdb::FileOptions(), &file, nullptr).ok());
    return file;
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  TestDir dir_;
  PowerLossFileSystem fs_{rocksdb::FileSystem::Default()};
  rocksdb::IOOptions io_;
};

TEST_F(PowerLossFileSystemTest, AppendsReachTheFileOnlyWhenSynced) {
  auto file = Create("wal");
  ASSERT_TRUE(file->Append("acked", io_, nullptr).ok());
  ASSERT_TRUE(file->Flush(io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("wal")), "");
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 5u);
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("wal")), "acked");

  // Flush and RangeSync promise nothing durable; Fsync does.
  ASSERT_TRUE(file->Append("-lost", io_, nullptr).ok());
  ASSERT_TRUE(file->Flush(io_, nullptr).ok());
  ASSERT_TRUE(file->RangeSync(0, 10, io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("wal")), "acked");
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 10u);
  ASSERT_TRUE(file->Fsync(io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("wal")), "acked-lost");
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
}

TEST_F(PowerLossFileSystemTest, ReadingBytesThatAreNotSyncedFailsLoudly) {
  auto file = Create("sst");
  ASSERT_TRUE(file->Append("unsynced", io_, nullptr).ok());
  std::unique_ptr<rocksdb::FSSequentialFile> seq;
  std::unique_ptr<rocksdb::FSRandomAccessFile> random;
  rocksdb::IOStatus s = fs_.NewSequentialFile(path("sst"), rocksdb::FileOptions(), &seq, nullptr);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.ToString().find("8 bytes"), std::string::npos) << s.ToString();
  EXPECT_TRUE(fs_.NewRandomAccessFile(path("sst"), rocksdb::FileOptions(), &random, nullptr).IsIOError());
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  ASSERT_TRUE(fs_.NewRandomAccessFile(path("sst"), rocksdb::FileOptions(), &random, nullptr).ok());
  rocksdb::Slice got;
  char buf[16];
  ASSERT_TRUE(random->Read(0, 8, io_, &got, buf, nullptr).ok());
  EXPECT_EQ(got.ToString(), "unsynced");
}

TEST_F(PowerLossFileSystemTest, CloseWritesTheUnsyncedTailThroughAndCountsIt) {
  const uint64_t before = PowerLossFileSystem::unsynced_bytes_at_close();
  auto file = Create("log");
  ASSERT_TRUE(file->Append("abc", io_, nullptr).ok());
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  ASSERT_TRUE(file->Append("de", io_, nullptr).ok());
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("log")), "abcde");
  EXPECT_EQ(PowerLossFileSystem::unsynced_bytes_at_close() - before, 2u);
  // Once closed, reads are allowed (nothing is pending).
  std::unique_ptr<rocksdb::FSSequentialFile> seq;
  EXPECT_TRUE(fs_.NewSequentialFile(path("log"), rocksdb::FileOptions(), &seq, nullptr).ok());
}

TEST_F(PowerLossFileSystemTest, TruncateCutsThePendingTailOrTheRealFile) {
  auto file = Create("t");
  ASSERT_TRUE(file->Append("0123456789", io_, nullptr).ok());
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  ASSERT_TRUE(file->Append("abcdef", io_, nullptr).ok());
  ASSERT_TRUE(file->Truncate(13, io_, nullptr).ok());  // within the pending tail
  EXPECT_EQ(OnDisk(path("t")), "0123456789");
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 13u);
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("t")), "0123456789abc");
  ASSERT_TRUE(file->Append("xyz", io_, nullptr).ok());
  ASSERT_TRUE(file->Truncate(4, io_, nullptr).ok());  // into the synced bytes: drops the tail too
  EXPECT_EQ(OnDisk(path("t")), "0123");
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 4u);
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("t")), "0123");
}

TEST_F(PowerLossFileSystemTest, PositionedAppendBuffersAfterTheSyncedBytes) {
  auto file = Create("p");
  ASSERT_TRUE(file->Append("head", io_, nullptr).ok());
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  ASSERT_TRUE(file->PositionedAppend("tail", 6, io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("p")), "head");
  EXPECT_TRUE(file->PositionedAppend("X", 1, io_, nullptr).IsNotSupported());
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("p")), std::string("head\0\0tail", 10));
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
}

TEST_F(PowerLossFileSystemTest, ReopenedFileAppendsAfterItsContent) {
  {
    auto file = Create("r");
    ASSERT_TRUE(file->Append("old", io_, nullptr).ok());
    ASSERT_TRUE(file->Close(io_, nullptr).ok());
  }
  std::unique_ptr<rocksdb::FSWritableFile> file;
  ASSERT_TRUE(fs_.ReopenWritableFile(path("r"), rocksdb::FileOptions(), &file, nullptr).ok());
  EXPECT_EQ(file->GetFileSize(io_, nullptr), 3u);
  ASSERT_TRUE(file->Append("new", io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("r")), "old");
  ASSERT_TRUE(file->Truncate(4, io_, nullptr).ok());
  ASSERT_TRUE(file->Sync(io_, nullptr).ok());
  EXPECT_EQ(OnDisk(path("r")), "oldn");
  ASSERT_TRUE(file->Close(io_, nullptr).ok());
}

// The same store, the same writes, the same kill -9: with the mode, the write that did not sync is gone;
// without it, the page cache kept it. The child is this binary re-executed (threadsafe death test), so
// RocksDB starts fresh there.
Mutation Upsert(uint64_t id) {
  Mutation m;
  m.record.id = PointId::Num(id);
  m.record.vectors[""] = {static_cast<float>(id), 1.0f};
  return m;
}

void WriteThenKill(const std::string& dir, bool power_loss) {
  if (power_loss) ::setenv(kPowerLossEnvVar, "1", 1);
  auto store = PointStore::Open(dir, {});
  if (!store.ok()) ::_exit(3);
  uint64_t last = 0;
  if (!(*store)->Write({Upsert(1), Upsert(2)}, /*sync=*/true, &last).ok()) ::_exit(4);
  if (!(*store)->Write({Upsert(3)}, /*sync=*/false, &last).ok()) ::_exit(5);
  ::raise(SIGKILL);
}

void ExpectPointsAfterKill(bool power_loss, bool third_survives) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The child runs this function again from the top: it takes the parent's directory from the
  // environment instead of making its own.
  constexpr char kDirEnv[] = "VJ_POWER_LOSS_TEST_DIR";
  std::optional<TestDir> owned;
  std::string dir;
  if (const char* inherited = std::getenv(kDirEnv)) {
    dir = inherited;
  } else {
    dir = owned.emplace().path();
    ::setenv(kDirEnv, dir.c_str(), 1);
  }
  EXPECT_EXIT(WriteThenKill(dir, power_loss), ::testing::KilledBySignal(SIGKILL), "");
  ::unsetenv(kDirEnv);
  ::unsetenv(kPowerLossEnvVar);
  auto store = PointStore::Open(dir, {});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->last_sequence(), third_survives ? 3u : 2u);
  for (uint64_t id = 1; id <= 3; ++id) {
    auto got = (*store)->Get(PointId::Num(id));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->has_value(), id <= 2 || third_survives) << "point " << id;
  }
}

TEST(PowerLossModeDeathTest, KillNineLosesTheWriteThatWasNotSynced) {
  ExpectPointsAfterKill(/*power_loss=*/true, /*third_survives=*/false);
}

TEST(PowerLossModeDeathTest, WithoutTheModeThePageCacheKeepsIt) {
  ExpectPointsAfterKill(/*power_loss=*/false, /*third_survives=*/true);
}

// RocksDB under the mode: flushes, compactions and reopening work, and nothing RocksDB depends on is
// closed unsynced (the read check in power_loss_fs.h would fail an open otherwise).
TEST(PowerLossModeTest, RocksDbRunsNormallyUnderTheMode) {
  TestDir dir;
  ::setenv(kPowerLossEnvVar, "1", 1);
  const uint64_t before = PowerLossFileSystem::unsynced_bytes_at_close();
  PointStoreOptions options;
  options.write_buffer_bytes = 64 << 10;  // many flushes, and compactions of their files
  for (int round = 0; round < 3; ++round) {
    auto store = PointStore::Open(dir.path(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    for (int b = 0; b < 40; ++b) {
      std::vector<Mutation> batch;
      for (int k = 0; k < 50; ++k) batch.push_back(Upsert(1 + (round * 40 + b) * 50 + k));
      uint64_t last = 0;
      ASSERT_TRUE((*store)->Write(batch, /*sync=*/true, &last).ok());
    }
    ASSERT_TRUE((*store)->Flush().ok());
    ASSERT_EQ((*store)->last_sequence(), static_cast<uint64_t>((round + 1) * 2000));
    for (uint64_t id = 1; id <= (*store)->last_sequence(); id += 97) {
      auto got = (*store)->Get(PointId::Num(id));
      ASSERT_TRUE(got.ok() && got->has_value()) << id;
    }
  }
  ::unsetenv(kPowerLossEnvVar);
  EXPECT_EQ(PowerLossFileSystem::unsynced_bytes_at_close() - before, 0u);
}

}  // namespace
}  // namespace vj

// PointStore on a full disk: a small tmpfs (needs root to mount; skipped otherwise) filled by a filler
// file. Writes are refused with a disk-full error, reads go on, writes resume once space is back, and
// nothing acknowledged is lost.
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/point_store.h"

namespace vj {
namespace {

// A tmpfs of `mib` MiB mounted on a fresh directory, unmounted on destruction.
class SmallDisk {
 public:
  explicit SmallDisk(int mib) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vj_disk_full_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
    const std::string size = "size=" + std::to_string(mib) + "m";
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, size.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  bool mounted() const { return mounted_; }
  const std::string& path() const { return path_; }
  // Writes a file until the disk is full.
  void Fill() {
    std::ofstream f(path_ + "/filler", std::ios::binary);
    const std::string chunk(1 << 16, 'f');
    while (f.write(chunk.data(), chunk.size())) {
    }
  }
  void Free() { std::filesystem::remove(path_ + "/filler"); }

 private:
  std::string path_;
  bool mounted_ = false;
};

Mutation Upsert(int64_t id) {
  Mutation m;
  m.record.id = PointId::Num(static_cast<uint64_t>(id));
  m.record.vectors[""] = std::vector<float>(256, static_cast<float>(id));
  return m;
}

// Writes single points until one fails; returns the ids acknowledged and the first error.
Status WriteUntilRefused(PointStore& store, int64_t& next, std::vector<int64_t>& acknowledged) {
  for (int i = 0; i < 100000; ++i) {
    Status s = store.Write({Upsert(next)}, /*sync=*/true, nullptr);
    if (!s.ok()) return s;
    acknowledged.push_back(next++);
  }
  return absl::OkStatus();
}

void ExpectAllPresent(PointStore& store, const std::vector<int64_t>& ids) {
  for (int64_t id : ids) {
    auto got = store.Get(PointId::Num(static_cast<uint64_t>(id)));
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->has_value()) << "acknowledged point " << id << " is missing";
  }
}

// min_free_bytes = 0 lets RocksDB itself meet ENOSPC (its WAL append fails and it stops taking writes);
// a reserve refuses the write before RocksDB sees it. Both must refuse, keep reads and resume.
class PointStoreDiskFullTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(PointStoreDiskFullTest, RefusesWritesKeepsReadsResumesLosesNothing) {
  SmallDisk disk(64);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs (needs root)";
  const std::string dir = disk.path() + "/store";
  PointStoreOptions options;
  options.write_buffer_bytes = 1 << 20;
  options.min_free_bytes = GetParam();
  std::vector<int64_t> acknowledged;
  int64_t next = 1;
  {
    auto opened = PointStore::Open(dir, options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    PointStore& store = **opened;
    for (; next <= 50; ++next) {
      ASSERT_TRUE(store.Write({Upsert(next)}, true, nullptr).ok());
      acknowledged.push_back(next);
    }
    disk.Fill();
    Status refused = WriteUntilRefused(store, next, acknowledged);
    ASSERT_FALSE(refused.ok()) << "the disk never filled up";
    EXPECT_TRUE(IsDiskFull(refused)) << refused;
    EXPECT_NE(StatusMessage(refused).find("disk full"), std::string::npos) << refused;
    EXPECT_TRUE(store.write_blocked());
    EXPECT_GE(PointStore::WriteBlockedStores(), 1u);
    // Refused again, and reads go on.
    Status again = store.Write({Upsert(next)}, true, nullptr);
    EXPECT_TRUE(IsDiskFull(again)) << again;
    ExpectAllPresent(store, acknowledged);

    disk.Free();
    // Reopening backs off up to a few seconds between tries.
    Status resumed = absl::UnknownError("not tried");
    for (int i = 0; i < 200 && !resumed.ok(); ++i) {
      resumed = store.Write({Upsert(next)}, true, nullptr);
      if (!resumed.ok()) ::usleep(50'000);
    }
    ASSERT_TRUE(resumed.ok()) << resumed;
    acknowledged.push_back(next++);
    EXPECT_FALSE(store.write_blocked());
    ExpectAllPresent(store, acknowledged);
  }
  auto reopened = PointStore::Open(dir, options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ExpectAllPresent(**reopened, acknowledged);
  EXPECT_EQ((*reopened)->last_sequence(), acknowledged.size());
}

INSTANTIATE_TEST_SUITE_P(Reserve, PointStoreDiskFullTest, ::testing::Values(0, 4ull << 20));

}  // namespace
}  // namespace vj

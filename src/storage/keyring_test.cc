#include "storage/keyring.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/durable_file.h"
#include "core/payload.h"
#include "core/test_dir.h"
#include "gtest/gtest.h"
#include "storage/point_store.h"

namespace vj {
namespace {
namespace fs = std::filesystem;

MasterKey Key(char fill) {
  auto key = ParseMasterKey(std::string(64, fill), "test");
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file under dir and its bytes.
std::map<std::string, std::string> Tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = Slurp(e.path().string());
  }
  return out;
}

// Unregisters the directories a test registered: the registry is process-wide.
class KeyringTest : public ::testing::Test {
 protected:
  void TearDown() override {
    UnregisterDirectoryKey(dir_.path());
    UnregisterDirectoryKey(dir_.File("collections/c"));
  }
  TestDir dir_;
};

TEST(MasterKeyTest, ParsesHexAndRawAndRefusesOthers) {
  auto hex = ParseMasterKey(std::string(64, 'a') + "\n", "k");
  ASSERT_TRUE(hex.ok());
  auto raw = ParseMasterKey(std::string(32, '\xaa'), "k");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(hex->bytes, raw->bytes);
  EXPECT_EQ(hex->id, raw->id);
  EXPECT_EQ(hex->id.size(), 16u);
  EXPECT_FALSE(ParseMasterKey("short", "k").ok());
  EXPECT_FALSE(ParseMasterKey(std::string(64, 'g'), "k").ok());
}

TEST(MasterKeyTest, KeyFileMustBeOwnerOnly) {
  TestDir dir;
  const std::string path = dir.File("master.key");
  std::ofstream(path) << std::string(64, 'b') << "\n";
  ::chmod(path.c_str(), 0644);
  auto refused = LoadMasterKeyFile(path);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("0644"), std::string::npos) << refused.status();
  ::chmod(path.c_str(), 0600);
  auto loaded = LoadMasterKeyFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->bytes, Key('b').bytes);
  EXPECT_FALSE(LoadMasterKeyFile(dir.File("absent")).ok());
  // A symbolic link to a good key file is refused: the file checked must be the file read.
  const std::string link = dir.File("link.key");
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  auto linked = LoadMasterKeyFile(link);
  ASSERT_EQ(linked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(linked.status().message().find("symbolic link"), std::string::npos) << linked.status();
}

TEST(MasterKeyTest, CommandOutputIsTheKey) {
  auto key = LoadMasterKeyCommand("echo " + std::string(64, 'c'));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->bytes, Key('c').bytes);
  EXPECT_FALSE(LoadMasterKeyCommand("exit 3").ok());
}

TEST_F(KeyringTest, WrongMasterKeyIsRefusedAndChangesNothing) {
  auto ring = Keyring::Open(dir_.path(), Key('1'));
  ASSERT_TRUE(ring.ok()) << ring.status();
  fs::create_directories(dir_.File("collections/c"));
  ASSERT_TRUE((*ring)->CreateCollectionKey(dir_.File("collections/c")).ok());
  ASSERT_TRUE(WriteFileDurably(dir_.File("collections/c/config.json"), "{\"secret\":1}").ok());
  EXPECT_EQ(Slurp(dir_.File("collections/c/config.json")).find("secret"), std::string::npos);
  const std::string keys = Slurp(dir_.File("keys.json"));
  EXPECT_NE(keys.find((*ring)->master_key_id()), std::string::npos);
  TearDown();

  const auto before = Tree(dir_.path());
  auto wrong = Keyring::Open(dir_.path(), Key('2'));
  ASSERT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find("does not open"), std::string::npos) << wrong.status();
  EXPECT_EQ(Tree(dir_.path()), before);
  EXPECT_EQ(DirectoryKeyFor(dir_.File("aliases.json")), nullptr);

  // With the right key, the config reads back.
  ASSERT_TRUE(Keyring::Open(dir_.path(), Key('1')).ok());
  auto config = ReadDurableFile(dir_.File("collections/c/config.json"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config, "{\"secret\":1}");
  EXPECT_FALSE(CheckDataDirNotEncrypted(dir_.path()).ok());
}

TEST_F(KeyringTest, EncryptionIsRefusedOverPlaintextData) {
  fs::create_directories(dir_.File("collections/c"));
  std::ofstream(dir_.File("collections/c/config.json")) << "{}";
  const auto before = Tree(dir_.path());
  auto refused = Keyring::Open(dir_.path(), Key('1'));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Tree(dir_.path()), before);
  EXPECT_TRUE(CheckDataDirNotEncrypted(dir_.path()).ok());
}

TEST_F(KeyringTest, AnyFileCountsAsPlaintextDataButEmptyDirectoriesDoNot) {
  fs::create_directories(dir_.File("collections"));
  fs::create_directories(dir_.File("snapshots"));
  {
    TestDir other;
    fs::create_directories(other.File("replicas/c@1/0/store"));
    std::ofstream(other.File("replicas/c@1/0/store/CURRENT")) << "MANIFEST-000001\n";
    const auto before = Tree(other.path());
    EXPECT_EQ(Keyring::Open(other.path(), Key('1')).status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(Tree(other.path()), before);
  }
  ASSERT_TRUE(Keyring::Open(dir_.path(), Key('1')).ok());
  EXPECT_TRUE(fs::exists(dir_.File("keys.json")));
}

TEST_F(KeyringTest, RotateMasterRewrapsWithoutTouchingData) {
  {
    auto ring = Keyring::Open(dir_.path(), Key('1'));
    ASSERT_TRUE(ring.ok());
    fs::create_directories(dir_.File("collections/c"));
    ASSERT_TRUE((*ring)->CreateCollectionKey(dir_.File("collections/c")).ok());
    ASSERT_TRUE(WriteFileDurably(dir_.File("collections/c/config.json"), "{\"x\":2}").ok());
    TearDown();
  }
  const std::string data_before = Slurp(dir_.File("collections/c/config.json"));
  size_t rotated = 0;
  // A wrong old key changes nothing.
  const auto before = Tree(dir_.path());
  EXPECT_FALSE(RotateMasterKey(dir_.path(), Key('3'), Key('2'), &rotated).ok());
  EXPECT_EQ(Tree(dir_.path()), before);

  ASSERT_TRUE(RotateMasterKey(dir_.path(), Key('1'), Key('2'), &rotated).ok());
  EXPECT_EQ(rotated, 2u);
  EXPECT_EQ(Slurp(dir_.File("collections/c/config.json")), data_before);
  EXPECT_FALSE(Keyring::Open(dir_.path(), Key('1')).ok());
  ASSERT_TRUE(Keyring::Open(dir_.path(), Key('2')).ok());
  auto config = ReadDurableFile(dir_.File("collections/c/config.json"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config, "{\"x\":2}");
  // Running it again (an interrupted rotation finished) changes nothing more.
  ASSERT_TRUE(RotateMasterKey(dir_.path(), Key('1'), Key('2'), &rotated).ok());
  EXPECT_EQ(rotated, 0u);
}

TEST_F(KeyringTest, PointStoreFilesAreEncrypted) {
  ASSERT_TRUE(Keyring::Open(dir_.path(), Key('1')).ok());
  const std::string store_dir = dir_.File("store");
  const std::string marker = "marker-payload-7f3a9c";
  {
    auto store = PointStore::Open(store_dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<Mutation> batch(1);
    batch[0].record.id = PointId::Num(42);
    batch[0].record.vectors[""] = {1234.5f, 6789.25f};
    batch[0].record.payload["text"] = marker;
    uint64_t last = 0;
    ASSERT_TRUE((*store)->Write(batch, true, &last).ok());
  }
  {
    // Reopened: the WAL replays through the cipher; then flushed to an SST.
    auto store = PointStore::Open(store_dir, {});
    ASSERT_TRUE(store.ok()) << store.status();
    auto got = (*store)->Get(PointId::Num(42));
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->payload.at("text").as_string(), marker);
    ASSERT_TRUE((*store)->Flush().ok());
  }
  const float v = 1234.5f;
  const std::string vector_bytes(reinterpret_cast<const char*>(&v), sizeof(v));
  size_t files = 0;
  for (const auto& [path, bytes] : Tree(store_dir)) {
    ++files;
    EXPECT_EQ(bytes.find(marker), std::string::npos) << path;
    EXPECT_EQ(bytes.find(vector_bytes), std::string::npos) << path;
  }
  EXPECT_GT(files, 3u);
  // Without the key RocksDB cannot read its own files.
  UnregisterDirectoryKey(dir_.path());
  EXPECT_FALSE(PointStore::Open(store_dir, {}).ok());
}

}  // namespace
}  // namespace vj

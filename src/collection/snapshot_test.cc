#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <fstream>
#include <sstream>

#include "collection/collection_config.h"
#include "collection/database.h"
#include "collection/snapshot_archive.h"
#include "collection/snapshot_manifest.h"
#include "collection/snapshot_store.h"
#include "core/test_dir.h"

namespace vj {
namespace {
namespace fs = std::filesystem;

void WriteText(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

TEST(SnapshotManifestTest, RoundTripsAndRefusesUnknownVersions) {
  SnapshotManifest m;
  m.collection = "c";
  m.created_at = "2026-12-07T10:00:00";
  m.config = boost::json::object{{"vectors", boost::json::object{{"size", 2}, {"distance", "Dot"}}}};
  m.shards = {{0, 17}, {1, 4}};
  auto back = DecodeSnapshotManifest(EncodeSnapshotManifest(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->collection, "c");
  ASSERT_EQ(back->shards.size(), 2u);
  EXPECT_EQ(back->shards[0].sequence, 17u);
  EXPECT_EQ(back->shards[1].sequence, 4u);
  EXPECT_EQ(back->config, m.config);

  std::string text = EncodeSnapshotManifest(m);
  const std::string v2 = text.replace(text.find("\"format_version\":1"), 18, "\"format_version\":2");
  auto refused = DecodeSnapshotManifest(v2);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(refused.status().message()).find("format_version 2"), std::string::npos);
  EXPECT_FALSE(DecodeSnapshotManifest("{}").ok());
  EXPECT_FALSE(DecodeSnapshotManifest("[1]").ok());
  EXPECT_FALSE(DecodeSnapshotManifest(R"({"format_version":1,"kind":"collection","created_at":"x",
      "collection":"c","config":{},"shards":[{"shard":1,"sequence":0}]})").ok());  // shard 1 first
}

TEST(SnapshotArchiveTest, WritesExtractsAndChecksums) {
  TestDir dir;
  WriteText(dir.File("src/a"), "alpha");
  WriteText(dir.File("src/sub/b"), std::string(3 << 20, 'b'));  // several blocks
  auto files = FilesUnder(dir.File("src"), "x/");
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[1].name, "x/sub/b");
  auto checksum = WriteSnapshotArchive(dir.File("out.tar"), *files);
  ASSERT_TRUE(checksum.ok()) << checksum.status();
  EXPECT_EQ(*checksum, *Sha256OfFile(dir.File("out.tar")));
  EXPECT_EQ(checksum->size(), 64u);
  ASSERT_TRUE(ExtractSnapshotArchive(dir.File("out.tar"), dir.File("dest"), {}).ok());
  EXPECT_EQ(ReadText(dir.File("dest/x/a")), "alpha");
  EXPECT_EQ(ReadText(dir.File("dest/x/sub/b")), std::string(3 << 20, 'b'));
  // The archive's writer refuses to overwrite.
  EXPECT_FALSE(WriteSnapshotArchive(dir.File("out.tar"), *files).ok());

  // Limits: content and allowed names.
  ExtractLimits small;
  small.max_bytes = 1 << 20;
  auto over = ExtractSnapshotArchive(dir.File("out.tar"), dir.File("dest2"), small);
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument) << over;
  ExtractLimits only_a;
  only_a.allowed = [](std::string_view name) { return name == "x/a"; };
  EXPECT_EQ(ExtractSnapshotArchive(dir.File("out.tar"), dir.File("dest3"), only_a).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotArchiveTest, RefusesTruncatedCorruptAndEscapingArchives) {
  TestDir dir;
  WriteText(dir.File("big"), std::string(100000, 'z'));
  ASSERT_TRUE(WriteSnapshotArchive(dir.File("ok.tar"), {{"big", dir.File("big")}}).ok());
  const std::string bytes = ReadText(dir.File("ok.tar"));
  WriteText(dir.File("truncated.tar"), bytes.substr(0, bytes.size() / 2));
  auto truncated = ExtractSnapshotArchive(dir.File("truncated.tar"), dir.File("d1"), {});
  EXPECT_EQ(truncated.code(), absl::StatusCode::kInvalidArgument) << truncated;
  WriteText(dir.File("garbage.tar"), std::string(4096, '\x7f'));
  EXPECT_EQ(ExtractSnapshotArchive(dir.File("garbage.tar"), dir.File("d2"), {}).code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* evil : {"../evil", "/etc/evil", "a/../../evil", "a//b", "a/./b"}) {
    const std::string path = dir.File(std::string("evil-") + std::to_string(std::hash<std::string>{}(evil)));
    ASSERT_TRUE(WriteSnapshotArchive(path, {{evil, dir.File("big")}}).ok());
    auto refused = ExtractSnapshotArchive(path, dir.File("d3"), {});
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << evil << ": " << refused;
    fs::remove_all(dir.File("d3"));
  }
  EXPECT_FALSE(fs::exists(dir.File("evil")));
}

TEST(SnapshotNameTest, RefusesNamesOutsideTheDirectory) {
  EXPECT_TRUE(ValidateSnapshotName("c-2026-12-07-10-00-00.snapshot").ok());
  for (const char* bad : {"", "../x.snapshot", "a/b.snapshot", ".hidden.snapshot", "x.tar", "..",
                          "a\\b.snapshot", "a%2Fb.snapshot"}) {
    EXPECT_EQ(ValidateSnapshotName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

CollectionConfig Config(uint32_t shards) {
  CollectionConfig config;
  config.vectors[""] = VectorParams{2, Metric::kEuclid, std::nullopt, false, std::nullopt};
  config.shard_number = shards;
  return config;
}

std::vector<PointInput> Points(int from, int to) {
  std::vector<PointInput> points;
  for (int i = from; i < to; ++i) {
    PointInput p;
    p.id = PointId::Num(i);
    p.vectors[""] = {static_cast<float>(i), 1};
    points.push_back(std::move(p));
  }
  return points;
}

TEST(SnapshotStoreTest, SnapshotRecoversIntoAnotherCollectionAndCorruptionChangesNothing) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.path();
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->CreateCollection("a", Config(3)).ok());
  ASSERT_TRUE((*(*db)->Get("a"))->Upsert(Points(0, 100), true, RequestContext()).ok());
  SnapshotStore store(**db, {});
  auto info = store.Create("a");
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(info->checksum.has_value());
  std::string path;
  ASSERT_TRUE(store.Find("a", info->name, &path).ok());
  EXPECT_EQ(*info->checksum, *Sha256OfFile(path));
  // Writes after the snapshot are not in it.
  ASSERT_TRUE((*(*db)->Get("a"))->Upsert(Points(100, 150), true, RequestContext()).ok());

  Status recovered = store.RecoverFromLocation("b", "file://" + path, info->checksum);
  ASSERT_TRUE(recovered.ok()) << recovered;
  EXPECT_EQ((*(*db)->Get("b"))->Info().points_count, 100u);
  EXPECT_EQ((*(*db)->Get("b"))->config().shard_number, 3u);

  // Recovering over an existing collection replaces it.
  recovered = store.RecoverFromLocation("a", "file://" + path, std::nullopt);
  ASSERT_TRUE(recovered.ok()) << recovered;
  EXPECT_EQ((*(*db)->Get("a"))->Info().points_count, 100u);

  // A wrong checksum, a truncated and a corrupt archive: refused, "b" unchanged.
  ASSERT_TRUE((*(*db)->Get("b"))->Upsert(Points(500, 510), true, RequestContext()).ok());
  EXPECT_EQ(store.RecoverFromLocation("b", "file://" + path, std::string(64, '0')).code(),
            absl::StatusCode::kInvalidArgument);
  const std::string bytes = ReadText(path);
  WriteText(dir.File("snapshots/a/cut.snapshot"), bytes.substr(0, bytes.size() - 3000));
  EXPECT_EQ(store.RecoverFromFile("b", dir.File("snapshots/a/cut.snapshot"), std::nullopt).code(),
            absl::StatusCode::kInvalidArgument);
  std::string flipped = bytes;
  for (size_t i = 0; i < 512; ++i) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);  // the manifest's header
  WriteText(dir.File("flipped.snapshot"), flipped);
  EXPECT_EQ(store.RecoverFromFile("b", dir.File("flipped.snapshot"), std::nullopt).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*(*db)->Get("b"))->Info().points_count, 110u);
  // file:// outside the snapshots directory, and other schemes.
  EXPECT_EQ(store.RecoverFromLocation("b", "file://" + dir.File("flipped.snapshot"), std::nullopt).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.RecoverFromLocation("b", "file://" + dir.File("snapshots/../flipped.snapshot"), std::nullopt).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.RecoverFromLocation("b", "ftp://x/y", std::nullopt).code(), absl::StatusCode::kInvalidArgument);

  auto list = store.List("a");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);  // the snapshot and cut.snapshot (no checksum)
  ASSERT_TRUE(store.Delete("a", info->name).ok());
  EXPECT_EQ(store.Delete("a", info->name).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(path + ".checksum"));
  EXPECT_EQ(store.Delete("a", "../b.snapshot").code(), absl::StatusCode::kInvalidArgument);
}

// While a recovery replaces a collection, readers never find it missing: each Get answers the old
// collection or the new one, and the swap finishes even though readers keep taking it.
TEST(SnapshotStoreTest, ReplacementIsAtomicForConcurrentReaders) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.path();
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->CreateCollection("src", Config(2)).ok());
  ASSERT_TRUE((*(*db)->Get("src"))->Upsert(Points(0, 300), true, RequestContext()).ok());
  ASSERT_TRUE((*db)->CreateCollection("live", Config(1)).ok());
  ASSERT_TRUE((*(*db)->Get("live"))->Upsert(Points(0, 10), true, RequestContext()).ok());
  SnapshotStore store(**db, {});
  auto info = store.Create("src");
  ASSERT_TRUE(info.ok()) << info.status();
  std::string path;
  ASSERT_TRUE(store.Find("src", info->name, &path).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> missing{0};
  std::atomic<int> reads{0};
  std::set<uint64_t> seen_counts;
  std::mutex seen_mu;
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto c = (*db)->Get("live");
        if (!c.ok()) {
          ++missing;
          continue;
        }
        const uint64_t n = (*c)->Info().points_count;
        ++reads;
        std::lock_guard<std::mutex> lock(seen_mu);
        seen_counts.insert(n);
      }
    });
  }
  while (reads.load() < 100) std::this_thread::yield();
  for (int round = 0; round < 3; ++round) {
    Status recovered = store.RecoverFromLocation("live", "file://" + path, info->checksum);
    ASSERT_TRUE(recovered.ok()) << recovered;
  }
  const int before_stop = reads.load();
  while (reads.load() < before_stop + 100) std::this_thread::yield();  // readers go on afterwards
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(seen_counts, (std::set<uint64_t>{10, 300}));
  EXPECT_EQ((*(*db)->Get("live"))->config().shard_number, 2u);
  EXPECT_EQ((*db)->List(), (std::vector<std::string>{"live", "src"}));
  // No staged or replaced directory is left behind.
  for (const auto& entry : fs::directory_iterator(dir.File("collections"))) {
    EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path();
  }
}

TEST(SnapshotStoreTest, FullSnapshotNestsEveryCollectionAndLeftoversAreRemoved) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.path();
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->CreateCollection("a", Config(1)).ok());
  ASSERT_TRUE((*db)->CreateCollection("b", Config(2)).ok());
  ASSERT_TRUE((*(*db)->Get("b"))->Upsert(Points(0, 10), true, RequestContext()).ok());
  {
    SnapshotStore store(**db, {});
    auto full = store.CreateFull();
    ASSERT_TRUE(full.ok()) << full.status();
    ASSERT_TRUE(ExtractSnapshotArchive(dir.File("snapshots/" + full->name), dir.File("x"), {}).ok());
    auto manifest = DecodeSnapshotManifest(ReadText(dir.File("x/manifest.json")));
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    ASSERT_EQ(manifest->collections.size(), 2u);
    EXPECT_EQ(manifest->collections[1].name, "b");
    const std::string nested = dir.File("snapshots/b/nested.snapshot");
    fs::create_directories(dir.File("snapshots/b"));
    fs::copy_file(dir.File("x/" + manifest->collections[1].path), nested);
    ASSERT_TRUE(store.RecoverFromLocation("c", "file://" + nested, manifest->collections[1].checksum).ok());
    EXPECT_EQ((*(*db)->Get("c"))->Info().points_count, 10u);
    ASSERT_EQ(store.List("").value().size(), 1u);
    // Background snapshots still being built when the store is destroyed are waited for.
    ASSERT_TRUE(store.CreateInBackground("b").ok());
    ASSERT_TRUE(store.CreateFullInBackground().ok());
  }
  size_t in_b = 0;
  for (const auto& entry : fs::directory_iterator(dir.File("snapshots/b"))) {
    in_b += entry.path().extension() == ".snapshot";
  }
  EXPECT_EQ(in_b, 2u);  // nested.snapshot and the background one
  // A snapshot interrupted by a crash: a temporary file and a checksum without its snapshot.
  WriteText(dir.File("snapshots/a/.tmp-a-1.snapshot"), "half");
  WriteText(dir.File("snapshots/a/a-1.snapshot.checksum"), std::string(64, 'f'));
  SnapshotStore store(**db, {});
  EXPECT_FALSE(fs::exists(dir.File("snapshots/a/.tmp-a-1.snapshot")));
  EXPECT_FALSE(fs::exists(dir.File("snapshots/a/a-1.snapshot.checksum")));
  EXPECT_TRUE(store.List("a").value().empty());
  EXPECT_EQ(store.List("").value().size(), 2u);  // the first full snapshot and the background one
}

}  // namespace
}  // namespace vj

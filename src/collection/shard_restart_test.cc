// Restarting a shard without a clean shutdown (as after kill -9): it loads the newest index snapshot
// and replays the log written since, or rebuilds when the snapshot cannot be brought up to date.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "collection/shard.h"
#include "core/test_dir.h"
#include "storage/point_store.h"

namespace vj {
namespace {

constexpr size_t kDim = 8;

CollectionConfig Config() {
  CollectionConfig config;
  config.vectors[""] = VectorParams{kDim, Metric::kEuclid, std::nullopt, false, std::nullopt};
  config.hnsw.full_scan_threshold_kb = 0;
  config.payload_schema["group"] = PayloadSchemaType::kInteger;
  return config;
}

std::vector<PointInput> Points(uint64_t first, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<PointInput> points(n);
  for (size_t i = 0; i < n; ++i) {
    points[i].id = PointId::Num(first + i);
    points[i].vectors[""].resize(kDim);
    for (float& v : points[i].vectors[""]) v = normal(rng);
    points[i].payload["group"] = static_cast<int64_t>((first + i) % 10);
  }
  return points;
}

Filter GroupIs(int64_t group) {
  Filter filter;
  FieldCondition c;
  c.key = "group";
  c.path = *ParsePayloadPath("group");
  c.match = MatchCondition{MatchCondition::Kind::kValue, {MatchValue(group)}, ""};
  filter.must.push_back(c);
  return filter;
}

// Everything a client can see of a shard: every point with payload and vectors, and exact searches
// with and without a filter answered by the payload index.
struct Visible {
  std::vector<std::string> points;
  std::vector<std::vector<uint64_t>> nearest;
  bool operator==(const Visible&) const = default;
};

Visible Observe(Shard& shard) {
  Visible out;
  ScrollRequest scroll;
  scroll.limit = 100000;
  scroll.with_vector.all = true;
  auto all = shard.Scroll(scroll);
  EXPECT_TRUE(all.ok()) << all.status();
  for (const PointView& p : all->points) {
    std::string line = p.id.ToString() + " " + boost::json::serialize(*p.payload);
    for (float v : p.vectors.at("")) line += " " + std::to_string(v);
    out.points.push_back(line);
  }
  for (uint64_t q = 0; q < 8; ++q) {
    QueryRequest request;
    request.vector = Points(900000 + q, 1, q)[0].vectors.at("");
    request.limit = 10;
    request.exact = true;
    if (q % 2 == 1) request.filter = GroupIs(static_cast<int64_t>(q));
    auto found = shard.Query(request);
    EXPECT_TRUE(found.ok()) << found.status();
    std::vector<uint64_t> ids;
    for (const PointView& p : *found) ids.push_back(p.id.num());
    out.nearest.push_back(ids);
  }
  return out;
}

class ShardRestartTest : public ::testing::Test {
 protected:
  // Snapshots only when asked (SaveIndexSnapshot, which the background thread calls), and none at
  // close: closing stands for kill -9 (queued writes are durable in the store either way).
  std::unique_ptr<Shard> Open(const std::string& dir, CollectionOptions options = Crashing()) {
    auto s = Shard::Open("restart", dir, Config(), options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static CollectionOptions Crashing() {
    CollectionOptions options;
    options.index_snapshot_every_mutations = 0;
    options.index_snapshot_interval_s = 0;
    options.index_snapshot_on_close = false;
    return options;
  }
  // A copy of the shard whose indexes are rebuilt from the store.
  Visible Rebuilt() {
    const std::string copy = dir_.path() + "/rebuilt";
    std::filesystem::remove_all(copy);
    std::filesystem::copy(shard_dir(), copy, std::filesystem::copy_options::recursive);
    std::filesystem::remove_all(copy + "/index");
    auto shard = Open(copy);
    EXPECT_FALSE(shard->loaded_from_snapshot());
    return Observe(*shard);
  }
  // Writes after the snapshot: new points, deletes, vector and payload updates.
  void WriteTail(Shard& shard) {
    ASSERT_TRUE(shard.Upsert(Points(2000, 300, 7), true).ok());
    PointSelector gone;
    for (uint64_t id = 0; id < 100; ++id) gone.ids.push_back(PointId::Num(id * 3));
    ASSERT_TRUE(shard.Delete(gone, true).ok());
    ASSERT_TRUE(shard.Upsert(Points(1, 50, 8), true).ok());  // new vectors for 1..50
    PointSelector some;
    some.ids = {PointId::Num(400), PointId::Num(401), PointId::Num(2100)};
    Payload moved;
    moved["group"] = int64_t{7};
    moved["note"] = "moved";
    ASSERT_TRUE(shard.UpdatePayload(PayloadUpdate::kSet, some, moved, {}, std::nullopt, true).ok());
    PointSelector cleared;
    cleared.ids = {PointId::Num(402)};
    ASSERT_TRUE(shard.UpdatePayload(PayloadUpdate::kClear, cleared, {}, {}, std::nullopt, true).ok());
    PointSelector by_filter;
    by_filter.filter = GroupIs(5);  // deletes by filter too
    ASSERT_TRUE(shard.Delete(by_filter, true).ok());
  }
  std::string shard_dir() const { return dir_.path() + "/shard"; }
  TestDir dir_;
};

TEST_F(ShardRestartTest, CrashAfterASnapshotReplaysOnlyTheTailAndMatchesARebuild) {
  uint64_t snapshot_at = 0, last = 0;
  Visible before;
  {
    auto shard = Open(shard_dir());
    for (uint64_t first = 0; first < 2000; first += 250) ASSERT_TRUE(shard->Upsert(Points(first, 250, first), true).ok());
    ASSERT_TRUE(shard->SaveIndexSnapshot().ok());
    snapshot_at = shard->index_snapshot_sequence();
    EXPECT_EQ(snapshot_at, shard->last_sequence());
    WriteTail(*shard);
    last = shard->last_sequence();
    before = Observe(*shard);
  }
  ASSERT_GT(last, snapshot_at);
  auto shard = Open(shard_dir());
  EXPECT_TRUE(shard->loaded_from_snapshot());
  EXPECT_EQ(shard->replayed_log_entries(), last - snapshot_at);
  EXPECT_EQ(shard->index_snapshot_sequence(), snapshot_at);
  const Visible after = Observe(*shard);
  EXPECT_EQ(after.points.size(), before.points.size());
  EXPECT_TRUE(after == before);
  EXPECT_TRUE(after == Rebuilt());
  // The payload update and the deletes of the tail are there.
  auto got = shard->Retrieve({PointId::Num(400), PointId::Num(402), PointId::Num(297), PointId::Num(5)},
                             {PayloadSelector::Mode::kAll, {}}, {});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].payload->at("note").as_string(), "moved");
  EXPECT_TRUE((*got)[1].payload->empty());
  // Approximate search finds the replayed vectors (the graph holds them): each tail point is its own
  // nearest neighbour.
  const std::vector<PointInput> tail = Points(2000, 300, 7);
  size_t asked = 0, found_self = 0;
  for (size_t i = 10; i < 40; ++i) {
    if (tail[i].id.num() % 10 == 5) continue;  // deleted by the filter
    QueryRequest request;
    request.vector = tail[i].vectors.at("");
    request.limit = 1;
    auto found = shard->Query(request);
    ASSERT_TRUE(found.ok());
    ++asked;
    if (!found->empty() && (*found)[0].id == tail[i].id) ++found_self;
  }
  EXPECT_GE(found_self + 1, asked);
  // Writes after a replayed load go on and survive the next crash.
  ASSERT_TRUE(shard->Upsert(Points(5000, 10, 9), true).ok());
  const uint64_t count = shard->Info().points_count;
  shard.reset();
  shard = Open(shard_dir());
  EXPECT_TRUE(shard->loaded_from_snapshot());
  EXPECT_EQ(shard->Info().points_count, count);
}

TEST_F(ShardRestartTest, BackgroundSnapshotsRunWhileWritesGoOnAndARestartReplaysAfterThem) {
  CollectionOptions options = Crashing();
  options.index_snapshot_every_mutations = 300;
  Visible before;
  uint64_t last = 0;
  {
    auto shard = Open(shard_dir(), options);
    // Writers race the snapshots: a snapshot copies the id map while batches are half applied.
    std::vector<std::thread> writers;
    for (uint64_t w = 0; w < 3; ++w) {
      writers.emplace_back([&shard, w] {
        for (uint64_t i = 0; i < 40; ++i) {
          const uint64_t first = (w * 40 + i) * 25;
          EXPECT_TRUE(shard->Upsert(Points(first, 25, first), true).ok());
          if (i % 4 == 3) {
            PointSelector gone;
            gone.ids = {PointId::Num(first), PointId::Num(first - 40)};
            EXPECT_TRUE(shard->Delete(gone, true).ok());
            EXPECT_TRUE(shard->Upsert(Points(first + 1, 3, first + 7), true).ok());
          }
        }
      });
    }
    for (auto& t : writers) t.join();
    // Wait (on the condition, not a sleep) for a background snapshot.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (shard->index_snapshot_sequence() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GT(shard->index_snapshot_sequence(), 0u);
    // Usually replayed at the next open; a background snapshot that the writers' last mutations set
    // off may still cover it (replay is then empty: the other tests here check replays exactly).
    ASSERT_TRUE(shard->Upsert(Points(10000, 20, 11), true).ok());
    last = shard->last_sequence();
    before = Observe(*shard);
  }
  auto shard = Open(shard_dir());
  EXPECT_TRUE(shard->loaded_from_snapshot());
  EXPECT_EQ(shard->index_snapshot_sequence() + shard->replayed_log_entries(), last);
  EXPECT_TRUE(Observe(*shard) == before);
  EXPECT_TRUE(Observe(*shard) == Rebuilt());
}

TEST_F(ShardRestartTest, CorruptSnapshotFilesAreRebuiltFrom) {
  Visible before;
  {
    auto shard = Open(shard_dir());
    ASSERT_TRUE(shard->Upsert(Points(0, 500, 1), true).ok());
    ASSERT_TRUE(shard->SaveIndexSnapshot().ok());
    WriteTail(*shard);
    before = Observe(*shard);
  }
  for (const auto& entry : std::filesystem::directory_iterator(shard_dir() + "/index")) {
    if (entry.path().extension() != ".hnsw") continue;
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(entry.file_size() / 2));
    f.put('\x55').put('\x7f');
  }
  auto shard = Open(shard_dir());
  EXPECT_FALSE(shard->loaded_from_snapshot());
  EXPECT_TRUE(Observe(*shard) == before);
}

TEST_F(ShardRestartTest, ALogTrimmedPastTheSnapshotMeansARebuild) {
  Visible before;
  {
    auto shard = Open(shard_dir());
    ASSERT_TRUE(shard->Upsert(Points(0, 500, 1), true).ok());
    ASSERT_TRUE(shard->SaveIndexSnapshot().ok());
    WriteTail(*shard);
    before = Observe(*shard);
  }
  {
    auto store = PointStore::Open(shard_dir() + "/store", PointStoreOptions{});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->TrimLog((*store)->last_sequence()).ok());  // no trim floor in this process
  }
  auto shard = Open(shard_dir());
  EXPECT_FALSE(shard->loaded_from_snapshot());
  EXPECT_TRUE(Observe(*shard) == before);
}

TEST_F(ShardRestartTest, AStoreRolledBackBehindTheSnapshotMeansARebuild) {
  uint64_t snapshot_at = 0;
  {
    auto shard = Open(shard_dir());
    ASSERT_TRUE(shard->Upsert(Points(0, 500, 1), true).ok());
    ASSERT_TRUE(shard->Upsert(Points(500, 500, 2), true).ok());
    ASSERT_TRUE(shard->SaveIndexSnapshot().ok());
    snapshot_at = shard->index_snapshot_sequence();
  }
  {
    // What a replica's ResetSequence does to the store, without the shard removing its snapshot (a
    // crash between the two, or a store restored from elsewhere): the store's sequence goes back.
    auto store = PointStore::Open(shard_dir() + "/store", PointStoreOptions{});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->ResetSequence(snapshot_at - 600).ok());
  }
  auto shard = Open(shard_dir());
  EXPECT_FALSE(shard->loaded_from_snapshot());
  EXPECT_EQ(shard->Info().points_count, 1000u);
}

TEST_F(ShardRestartTest, ResetSequenceRemovesTheSnapshotAndLaterOnesCoverTheNewContents) {
  {
    auto shard = Open(shard_dir());
    ASSERT_TRUE(shard->Upsert(Points(0, 500, 1), true).ok());
    ASSERT_TRUE(shard->SaveIndexSnapshot().ok());
    // Loading a primary's snapshot: everything replaced, the sequence set back.
    ASSERT_TRUE(shard->DeleteAllPoints().ok());
    std::vector<Mutation> mutations;
    for (PointInput& p : Points(7000, 40, 3)) {
      Mutation m;
      m.record.id = p.id;
      m.record.vectors = p.vectors;
      m.record.payload = p.payload;
      mutations.push_back(std::move(m));
    }
    ASSERT_TRUE(shard->ApplyMutations(std::move(mutations)).ok());
    ASSERT_TRUE(shard->ResetSequence(100).ok());
    EXPECT_EQ(shard->index_snapshot_sequence(), 0u);
    EXPECT_FALSE(std::filesystem::exists(shard_dir() + "/index"));
    ASSERT_TRUE(shard->SaveIndexSnapshot().ok());
    EXPECT_EQ(shard->index_snapshot_sequence(), 100u);
    ASSERT_TRUE(shard->Upsert(Points(8000, 5, 4), true).ok());
  }
  auto shard = Open(shard_dir());
  EXPECT_TRUE(shard->loaded_from_snapshot());
  EXPECT_EQ(shard->replayed_log_entries(), 5u);
  EXPECT_EQ(shard->Info().points_count, 45u);
}

}  // namespace
}  // namespace vj

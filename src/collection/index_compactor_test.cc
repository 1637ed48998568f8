// The shard's write path under index maintenance and backpressure: writes and searches during a
// background rebuild keep every point; a full write queue refuses wait=false writes and nothing else.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <new>
#include <random>
#include <thread>

#include "collection/index_compactor.h"
#include "collection/shard.h"
#include "core/test_dir.h"

namespace vj {
namespace {

constexpr size_t kDim = 16;

CollectionConfig Config() {
  CollectionConfig config;
  config.vectors[""] = VectorParams{kDim, Metric::kEuclid, std::nullopt, false, std::nullopt};
  config.hnsw.full_scan_threshold_kb = 0;  // searches walk the graph
  return config;
}

PointInput Point(uint64_t id, std::mt19937_64& rng) {
  std::normal_distribution<float> normal;
  PointInput p;
  p.id = PointId::Num(id);
  p.vectors[""].resize(kDim);
  for (float& v : p.vectors[""]) v = normal(rng);
  p.payload["n"] = static_cast<int64_t>(id);
  return p;
}

std::optional<uint64_t> Nearest(const Shard& shard, const std::vector<float>& vector) {
  QueryRequest request;
  request.vector = vector;
  request.limit = 1;
  auto found = shard.Query(request);
  if (!found.ok() || found->empty()) return std::nullopt;
  return (*found)[0].id.num();
}

TEST(IndexCompactorTest, WritesAndSearchesDuringARebuildKeepEveryPoint) {
  TestDir dir;
  auto opened = Shard::Open("s", dir.path(), Config(), CollectionOptions{});
  ASSERT_TRUE(opened.ok()) << opened.status();
  Shard& shard = **opened;
  std::mt19937_64 rng(3);
  std::map<uint64_t, std::vector<float>> expected;
  std::vector<PointInput> points;
  for (uint64_t id = 0; id < 6000; ++id) points.push_back(Point(id, rng));
  for (const PointInput& p : points) expected[p.id.num()] = p.vectors.at("");
  ASSERT_TRUE(shard.Upsert(points, true).ok());
  // New vectors for a third of the points: 2000 tombstones start a rebuild in the background.
  points.clear();
  for (uint64_t id = 0; id < 6000; id += 3) points.push_back(Point(id, rng));
  for (const PointInput& p : points) expected[p.id.num()] = p.vectors.at("");
  ASSERT_TRUE(shard.Upsert(points, true).ok());

  // Write, delete and search while it runs (and a little after).
  size_t searches = 0, misses = 0;
  uint64_t next = 100000;
  for (int round = 0; round < 400 && (shard.compactions() == 0 || round < 50); ++round) {
    std::vector<PointInput> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(Point(next++, rng));
    for (const PointInput& p : batch) expected[p.id.num()] = p.vectors.at("");
    ASSERT_TRUE(shard.Upsert(batch, true).ok());
    PointSelector gone;
    gone.ids = {PointId::Num(1 + 3 * round), PointId::Num(next - 4)};
    for (const PointId& id : gone.ids) expected.erase(id.num());
    ASSERT_TRUE(shard.Delete(gone, true).ok());
    // A point written just now, and an old one, are found by their own vectors.
    for (uint64_t id : {next - 1, uint64_t(2 + 3 * round)}) {
      ++searches;
      misses += Nearest(shard, expected.at(id)) != id;
    }
  }
  shard.WaitForIndexMaintenance();
  EXPECT_GE(shard.compactions(), 1u);
  EXPECT_LE(misses * 100, searches) << misses << " of " << searches << " searches missed";

  EXPECT_EQ(shard.Info().points_count, expected.size());
  std::vector<PointId> ids;
  for (const auto& [id, vector] : expected) ids.push_back(PointId::Num(id));
  PayloadSelector no_payload;
  VectorSelector with_vector;
  with_vector.all = true;
  auto got = shard.Retrieve(ids, no_payload, with_vector);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), expected.size());
  for (const PointView& view : *got) {
    EXPECT_EQ(view.vectors.at(""), expected.at(view.id.num())) << view.id.ToString();
  }
  size_t found = 0;
  for (const auto& [id, vector] : expected) found += Nearest(shard, vector) == id;
  EXPECT_GE(found * 100, expected.size() * 99) << found << " of " << expected.size();
}

// A seam for rebuilds no real index can be made to do on demand: one that throws (as std::bad_alloc
// would while the fresh graph grows), one that takes a while. Everything else is a real flat index.
class SeamRebuildIndex final : public VectorIndex {
 public:
  using CompactFn = std::function<Status()>;
  SeamRebuildIndex(std::unique_ptr<VectorIndex> inner, CompactFn compact)
      : inner_(std::move(inner)), compact_(std::move(compact)) {}
  void Insert(uint32_t id, const float* v) override { inner_->Insert(id, v); }
  void InsertBatch(const std::vector<uint32_t>& ids, const std::vector<const float*>& vectors,
                   size_t threads) override {
    inner_->InsertBatch(ids, vectors, threads);
  }
  void Remove(uint32_t id) override { inner_->Remove(id); }
  std::vector<Neighbor> Search(const float* query, const SearchParams& params,
                               const IdFilter& filter) const override {
    return inner_->Search(query, params, filter);
  }
  std::vector<Neighbor> SearchAmong(const float* query, size_t k,
                                    const std::vector<uint32_t>& candidates) const override {
    return inner_->SearchAmong(query, k, candidates);
  }
  float DistanceTo(const float* query, uint32_t id) const override { return inner_->DistanceTo(query, id); }
  bool GetVector(uint32_t id, float* out) const override { return inner_->GetVector(id, out); }
  bool Contains(uint32_t id) const override { return inner_->Contains(id); }
  size_t dim() const override { return inner_->dim(); }
  Metric metric() const override { return inner_->metric(); }
  size_t live_count() const override { return inner_->live_count(); }
  size_t memory_bytes() const override { return inner_->memory_bytes(); }
  Status Compact(size_t, const std::atomic<bool>*) override {
    Status s = compact_();
    if (s.ok()) compacted_ = true;
    return s;
  }
  size_t tombstone_count() const override { return compacted_ ? 0 : 100000; }  // due until compacted

 private:
  std::unique_ptr<VectorIndex> inner_;
  const CompactFn compact_;
  std::atomic<bool> compacted_{false};
};

TEST(IndexCompactorTest, ARebuildThatThrowsIsCountedAndTheProcessGoesOn) {
  ShardState state;
  state.vector_indexes[""] = std::make_unique<SeamRebuildIndex>(NewFlatIndex(kDim, Metric::kEuclid),
                                                               []() -> Status { throw std::bad_alloc(); });
  IndexCompactor compactor(state, 1);
  compactor.Poke();
  compactor.WaitIdle();
  EXPECT_EQ(compactor.failures(), 1u);
  EXPECT_EQ(compactor.compactions(), 0u);
  EXPECT_FALSE(compactor.busy());  // not retried in a loop: the next write pokes it again
  compactor.Poke();
  compactor.WaitIdle();
  EXPECT_EQ(compactor.failures(), 2u);
}

TEST(IndexCompactorTest, RebuildsOfManyShardsTakeTurnsInTheNodeWideSlots) {
  // Eight shards due at once, two slots: never more than two rebuilds run, and every one runs.
  auto slots = std::make_shared<RebuildSlots>(2);
  std::atomic<int> running{0}, most{0}, done{0};
  auto slow_rebuild = [&]() -> Status {
    const int now = running.fetch_add(1) + 1;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    running.fetch_sub(1);
    done.fetch_add(1);
    return absl::OkStatus();
  };
  std::vector<std::unique_ptr<ShardState>> states;
  std::vector<std::unique_ptr<IndexCompactor>> compactors;
  for (int i = 0; i < 8; ++i) {
    states.push_back(std::make_unique<ShardState>());
    states.back()->vector_indexes[""] =
        std::make_unique<SeamRebuildIndex>(NewFlatIndex(kDim, Metric::kEuclid), slow_rebuild);
    compactors.push_back(std::make_unique<IndexCompactor>(*states.back(), 1, slots));
  }
  for (auto& c : compactors) c->Poke();
  for (auto& c : compactors) c->WaitIdle();
  EXPECT_EQ(done.load(), 8);
  EXPECT_LE(most.load(), 2);  // 8 without the cap: every rebuild sleeps while the others start
  EXPECT_LE(slots->peak(), 2u);
  EXPECT_EQ(slots->waiting(), 0u);
}

TEST(IndexCompactorTest, AStoppedCompactorWaitingForASlotGivesUpAtOnce) {
  auto slots = std::make_shared<RebuildSlots>(1);
  std::atomic<bool> never{false};
  ASSERT_TRUE(slots->Acquire(never));  // the only slot, held by "another shard"
  ShardState state;
  std::atomic<int> rebuilds{0};
  state.vector_indexes[""] = std::make_unique<SeamRebuildIndex>(NewFlatIndex(kDim, Metric::kEuclid), [&] {
    rebuilds.fetch_add(1);
    return absl::OkStatus();
  });
  auto compactor = std::make_unique<IndexCompactor>(state, 1, slots);
  compactor->Poke();
  while (slots->waiting() == 0) std::this_thread::yield();
  EXPECT_TRUE(compactor->busy());
  compactor.reset();  // Stop: cancels the wait for the slot
  EXPECT_EQ(rebuilds.load(), 0);
  slots->Release();
}

TEST(IndexCompactorTest, FullWriteQueueRefusesAsyncWritesOnly) {
  TestDir dir;
  CollectionOptions options;
  options.write_queue_max_mutations = 100;
  options.write_queue_full_wait_ms = 0;
  auto opened = Shard::Open("s", dir.path(), Config(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Shard& shard = **opened;
  std::mt19937_64 rng(4);
  // A large write keeps the writer busy (admitted alone into the empty queue)...
  std::vector<PointInput> big;
  for (uint64_t id = 0; id < 20000; ++id) big.push_back(Point(id, rng));
  ASSERT_TRUE(shard.Upsert(big, false).ok());
  // ...while small ones fill the queue behind it, until one is refused.
  uint64_t next = 100000, accepted = big.size();
  Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    std::vector<PointInput> batch;
    for (int j = 0; j < 50; ++j) batch.push_back(Point(next++, rng));
    refused = shard.Upsert(batch, false);
    if (refused.ok()) accepted += batch.size();
  }
  ASSERT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_NE(refused.message().find("write queue full"), std::string_view::npos) << refused;
  // A wait=true write still goes through, behind what is queued.
  std::vector<PointInput> last{Point(next++, rng)};
  ASSERT_TRUE(shard.Upsert(last, true).ok());
  ++accepted;
  shard.WaitForQueuedWrites();
  EXPECT_EQ(shard.Info().points_count, accepted);  // nothing refused was written
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST(IndexCompactorTest, WaitTrueWritePastItsDeadlineSaysItMayStillBeApplied) {
  TestDir dir;
  CollectionOptions options;
  options.write_timeout_ms = 1;  // far shorter than indexing 20,000 points
  auto opened = Shard::Open("s", dir.path(), Config(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Shard& shard = **opened;
  std::mt19937_64 rng(5);
  std::vector<PointInput> big;
  for (uint64_t id = 0; id < 20000; ++id) big.push_back(Point(id, rng));
  Status late = shard.Upsert(big, true);
  ASSERT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded) << late;
  EXPECT_NE(late.message().find("may still be applied"), std::string_view::npos) << late;
  shard.WaitForQueuedWrites();  // internal waits have no deadline
  EXPECT_EQ(shard.Info().points_count, big.size());  // it was applied after all
}

}  // namespace
}  // namespace vj

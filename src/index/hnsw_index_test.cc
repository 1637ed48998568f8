#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <unordered_set>
#include <vector>

#include "gtest/gtest.h"
#include "index/vector_index.h"

namespace vj {
namespace {

constexpr size_t kDim = 32;
constexpr size_t kN = 5000;
constexpr size_t kQueries = 200;
constexpr size_t kK = 10;

// Gaussian clusters around fixed centres: closer to real embeddings than uniform noise, and harder for
// a graph (it must bridge clusters). Base and queries share the centres and differ in `seed`.
std::vector<float> ClusteredVectors(size_t n, size_t dim, uint32_t seed) {
  constexpr size_t kClusters = 50;
  std::mt19937 center_rng(1);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> centers(kClusters * dim);
  for (float& x : centers) x = 1.0f * gauss(center_rng);
  std::mt19937 rng(seed);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = rng() % kClusters;
    for (size_t j = 0; j < dim; ++j) out[i * dim + j] = centers[c * dim + j] + gauss(rng);
  }
  return out;
}

struct Data {
  std::vector<float> base = ClusteredVectors(kN, kDim, 11);
  std::vector<float> queries = ClusteredVectors(kQueries, kDim, 12);
  const float* Base(size_t i) const { return &base[i * kDim]; }
  const float* Query(size_t i) const { return &queries[i * kDim]; }
};

const Data& TestData() {
  static const Data* data = new Data;
  return *data;
}

HnswParams Params() {
  HnswParams p;
  p.m = 16;
  p.ef_construct = 100;
  p.ef_search = 64;
  p.seed = 7;
  return p;
}

// Recall@k of index against the exact answers of a FlatIndex holding the same points. A returned id
// counts as a hit when its distance is within the true k-th distance, so exact ties cannot fail it.
double Recall(const VectorIndex& index, const VectorIndex& exact, size_t ef,
              const IdFilter& filter = nullptr) {
  const Data& d = TestData();
  size_t hits = 0, total = 0;
  for (size_t q = 0; q < kQueries; ++q) {
    std::vector<Neighbor> want = exact.Search(d.Query(q), {.k = kK}, filter);
    std::vector<Neighbor> got = index.Search(d.Query(q), {.k = kK, .ef = ef}, filter);
    if (want.empty()) continue;
    const float kth = want.back().distance;
    std::unordered_set<uint32_t> seen;
    for (const Neighbor& n : got) {
      EXPECT_TRUE(seen.insert(n.id).second) << "duplicate id " << n.id;
      if (n.distance <= kth + 1e-4f * (1 + std::fabs(kth))) ++hits;
    }
    total += want.size();
  }
  return double(hits) / double(total);
}

std::unique_ptr<VectorIndex> BuildFlat(Metric metric) {
  auto flat = NewFlatIndex(kDim, metric);
  for (uint32_t i = 0; i < kN; ++i) flat->Insert(i, TestData().Base(i));
  return flat;
}

std::unique_ptr<VectorIndex> BuildHnsw(Metric metric, size_t threads = 1) {
  auto index = NewHnswIndex(kDim, metric, Params());
  std::vector<uint32_t> ids(kN);
  std::vector<const float*> ptrs(kN);
  for (uint32_t i = 0; i < kN; ++i) ids[i] = i, ptrs[i] = TestData().Base(i);
  index->InsertBatch(ids, ptrs, threads);
  return index;
}

TEST(HnswIndexTest, RecallForEveryMetric) {
  for (Metric metric : {Metric::kEuclid, Metric::kCosine, Metric::kDot, Metric::kManhattan}) {
    const auto start = std::chrono::steady_clock::now();
    auto index = BuildHnsw(metric);
    const double build_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto flat = BuildFlat(metric);
    EXPECT_EQ(index->live_count(), kN);
    const double recall = Recall(*index, *flat, 64);
    std::printf("%-9s recall@10 (ef 64) %.4f, build %.2fs\n", std::string(MetricName(metric)).c_str(),
                recall, build_s);
    // Inner product is not a metric, so graph search is weaker under it.
    EXPECT_GE(recall, metric == Metric::kDot ? 0.90 : 0.95) << MetricName(metric);
  }
}

// Parallel inserts reach a node through a level above before its own insert has written its links
// below, and link themselves to it there; the insert must keep those links. It overwrote them, and a
// node whose only incoming link was one of them could not be reached by any search: on 2,000 uniform
// 8-d points, 0-5 points per build were never found for their own vector, whatever the ef.
TEST(HnswIndexTest, ParallelInsertsLeaveNoPointUnreachable) {
  constexpr size_t kDim = 8, kPoints = 2000, kBatch = 500;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<std::vector<float>> v(kPoints, std::vector<float>(kDim));
    for (auto& x : v) {
      for (float& f : x) f = u(rng);
    }
    auto index = NewHnswIndex(kDim, Metric::kEuclid, HnswParams{});
    for (size_t b = 0; b < kPoints; b += kBatch) {
      std::vector<uint32_t> ids;
      std::vector<const float*> data;
      for (size_t i = b; i < b + kBatch; ++i) {
        ids.push_back(static_cast<uint32_t>(i));
        data.push_back(v[i].data());
      }
      index->InsertBatch(ids, data, /*threads=*/2);
    }
    std::vector<uint32_t> unreachable;
    for (uint32_t i = 0; i < kPoints; ++i) {
      SearchParams params;
      params.k = 1;
      params.ef = kPoints;  // a walk this wide visits every node a path leads to
      const std::vector<Neighbor> found = index->Search(v[i].data(), params, IdFilter{});
      if (found.empty() || found[0].id != i) unreachable.push_back(i);
    }
    EXPECT_TRUE(unreachable.empty()) << "seed " << seed << ": " << unreachable.size() << " points unreachable, first "
                                     << unreachable.front();
  }
}

TEST(HnswIndexTest, ReportsQueriesPerSecond) {
  auto index = BuildHnsw(Metric::kEuclid);
  auto flat = BuildFlat(Metric::kEuclid);
  for (size_t ef : {16, 32, 64, 128}) {
    const auto start = std::chrono::steady_clock::now();
    size_t returned = 0;
    for (int rep = 0; rep < 5; ++rep) {
      for (size_t q = 0; q < kQueries; ++q) {
        returned += index->Search(TestData().Query(q), {.k = kK, .ef = ef}, nullptr).size();
      }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(returned, 5 * kQueries * kK);
    std::printf("ef %3zu: recall@10 %.4f, %.0f QPS (n=%zu, dim=%zu, one thread; not asserted)\n", ef,
                Recall(*index, *flat, ef), 5 * kQueries / s, kN, kDim);
  }
}

TEST(HnswIndexTest, ExactParamMatchesFlat) {
  auto index = BuildHnsw(Metric::kEuclid);
  auto flat = BuildFlat(Metric::kEuclid);
  for (size_t q = 0; q < 20; ++q) {
    std::vector<Neighbor> got = index->Search(TestData().Query(q), {.k = kK, .exact = true}, nullptr);
    std::vector<Neighbor> want = flat->Search(TestData().Query(q), {.k = kK}, nullptr);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].id, want[i].id);
  }
}

TEST(HnswIndexTest, RemoveHidesAtOnce) {
  auto index = BuildHnsw(Metric::kEuclid);
  const Data& d = TestData();
  for (uint32_t id : {0u, 17u, 4999u}) {
    ASSERT_EQ(index->Search(d.Base(id), {.k = 1}, nullptr)[0].id, id);
    index->Remove(id);
    for (bool exact : {false, true}) {
      for (const Neighbor& n : index->Search(d.Base(id), {.k = 50, .exact = exact}, nullptr)) {
        EXPECT_NE(n.id, id);
      }
    }
    EXPECT_TRUE(index->SearchAmong(d.Base(id), 5, {id}).empty());
    std::vector<float> out(kDim);
    EXPECT_FALSE(index->GetVector(id, out.data()));
  }
  index->Remove(123456);  // absent: no-op
  EXPECT_EQ(index->live_count(), kN - 3);

  // Removing most points still leaves the rest findable through the tombstones.
  for (uint32_t i = 0; i < kN; ++i) {
    if (i % 10 != 0) index->Remove(i);
  }
  EXPECT_EQ(index->live_count(), kN / 10 - 1);  // id 0 went above
  for (size_t q = 0; q < 20; ++q) {
    std::vector<Neighbor> got = index->Search(d.Query(q), {.k = kK}, nullptr);
    EXPECT_EQ(got.size(), kK);
    for (const Neighbor& n : got) EXPECT_EQ(n.id % 10, 0u);
  }
}

TEST(HnswIndexTest, FilterReturnsOnlyAllowedIds) {
  auto index = BuildHnsw(Metric::kEuclid);
  auto flat = BuildFlat(Metric::kEuclid);
  const IdFilter every_third = [](uint32_t id) { return id % 3 == 0; };
  for (size_t q = 0; q < kQueries; ++q) {
    for (const Neighbor& n : index->Search(TestData().Query(q), {.k = kK}, every_third)) {
      ASSERT_EQ(n.id % 3, 0u);
    }
  }
  EXPECT_GE(Recall(*index, *flat, 64, every_third), 0.95);
  // A filter that allows nothing returns nothing (after walking the graph).
  EXPECT_TRUE(index->Search(TestData().Query(0), {.k = kK}, [](uint32_t) { return false; }).empty());
}

TEST(HnswIndexTest, WalkOverItsBudgetGivesUp) {
  auto index = BuildHnsw(Metric::kEuclid);
  const IdFilter rare = [](uint32_t id) { return id % 97 == 0; };  // few matches: a long walk
  SearchParams unlimited{.k = kK};
  EXPECT_EQ(index->Search(TestData().Query(0), unlimited, rare).size(), kK);
  SearchParams budget{.k = kK, .max_scored = 50};
  EXPECT_TRUE(index->Search(TestData().Query(0), budget, rare).empty());
  // A budget the walk does not reach changes nothing.
  SearchParams ample{.k = kK, .max_scored = 10 * kN};
  EXPECT_EQ(index->Search(TestData().Query(0), ample, rare).size(), kK);
}

TEST(HnswIndexTest, WalkStopsAtItsDeadline) {
  auto index = BuildHnsw(Metric::kEuclid);
  // Past a request's deadline Shard::Query's filter refuses every node, so the results never fill: without
  // a stop the walk crosses the whole graph (the filter is asked about every node). With the deadline
  // passed it gives up after kDeadlineCheckEvery expansions, with no results.
  size_t asked = 0;
  const IdFilter refuse_all = [&asked](uint32_t) {
    ++asked;
    return false;
  };
  EXPECT_TRUE(index->Search(TestData().Query(0), {.k = kK}, refuse_all).empty());
  EXPECT_GT(asked, kN / 2);
  asked = 0;
  const Deadline passed = Deadline::After(std::chrono::duration<double>(0));
  SearchParams stopped{.k = kK, .deadline = &passed};
  EXPECT_TRUE(index->Search(TestData().Query(0), stopped, refuse_all).empty());
  EXPECT_LT(asked, kN / 4);
  // With time left the walk is the same as without a deadline.
  const Deadline later = Deadline::After(std::chrono::hours(1));
  SearchParams in_time{.k = kK, .deadline = &later};
  auto ids = [](const std::vector<Neighbor>& found) {
    std::vector<uint32_t> out;
    for (const Neighbor& n : found) out.push_back(n.id);
    return out;
  };
  EXPECT_EQ(ids(index->Search(TestData().Query(0), in_time, {})).size(), kK);
  EXPECT_EQ(ids(index->Search(TestData().Query(0), in_time, {})), ids(index->Search(TestData().Query(0), {.k = kK}, {})));
}

TEST(HnswIndexTest, UpdateReplacesTheVector) {
  auto index = BuildHnsw(Metric::kEuclid);
  const Data& d = TestData();
  const size_t memory_before = index->memory_bytes();
  index->Insert(42, d.Base(42));  // the same vector again: nothing changes
  EXPECT_EQ(index->memory_bytes(), memory_before);

  std::vector<float> moved(kDim, 100.0f);
  index->Insert(42, moved.data());
  EXPECT_EQ(index->live_count(), kN);
  std::vector<float> out(kDim);
  ASSERT_TRUE(index->GetVector(42, out.data()));
  EXPECT_EQ(out, moved);
  std::vector<Neighbor> near_new = index->Search(moved.data(), {.k = 1}, nullptr);
  ASSERT_EQ(near_new.size(), 1u);
  EXPECT_EQ(near_new[0].id, 42u);
  EXPECT_FLOAT_EQ(near_new[0].distance, 0.0f);
  // The old position no longer answers with 42.
  for (const Neighbor& n : index->Search(d.Base(42), {.k = 5}, nullptr)) EXPECT_NE(n.id, 42u);
  EXPECT_FLOAT_EQ(index->DistanceTo(moved.data(), 42), 0.0f);
}

TEST(HnswIndexTest, ConcurrentInsertsAndSearches) {
  auto index = NewHnswIndex(kDim, Metric::kEuclid, Params());
  const Data& d = TestData();
  std::atomic<bool> done{false};
  std::atomic<size_t> searches{0};
  std::thread searcher([&] {
    size_t q = 0;
    while (!done.load()) {
      std::vector<Neighbor> got = index->Search(d.Query(q++ % kQueries), {.k = kK}, nullptr);
      EXPECT_LE(got.size(), kK);
      for (const Neighbor& n : got) EXPECT_LT(n.id, kN);
      searches.fetch_add(1);
    }
  });
  auto insert_half = [&](uint32_t first) {
    for (uint32_t i = first; i < kN; i += 2) index->Insert(i, d.Base(i));
  };
  std::thread a(insert_half, 0), b(insert_half, 1);
  a.join();
  b.join();
  done.store(true);
  searcher.join();
  EXPECT_GT(searches.load(), 0u);
  EXPECT_EQ(index->live_count(), kN);
  auto flat = BuildFlat(Metric::kEuclid);
  EXPECT_GE(Recall(*index, *flat, 64), 0.95);
}

TEST(HnswIndexTest, ParallelInsertBatchWithRepeatsAndUpdates) {
  auto index = BuildHnsw(Metric::kEuclid, /*threads=*/2);
  auto flat = BuildFlat(Metric::kEuclid);
  EXPECT_EQ(index->live_count(), kN);
  EXPECT_GE(Recall(*index, *flat, 64), 0.95);

  // A batch that repeats an id keeps the last vector, as sequential inserts would.
  const Data& d = TestData();
  index->InsertBatch({7, 8, 7}, {d.Base(1), d.Base(2), d.Base(3)}, 2);
  std::vector<float> out(kDim);
  ASSERT_TRUE(index->GetVector(7, out.data()));
  EXPECT_TRUE(std::equal(out.begin(), out.end(), d.Base(3)));
  EXPECT_EQ(index->live_count(), kN);
}

TEST(HnswIndexTest, SearchDuringUpdatesNeverRepeatsAnId) {
  auto index = BuildHnsw(Metric::kEuclid);
  const Data& d = TestData();
  std::atomic<bool> done{false};
  std::thread updater([&] {
    for (uint32_t round = 0; round < 3; ++round) {
      for (uint32_t i = 0; i < 500; ++i) index->Insert(i, d.Base((i + round + 1) % kN));
    }
    done.store(true);
  });
  while (!done.load()) {
    for (size_t q = 0; q < 20; ++q) {
      std::vector<Neighbor> got = index->Search(d.Base(q), {.k = 20}, nullptr);
      std::unordered_set<uint32_t> seen;
      for (const Neighbor& n : got) EXPECT_TRUE(seen.insert(n.id).second) << n.id;
    }
  }
  updater.join();
  EXPECT_EQ(index->live_count(), kN);
}

TEST(HnswIndexTest, EmptySmallAndDimOne) {
  auto empty = NewHnswIndex(4, Metric::kCosine, Params());
  const float q4[4] = {1, 2, 3, 4};
  EXPECT_TRUE(empty->Search(q4, {.k = 5}, nullptr).empty());
  EXPECT_TRUE(empty->Search(q4, {.k = 5, .exact = true}, nullptr).empty());

  auto one = NewHnswIndex(1, Metric::kEuclid, Params());
  for (uint32_t i = 0; i < 300; ++i) {
    const float v = static_cast<float>(i);
    one->Insert(i, &v);
  }
  const float q = 150.2f;
  std::vector<Neighbor> got = one->Search(&q, {.k = 3}, nullptr);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, 150u);
  EXPECT_EQ(got[1].id, 151u);
  EXPECT_EQ(got[2].id, 149u);
  // Fewer points than k: all of them.
  auto two = NewHnswIndex(1, Metric::kEuclid, Params());
  two->Insert(5, &q);
  two->Insert(9, &q);
  EXPECT_EQ(two->Search(&q, {.k = 10}, nullptr).size(), 2u);
}

TEST(HnswIndexTest, CosineNormalizesStoredVectors) {
  auto index = NewHnswIndex(2, Metric::kCosine, Params());
  const float a[2] = {3, 4}, b[2] = {-1, 0};
  index->Insert(1, a);
  index->Insert(2, b);
  float out[2];
  ASSERT_TRUE(index->GetVector(1, out));
  EXPECT_FLOAT_EQ(out[0], 0.6f);
  EXPECT_FLOAT_EQ(out[1], 0.8f);
  const float q[2] = {6, 8};
  std::vector<Neighbor> got = index->Search(q, {.k = 2}, nullptr);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, 1u);
  EXPECT_NEAR(got[0].distance, -1.0f, 1e-6);
  EXPECT_NEAR(index->DistanceTo(q, 2), 0.6f, 1e-6);
}

}  // namespace
}  // namespace vj

// Sparse vectors in a shard: searches equal an exhaustive scan of what the shard returns by scroll
// (with deletes, replaced vectors, delete_vectors, filters both ways, idf), and survive a crash restart
// that replays the log over an index snapshot, and a rebuild from the store.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "collection/shard.h"
#include "core/test_dir.h"

namespace vj {
namespace {

CollectionConfig Config(bool idf, std::optional<size_t> full_scan_threshold) {
  CollectionConfig config;
  config.vectors["d"] = VectorParams{4, Metric::kDot, std::nullopt, false, std::nullopt};
  SparseVectorParams sparse;
  sparse.idf = idf;
  sparse.full_scan_threshold = full_scan_threshold;
  config.sparse_vectors["s"] = sparse;
  config.payload_schema["group"] = PayloadSchemaType::kInteger;
  return config;
}

SparseVector RandomSparse(std::mt19937_64& rng, size_t max_nnz) {
  std::set<uint32_t> indices;
  const size_t nnz = 1 + rng() % max_nnz;
  while (indices.size() < nnz) indices.insert(static_cast<uint32_t>(std::min<uint64_t>(rng() % 300, rng() % 300)));
  SparseVector v;
  for (auto it = indices.rbegin(); it != indices.rend(); ++it) {  // unsorted on purpose
    v.indices.push_back(*it);
    v.values.push_back(static_cast<float>(rng() % 1000) / 250.0f - 1.0f);
  }
  return v;
}

std::vector<PointInput> Points(uint64_t first, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<PointInput> points(n);
  for (size_t i = 0; i < n; ++i) {
    points[i].id = PointId::Num(first + i);
    points[i].vectors["d"] = {1, 2, 3, static_cast<float>(i)};
    if (i % 7 != 3) points[i].sparse["s"] = RandomSparse(rng, 30);  // some points have no sparse vector
    points[i].payload["group"] = static_cast<int64_t>((first + i) % 10);
  }
  return points;
}

Filter GroupIn(std::vector<int64_t> groups) {
  Filter filter;
  FieldCondition c;
  c.key = "group";
  c.path = *ParsePayloadPath("group");
  std::vector<MatchValue> values;
  for (int64_t g : groups) values.emplace_back(g);
  c.match = MatchCondition{MatchCondition::Kind::kAny, values, ""};
  filter.must.push_back(c);
  return filter;
}

void WriteHistory(Shard& shard, uint64_t seed) {
  ASSERT_TRUE(shard.Upsert(Points(0, 1500, seed), true).ok());
  PointSelector gone;
  for (uint64_t id = 0; id < 1500; id += 5) gone.ids.push_back(PointId::Num(id));
  ASSERT_TRUE(shard.Delete(gone, true).ok());
  ASSERT_TRUE(shard.Upsert(Points(100, 200, seed + 1), true).ok());  // replaced sparse vectors
  std::vector<PointInput> update(1);
  update[0].id = PointId::Num(301);
  update[0].sparse["s"] = SparseVector{{7, 3}, {2.0f, 1.0f}};
  ASSERT_TRUE(shard.UpdateVectors(update, true).ok());
  PointSelector strip;
  strip.ids = {PointId::Num(302), PointId::Num(303)};
  ASSERT_TRUE(shard.DeleteVectors(strip, {"s"}, true).ok());
  PointSelector moved;
  moved.ids = {PointId::Num(304)};
  Payload p;
  p["group"] = int64_t{3};
  ASSERT_TRUE(shard.UpdatePayload(PayloadUpdate::kSet, moved, p, {}, std::nullopt, true).ok());
}

struct Stored {
  PointId id;
  int64_t group;
  SparseVector sparse;
};

std::vector<Stored> ScrollAll(const Shard& shard) {
  ScrollRequest scroll;
  scroll.limit = 100000;
  scroll.with_vector.all = true;
  auto all = shard.Scroll(scroll);
  EXPECT_TRUE(all.ok()) << all.status();
  std::vector<Stored> out;
  for (const PointView& v : all->points) {
    auto it = v.sparse.find("s");
    if (it == v.sparse.end()) continue;
    EXPECT_TRUE(std::is_sorted(it->second.indices.begin(), it->second.indices.end()));
    out.push_back(Stored{v.id, v.payload->at("group").as_int64(), it->second});
  }
  return out;
}

// The exhaustive answer: dot products with the idf-weighted query over every point sharing an index.
std::vector<std::pair<PointId, float>> Reference(const std::vector<Stored>& points, SparseVector query, bool idf,
                                                 const std::set<int64_t>* groups, size_t k) {
  CanonicalizeSparseVector(&query);
  if (idf) {
    for (size_t i = 0; i < query.indices.size(); ++i) {
      double n = 0;
      for (const Stored& p : points) {
        n += std::binary_search(p.sparse.indices.begin(), p.sparse.indices.end(), query.indices[i]) ? 1 : 0;
      }
      query.values[i] *= static_cast<float>(std::log((points.size() - n + 0.5) / (n + 0.5) + 1.0));
    }
  }
  std::vector<std::pair<PointId, float>> scored;
  for (const Stored& p : points) {
    if (groups != nullptr && groups->count(p.group) == 0) continue;
    bool shares = false;
    for (uint32_t i : p.sparse.indices) {
      shares = shares || std::binary_search(query.indices.begin(), query.indices.end(), i);
    }
    if (shares) scored.emplace_back(p.id, SparseDot(query, p.sparse));
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (scored.size() > k) scored.resize(k);
  return scored;
}

// Every search's ids and scores (rounded: summation order may differ in the last bit).
std::vector<std::string> Searches(const Shard& shard) {
  std::vector<std::string> out;
  std::mt19937_64 rng(99);
  for (int q = 0; q < 12; ++q) {
    QueryRequest request;
    request.using_vector = "s";
    request.sparse_vector = RandomSparse(rng, 6);
    request.limit = 15;
    if (q % 3 == 1) request.filter = GroupIn({1, 3});
    if (q % 3 == 2) request.filter = GroupIn({0, 1, 2, 3, 4, 5, 6, 7});
    auto found = shard.Query(request);
    EXPECT_TRUE(found.ok()) << found.status();
    std::string line;
    for (const PointView& p : *found) line += p.id.ToString() + ":" + std::to_string(std::lround(*p.score * 1000)) + " ";
    out.push_back(line);
  }
  return out;
}

void ExpectMatchesReference(const Shard& shard, bool idf) {
  const std::vector<Stored> points = ScrollAll(shard);
  ASSERT_GT(points.size(), 900u);
  std::mt19937_64 rng(99);
  for (int q = 0; q < 12; ++q) {
    QueryRequest request;
    request.using_vector = "s";
    request.sparse_vector = RandomSparse(rng, 6);
    request.limit = 15;
    std::set<int64_t> groups;
    if (q % 3 == 1) groups = {1, 3};
    if (q % 3 == 2) groups = {0, 1, 2, 3, 4, 5, 6, 7};
    if (!groups.empty()) request.filter = GroupIn(std::vector<int64_t>(groups.begin(), groups.end()));
    auto found = shard.Query(request);
    ASSERT_TRUE(found.ok()) << found.status();
    const auto want = Reference(points, *request.sparse_vector, idf, groups.empty() ? nullptr : &groups, 15);
    ASSERT_EQ(found->size(), want.size()) << "query " << q;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(*(*found)[i].score, want[i].second, 1e-3f * (1 + std::fabs(want[i].second)));
      const bool close_tie = (i > 0 && std::fabs(want[i].second - want[i - 1].second) < 1e-3f) ||
                             (i + 1 < want.size() && std::fabs(want[i].second - want[i + 1].second) < 1e-3f);
      if (!close_tie) {
        EXPECT_EQ((*found)[i].id, want[i].first) << "query " << q << " rank " << i;
      }
    }
  }
}

CollectionOptions Crashing() {
  CollectionOptions options;
  options.index_snapshot_every_mutations = 0;
  options.index_snapshot_interval_s = 0;
  options.index_snapshot_on_close = false;
  return options;
}

class ShardSparseTest : public ::testing::TestWithParam<std::tuple<bool, std::optional<size_t>>> {};

TEST_P(ShardSparseTest, SearchesEqualAnExhaustiveScanBeforeAndAfterACrash) {
  const auto [idf, threshold] = GetParam();
  TestDir dir;
  const std::string path = dir.path() + "/shard";
  std::vector<std::string> before;
  {
    auto shard = Shard::Open("sparse", path, Config(idf, threshold), Crashing());
    ASSERT_TRUE(shard.ok()) << shard.status();
    WriteHistory(**shard, 1);
    ASSERT_TRUE((*shard)->SaveIndexSnapshot().ok());
    ASSERT_TRUE((*shard)->Upsert(Points(5000, 300, 5), true).ok());  // after the snapshot: replayed
    PointSelector gone;
    gone.ids = {PointId::Num(5001), PointId::Num(101)};
    ASSERT_TRUE((*shard)->Delete(gone, true).ok());
    ExpectMatchesReference(**shard, idf);
    before = Searches(**shard);
  }
  {
    auto shard = Shard::Open("sparse", path, Config(idf, threshold), Crashing());
    ASSERT_TRUE(shard.ok()) << shard.status();
    EXPECT_TRUE((*shard)->loaded_from_snapshot());
    EXPECT_EQ(Searches(**shard), before);
    ExpectMatchesReference(**shard, idf);
  }
  std::filesystem::remove_all(path + "/index");
  auto rebuilt = Shard::Open("sparse", path, Config(idf, threshold), Crashing());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_FALSE((*rebuilt)->loaded_from_snapshot());
  EXPECT_EQ(Searches(**rebuilt), before);
}

INSTANTIATE_TEST_SUITE_P(IdfAndFilterPaths, ShardSparseTest,
                         ::testing::Values(std::make_tuple(false, std::optional<size_t>()),
                                           std::make_tuple(true, std::optional<size_t>()),
                                           std::make_tuple(false, std::optional<size_t>(0)),
                                           std::make_tuple(true, std::optional<size_t>(1000000))));

TEST(ShardSparseValidationTest, RefusesBadSparseVectorsAndNamesLeavingNothingStored) {
  TestDir dir;
  auto shard = Shard::Open("sparse", dir.path() + "/shard", Config(false, std::nullopt), Crashing());
  ASSERT_TRUE(shard.ok());
  auto upsert = [&](const std::string& name, SparseVector v) {
    std::vector<PointInput> points(1);
    points[0].id = PointId::Num(1);
    points[0].sparse[name] = std::move(v);
    return (*shard)->Upsert(points, true);
  };
  EXPECT_EQ(upsert("nope", SparseVector{{1}, {1}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(upsert("d", SparseVector{{1}, {1}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(upsert("s", SparseVector{{1, 1}, {1, 2}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(upsert("s", SparseVector{{1}, {NAN}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(upsert("s", SparseVector{{1, 2}, {1}}).code(), absl::StatusCode::kInvalidArgument);
  auto count = (*shard)->Count(std::nullopt, true);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0u);
  QueryRequest dense_on_sparse;
  dense_on_sparse.using_vector = "s";
  dense_on_sparse.vector = {1, 2, 3, 4};
  EXPECT_EQ((*shard)->Query(dense_on_sparse).status().code(), absl::StatusCode::kInvalidArgument);
  QueryRequest sparse_on_dense;
  sparse_on_dense.using_vector = "d";
  sparse_on_dense.sparse_vector = SparseVector{{1}, {1}};
  EXPECT_EQ((*shard)->Query(sparse_on_dense).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vj

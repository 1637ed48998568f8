#include "collection/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <fstream>
#include <set>

#include "core/test_dir.h"

namespace vj {
namespace {

CollectionConfig Config(size_t dim, Metric metric) {
  CollectionConfig config;
  config.vectors[""] = VectorParams{dim, metric, std::nullopt, false, std::nullopt};
  config.hnsw.full_scan_threshold_kb = 0;  // always use the graph unless asked otherwise
  return config;
}

std::vector<PointInput> RandomPoints(size_t n, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<PointInput> points(n);
  for (size_t i = 0; i < n; ++i) {
    points[i].id = PointId::Num(i);
    points[i].vectors[""].resize(dim);
    for (float& v : points[i].vectors[""]) v = normal(rng);
    points[i].payload["group"] = static_cast<int64_t>(i % 10);
    points[i].payload["name"] = "p" + std::to_string(i);
  }
  return points;
}

float L2(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return s;
}

// Exact top-k ids among points passing `keep`.
std::vector<uint64_t> BruteForce(const std::vector<PointInput>& points, const std::vector<float>& q,
                                 size_t k, const std::function<bool(const PointInput&)>& keep) {
  std::vector<std::pair<float, uint64_t>> all;
  for (const auto& p : points) {
    if (keep(p)) all.push_back({L2(p.vectors.at(""), q), p.id.num()});
  }
  std::sort(all.begin(), all.end());
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < std::min(k, all.size()); ++i) ids.push_back(all[i].second);
  return ids;
}

std::vector<uint64_t> Ids(const std::vector<PointView>& views) {
  std::vector<uint64_t> ids;
  for (const auto& v : views) ids.push_back(v.id.num());
  return ids;
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

class ShardTest : public ::testing::Test {
 protected:
  std::unique_ptr<Shard> Open(const CollectionConfig& config) {
    auto c = Shard::Open("test", dir_.path(), config, CollectionOptions{});
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  TestDir dir_;
};

TEST_F(ShardTest, ExactSearchMatchesBruteForceAndHnswRecallIsHigh) {
  const size_t dim = 16;
  auto points = RandomPoints(2000, dim, 1);
  auto c = Open(Config(dim, Metric::kEuclid));
  ASSERT_TRUE(c->Upsert(points, true).ok());
  auto queries = RandomPoints(30, dim, 2);
  size_t hits = 0;
  for (const auto& q : queries) {
    QueryRequest request;
    request.vector = q.vectors.at("");
    request.limit = 10;
    request.exact = true;
    auto exact = c->Query(request);
    ASSERT_TRUE(exact.ok());
    auto expected = BruteForce(points, request.vector, 10, [](const PointInput&) { return true; });
    EXPECT_EQ(Ids(*exact), expected);
    request.exact = false;
    auto approx = c->Query(request);
    ASSERT_TRUE(approx.ok());
    for (uint64_t id : Ids(*approx)) hits += std::count(expected.begin(), expected.end(), id);
  }
  EXPECT_GE(static_cast<double>(hits) / (30 * 10), 0.95);
}

TEST_F(ShardTest, FilteredSearchReturnsExactlyTheMatchingNearest) {
  const size_t dim = 8;
  auto points = RandomPoints(3000, dim, 3);
  auto c = Open(Config(dim, Metric::kEuclid));
  ASSERT_TRUE(c->Upsert(points, true).ok());
  auto q = RandomPoints(1, dim, 4)[0].vectors.at("");
  for (bool indexed : {false, true}) {
    if (indexed) {
      ASSERT_TRUE(c->CreatePayloadIndex("group", PayloadSchemaType::kInteger, true).ok());
    }
    QueryRequest request;
    request.vector = q;
    request.limit = 20;
    request.filter = GroupIs(3);
    request.exact = true;
    auto exact = c->Query(request);
    ASSERT_TRUE(exact.ok());
    auto expected = BruteForce(points, q, 20, [](const PointInput& p) {
      return p.payload.at("group").as_int64() == 3;
    });
    EXPECT_EQ(Ids(*exact), expected);
    request.exact = false;
    auto approx = c->Query(request);
    ASSERT_TRUE(approx.ok());
    ASSERT_EQ(approx->size(), 20u);
    for (const auto& v : *approx) EXPECT_EQ(v.id.num() % 10, 3u);
  }
  auto count = c->Count(GroupIs(3), true);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 300u);
}

// A deadline that has passed stops every read with the request-timeout error; without one (or with
// time left) the same reads answer exactly as before, and a filtered search still returns `limit`
// results when enough points match.
TEST_F(ShardTest, DeadlineStopsReadsAndLeavesAnswersUnchangedWhenItDoesNotFire) {
  const size_t dim = 8;
  auto points = RandomPoints(3000, dim, 3);
  auto c = Open(Config(dim, Metric::kEuclid));
  ASSERT_TRUE(c->Upsert(points, true).ok());
  const Deadline expired = Deadline::After(std::chrono::duration<double>(0));
  const Deadline roomy = Deadline::After(std::chrono::hours(1));
  auto q = RandomPoints(1, dim, 4)[0].vectors.at("");
  for (bool exact : {true, false}) {
    for (bool filtered : {true, false}) {
      QueryRequest request;
      request.vector = q;
      request.limit = 20;
      request.exact = exact;
      if (filtered) request.filter = GroupIs(3);
      request.deadline = expired;
      auto timed_out = c->Query(request);
      ASSERT_FALSE(timed_out.ok());
      EXPECT_TRUE(IsRequestTimeout(timed_out.status())) << timed_out.status();
      request.deadline = roomy;
      auto answered = c->Query(request);
      ASSERT_TRUE(answered.ok()) << answered.status();
      ASSERT_EQ(answered->size(), 20u);
      if (exact) {
        auto expected = BruteForce(points, q, 20, [filtered](const PointInput& p) {
          return !filtered || p.payload.at("group").as_int64() == 3;
        });
        EXPECT_EQ(Ids(*answered), expected);
      }
    }
  }
  ScrollRequest scroll;
  scroll.filter = GroupIs(3);
  scroll.deadline = expired;
  EXPECT_TRUE(IsRequestTimeout(c->Scroll(scroll).status()));
  scroll.deadline = roomy;
  ASSERT_TRUE(c->Scroll(scroll).ok());
  EXPECT_TRUE(IsRequestTimeout(c->Count(GroupIs(3), true, expired).status()));
  auto count = c->Count(GroupIs(3), true, roomy);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 300u);
}

TEST_F(ShardTest, UpdatesAndDeletesAreVisibleAtOnceAndSurviveReopen) {
  const size_t dim = 4;
  auto points = RandomPoints(100, dim, 5);
  {
    auto c = Open(Config(dim, Metric::kCosine));
    ASSERT_TRUE(c->Upsert(points, true).ok());
    PointSelector del;
    del.ids = {PointId::Num(7), PointId::Num(8)};
    ASSERT_TRUE(c->Delete(del, true).ok());
    PointSelector one;
    one.ids = {PointId::Num(9)};
    Payload patch;
    patch["color"] = "red";
    ASSERT_TRUE(c->UpdatePayload(PayloadUpdate::kSet, one, patch, {}, std::nullopt, true).ok());
    PointSelector by_filter;
    by_filter.filter = GroupIs(5);
    ASSERT_TRUE(c->Delete(by_filter, true).ok());
    EXPECT_EQ(c->Info().points_count, 100u - 2 - 10);

    // The point's own vector is its nearest neighbour under Cosine; a deleted point never shows.
    QueryRequest request;
    request.vector = points[7].vectors.at("");
    request.limit = 100;
    auto found = c->Query(request);
    ASSERT_TRUE(found.ok());
    for (const auto& v : *found) {
      EXPECT_NE(v.id.num(), 7u);
      EXPECT_NE(v.id.num() % 10, 5u);
    }
  }
  auto c = Open(Config(dim, Metric::kCosine));
  EXPECT_EQ(c->Info().points_count, 88u);
  auto got = c->Retrieve({PointId::Num(9), PointId::Num(7)}, {PayloadSelector::Mode::kAll, {}},
                         {true, {}});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].payload->at("color").as_string(), "red");
  EXPECT_EQ((*got)[0].payload->at("name").as_string(), "p9");
  ASSERT_EQ((*got)[0].vectors.at("").size(), dim);
}

TEST_F(ShardTest, InvalidWritesChangeNothing) {
  auto c = Open(Config(3, Metric::kDot));
  auto points = RandomPoints(5, 3, 6);
  ASSERT_TRUE(c->Upsert(points, true).ok());
  auto bad = RandomPoints(2, 3, 7);
  bad[1].vectors[""].push_back(1.0f);  // wrong dimension in the second point of the batch
  Status st = c->Upsert(bad, true);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(st.message()).find("dimension"), std::string::npos);
  bad = RandomPoints(1, 3, 8);
  bad[0].vectors[""][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(c->Upsert(bad, true).code(), absl::StatusCode::kInvalidArgument);
  PointSelector missing;
  missing.ids = {PointId::Num(999)};
  EXPECT_EQ(c->UpdatePayload(PayloadUpdate::kClear, missing, {}, {}, std::nullopt, true).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(c->Info().points_count, 5u);
}

TEST_F(ShardTest, ScrollVisitsEveryPointOnceInIdOrder) {
  auto c = Open(Config(2, Metric::kEuclid));
  auto points = RandomPoints(57, 2, 9);
  PointInput uuid_point = points[0];
  uuid_point.id = *PointId::ParseUuid("550e8400-e29b-41d4-a716-446655440000");
  points.push_back(uuid_point);
  ASSERT_TRUE(c->Upsert(points, true).ok());
  std::vector<std::string> seen;
  ScrollRequest request;
  request.limit = 10;
  while (true) {
    auto page = c->Scroll(request);
    ASSERT_TRUE(page.ok());
    for (const auto& v : page->points) seen.push_back(v.id.ToString());
    if (!page->next_page_offset) break;
    request.offset = page->next_page_offset;
  }
  ASSERT_EQ(seen.size(), 58u);
  EXPECT_EQ(seen.front(), "0");
  EXPECT_EQ(seen[56], "56");
  EXPECT_EQ(seen.back(), "550e8400-e29b-41d4-a716-446655440000");
}

TEST_F(ShardTest, ReplacedVectorsAreCompactedAway) {
  auto c = Open(Config(8, Metric::kEuclid));
  auto points = RandomPoints(1000, 8, 41);
  ASSERT_TRUE(c->Upsert(points, true).ok());
  auto updated = RandomPoints(1000, 8, 42);  // same ids, new vectors: 1000 tombstones
  ASSERT_TRUE(c->Upsert(updated, true).ok());
  c->WaitForIndexMaintenance();  // compaction runs in the background after the write
  EXPECT_EQ(c->Info().points_count, 1000u);
  EXPECT_LT(c->Info().tombstones, 256u);
  QueryRequest request;
  request.vector = updated[17].vectors.at("");
  request.limit = 1;
  auto found = c->Query(request);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].id.num(), 17u);
}

TEST_F(ShardTest, ConcurrentWritersAreAllApplied) {
  auto c = Open(Config(4, Metric::kEuclid));
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&c, t] {
      for (int batch = 0; batch < 10; ++batch) {
        auto points = RandomPoints(20, 4, t * 100 + batch);
        for (size_t i = 0; i < points.size(); ++i) points[i].id = PointId::Num(t * 1000 + batch * 20 + i);
        EXPECT_TRUE(c->Upsert(points, batch % 2 == 0).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  c->WaitForQueuedWrites();
  EXPECT_EQ(c->Info().points_count, 800u);
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

class ShardSnapshotTest : public ::testing::Test {
 protected:
  std::unique_ptr<Shard> Open() {
    auto s = Shard::Open("snap", dir_.path(), Config(8, Metric::kCosine), CollectionOptions{});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::vector<uint64_t> Nearest(Shard& shard, const std::vector<float>& q) {
    QueryRequest r;
    r.vector = q;
    r.limit = 10;
    auto found = shard.Query(r);
    EXPECT_TRUE(found.ok());
    return Ids(*found);
  }
  TestDir dir_;
};

TEST_F(ShardSnapshotTest, CleanRestartLoadsTheIndexesAndAnswersTheSame) {
  auto points = RandomPoints(1500, 8, 21);
  auto queries = RandomPoints(20, 8, 22);
  std::vector<std::vector<uint64_t>> before;
  {
    auto shard = Open();
    ASSERT_TRUE(shard->Upsert(points, true).ok());
    PointSelector gone;
    gone.ids = {PointId::Num(3), PointId::Num(4)};
    ASSERT_TRUE(shard->Delete(gone, true).ok());
    auto update = RandomPoints(1, 8, 23);
    update[0].id = PointId::Num(5);
    ASSERT_TRUE(shard->Upsert(update, true).ok());
    EXPECT_FALSE(shard->loaded_from_snapshot());
    for (const auto& q : queries) before.push_back(Nearest(*shard, q.vectors.at("")));
  }
  auto shard = Open();
  EXPECT_TRUE(shard->loaded_from_snapshot());
  EXPECT_EQ(shard->Info().points_count, 1498u);
  for (size_t i = 0; i < queries.size(); ++i) EXPECT_EQ(Nearest(*shard, queries[i].vectors.at("")), before[i]);
  auto got = shard->Retrieve({PointId::Num(7), PointId::Num(3)}, {PayloadSelector::Mode::kAll, {}}, {});
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].payload->at("name").as_string(), "p7");
  // Writes after a snapshot load keep working and survive the next restart.
  ASSERT_TRUE(shard->Upsert(RandomPoints(1, 8, 24), true).ok());  // id 0 again
  shard.reset();
  shard = Open();
  EXPECT_EQ(shard->Info().points_count, 1498u);
}

TEST_F(ShardSnapshotTest, StaleSnapshotsAreBroughtUpToDateCorruptOnesRebuiltFrom) {
  auto points = RandomPoints(300, 8, 31);
  { ASSERT_TRUE(Open()->Upsert(points, true).ok()); }
  // A write the snapshot does not cover (as after a crash): the sequence moves past the snapshot's.
  {
    auto store = PointStore::Open(dir_.path() + "/store", PointStoreOptions{});
    ASSERT_TRUE(store.ok());
    Mutation m;
    m.kind = Mutation::Kind::kDelete;
    m.record.id = PointId::Num(10);
    uint64_t seq = 0;
    ASSERT_TRUE((*store)->Write({m}, true, &seq).ok());
  }
  {
    auto shard = Open();
    EXPECT_TRUE(shard->loaded_from_snapshot());  // and the write replayed from the log
    EXPECT_EQ(shard->replayed_log_entries(), 1u);
    EXPECT_EQ(shard->Info().points_count, 299u);
  }
  // Corrupt id map: rebuilt, nothing lost.
  {
    std::fstream f(dir_.path() + "/index/ids.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x7f');
  }
  auto shard = Open();
  EXPECT_FALSE(shard->loaded_from_snapshot());
  EXPECT_EQ(shard->Info().points_count, 299u);
}

}  // namespace
}  // namespace vj

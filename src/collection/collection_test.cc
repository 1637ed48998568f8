#include "collection/collection.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "core/test_dir.h"

namespace vj {
namespace {

CollectionConfig Config(uint32_t shards, Metric metric) {
  CollectionConfig config;
  config.vectors[""] = VectorParams{8, metric, std::nullopt, false, std::nullopt};
  config.shard_number = shards;
  return config;
}

std::vector<PointInput> Points(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<PointInput> points(n);
  for (size_t i = 0; i < n; ++i) {
    points[i].id = PointId::Num(i * 7 + 1);
    points[i].vectors[""].resize(8);
    for (float& v : points[i].vectors[""]) v = normal(rng);
    points[i].payload["tag"] = static_cast<int64_t>(i % 3);
  }
  return points;
}

std::vector<std::string> Ids(const std::vector<PointView>& views) {
  std::vector<std::string> ids;
  for (const auto& v : views) ids.push_back(v.id.ToString());
  return ids;
}

// A collection of 3 shards answers exactly like one of 1 shard.
class ShardedCollectionTest : public ::testing::TestWithParam<Metric> {
 protected:
  void SetUp() override {
    auto one = Collection::Open("one", one_dir_.path(), Config(1, GetParam()), CollectionOptions{});
    auto three = Collection::Open("three", three_dir_.path(), Config(3, GetParam()), CollectionOptions{});
    ASSERT_TRUE(one.ok() && three.ok());
    one_ = std::move(*one);
    three_ = std::move(*three);
    auto points = Points(600, 11);
    ASSERT_TRUE(one_->Upsert(points, true, RequestContext()).ok());
    ASSERT_TRUE(three_->Upsert(points, true, RequestContext()).ok());
  }
  TestDir one_dir_, three_dir_;
  std::unique_ptr<Collection> one_, three_;
};

TEST_P(ShardedCollectionTest, ReadsMatchASingleShard) {
  EXPECT_EQ(three_->Info().points_count, 600u);
  auto queries = Points(10, 12);
  for (const auto& q : queries) {
    QueryRequest request;
    request.vector = q.vectors.at("");
    request.limit = 7;
    request.offset = 3;
    request.exact = true;
    auto a = one_->Query(request);
    auto b = three_->Query(request);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(Ids(*a), Ids(*b));
  }
  ScrollRequest scroll;
  scroll.limit = 25;
  std::vector<std::string> seen;
  while (true) {
    auto page = three_->Scroll(scroll);
    ASSERT_TRUE(page.ok());
    auto reference = one_->Scroll(scroll);
    EXPECT_EQ(Ids(page->points), Ids(reference->points));
    for (const auto& id : Ids(page->points)) seen.push_back(id);
    if (!page->next_page_offset) break;
    scroll.offset = page->next_page_offset;
  }
  EXPECT_EQ(seen.size(), 600u);
  std::vector<PointId> ids = {PointId::Num(8), PointId::Num(1), PointId::Num(999), PointId::Num(15)};
  auto got = three_->Retrieve(ids, {}, {});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Ids(*got), (std::vector<std::string>{"8", "1", "15"}));
}

TEST_P(ShardedCollectionTest, WritesReachTheOwningShards) {
  PointSelector some;
  some.ids = {PointId::Num(1), PointId::Num(8), PointId::Num(15)};
  Payload patch;
  patch["x"] = 1;
  ASSERT_TRUE(three_->UpdatePayload(PayloadUpdate::kSet, some, patch, {}, std::nullopt, true, RequestContext()).ok());
  Filter has_x;
  FieldCondition c;
  c.key = "x";
  c.path = *ParsePayloadPath("x");
  c.match = MatchCondition{MatchCondition::Kind::kValue, {MatchValue(int64_t{1})}, ""};
  has_x.must.push_back(c);
  EXPECT_EQ(*three_->Count(has_x, true), 3u);
  PointSelector missing = some;
  missing.ids.push_back(PointId::Num(2));  // not stored: nothing may change
  EXPECT_EQ(three_->UpdatePayload(PayloadUpdate::kClear, missing, {}, {}, std::nullopt, true, RequestContext()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*three_->Count(has_x, true), 3u);
  PointSelector by_filter;
  by_filter.filter = has_x;
  ASSERT_TRUE(three_->Delete(by_filter, true, RequestContext()).ok());
  EXPECT_EQ(three_->Info().points_count, 597u);
  ASSERT_TRUE(three_->CreatePayloadIndex("tag", PayloadSchemaType::kInteger, true).ok());
  EXPECT_EQ(three_->Info().payload_index_points.at("tag"), 597u);
}

// A request's context goes down to every shard a write touches: a write whose deadline passed before it
// took its place in a shard's write order is refused with Qdrant's timeout, and nothing is written.
TEST_P(ShardedCollectionTest, AWriteAfterItsDeadlineIsNotApplied) {
  RequestContext late;
  late.request_id = "req-late";
  late.deadline = Deadline::After(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(late.deadline.Expired());
  std::vector<PointInput> more = Points(30, 13);
  for (size_t i = 0; i < more.size(); ++i) more[i].id = PointId::Num(100000 + i);
  Status refused = three_->Upsert(more, true, late);
  EXPECT_TRUE(IsRequestTimeout(refused)) << refused;
  EXPECT_NE(refused.message().find("Timeout error: Operation 'Upsert'"), std::string_view::npos) << refused;
  EXPECT_NE(refused.message().find("nothing was written"), std::string_view::npos) << refused;
  PointSelector some;
  some.ids = {PointId::Num(1), PointId::Num(8)};
  EXPECT_TRUE(IsRequestTimeout(three_->Delete(some, true, late)));
  EXPECT_EQ(three_->Info().points_count, 600u);

  // With time left the same writes are applied.
  RequestContext in_time;
  in_time.deadline = Deadline::After(std::chrono::seconds(30));
  ASSERT_TRUE(three_->Upsert(more, true, in_time).ok());
  ASSERT_TRUE(three_->Delete(some, true, in_time).ok());
  EXPECT_EQ(three_->Info().points_count, 628u);
}

INSTANTIATE_TEST_SUITE_P(Metrics, ShardedCollectionTest,
                         ::testing::Values(Metric::kEuclid, Metric::kCosine, Metric::kDot));

}  // namespace
}  // namespace vj

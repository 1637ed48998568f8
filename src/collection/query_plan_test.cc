#include "collection/query_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "core/test_dir.h"

namespace vj {
namespace {

constexpr size_t kDim = 8;

// A 3-shard collection of 400 points with Cosine vectors; each test compares a plan's answer with the
// same operator applied to brute-force lists over all points.
class QueryPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CollectionConfig config;
    config.vectors[""] = VectorParams{kDim, Metric::kCosine, std::nullopt, false, std::nullopt};
    config.shard_number = 3;
    auto c = Collection::Open("plan", dir_.path(), config, CollectionOptions{});
    ASSERT_TRUE(c.ok()) << c.status();
    collection_ = std::move(*c);
    std::vector<PointInput> points(400);
    for (size_t i = 0; i < points.size(); ++i) {
      points[i].id = PointId::Num(i * 3 + 2);
      points[i].vectors[""] = RandomVector();
      points[i].payload["i"] = static_cast<int64_t>(i);
      stored_[points[i].id.num()] = points[i].vectors[""];
      NormalizeInPlace(stored_[points[i].id.num()].data(), kDim);
    }
    ASSERT_TRUE(collection_->Upsert(points, true, RequestContext()).ok());
  }

  std::vector<float> RandomVector() {
    std::vector<float> v(kDim);
    for (float& x : v) x = normal_(rng_);
    return v;
  }

  float Cos(const std::vector<float>& q, uint64_t id) const {
    std::vector<float> n = q;
    NormalizeInPlace(n.data(), kDim);
    return VectorSimilarity(Metric::kCosine, n.data(), stored_.at(id).data(), kDim);
  }

  // Brute-force nearest list: the best `limit` by cosine, ties by id.
  std::vector<PointView> Nearest(const std::vector<float>& q, size_t limit) const {
    std::vector<PointView> all;
    for (const auto& [id, v] : stored_) {
      PointView p;
      p.id = PointId::Num(id);
      p.score = Cos(q, id);
      all.push_back(p);
    }
    SortByScoreDescending(&all);
    all.resize(std::min(limit, all.size()));
    return all;
  }

  static QueryNode NearestNode(const std::vector<float>& q, size_t limit) {
    QueryNode node;
    node.op = NearestOp{VectorInput{std::nullopt, q}, std::nullopt};
    node.search.limit = limit;
    return node;
  }

  static void ExpectSame(const std::vector<PointView>& got, const std::vector<PointView>& expected) {
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(*got[i].score, *expected[i].score, 1e-5) << "rank " << i;
      if (got[i].id != expected[i].id) EXPECT_NEAR(*got[i].score, *expected[i].score, 1e-6) << "rank " << i;
    }
  }

  TestDir dir_;
  std::unique_ptr<Collection> collection_;
  std::map<uint64_t, std::vector<float>> stored_;
  std::mt19937_64 rng_{42};
  std::normal_distribution<float> normal_;
};

TEST_F(QueryPlanTest, RrfAndDbsfFuseTheGlobalLists) {
  for (int trial = 0; trial < 5; ++trial) {
    auto q1 = RandomVector();
    auto q2 = RandomVector();
    for (FusionOp::Kind kind : {FusionOp::Kind::kRrf, FusionOp::Kind::kDbsf}) {
      QueryPlan plan;
      plan.root.prefetch = {NearestNode(q1, 25), NearestNode(q2, 40)};
      FusionOp fusion;
      fusion.kind = kind;
      plan.root.op = fusion;
      plan.root.search.limit = 10;
      plan.offset = 2;
      auto got = RunQueryPlan(*collection_, plan);
      ASSERT_TRUE(got.ok()) << got.status();
      auto expected = kind == FusionOp::Kind::kRrf
                          ? FuseRrf({Nearest(q1, 25), Nearest(q2, 40)}, kDefaultRrfK, {})
                          : FuseDbsf({Nearest(q1, 25), Nearest(q2, 40)});
      expected.erase(expected.begin(), expected.begin() + 2);
      expected.resize(10);
      ExpectSame(*got, expected);
      for (const PointView& p : *got) {
        EXPECT_FALSE(p.payload.has_value());
        EXPECT_TRUE(p.vectors.empty());
      }
    }
  }
}

TEST_F(QueryPlanTest, RescoresPrefetchCandidatesAndFetchesPayloadsLast) {
  auto q1 = RandomVector();
  auto q2 = RandomVector();
  QueryPlan plan;
  plan.root = NearestNode(q2, 7);
  plan.root.prefetch = {NearestNode(q1, 30)};
  plan.with_payload.mode = PayloadSelector::Mode::kAll;
  auto got = RunQueryPlan(*collection_, plan);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<PointView> expected;
  for (PointView p : Nearest(q1, 30)) {
    p.score = Cos(q2, p.id.num());
    expected.push_back(p);
  }
  SortByScoreDescending(&expected);
  expected.resize(7);
  ExpectSame(*got, expected);
  for (const PointView& p : *got) {
    ASSERT_TRUE(p.payload.has_value());
    EXPECT_EQ(p.payload->at("i").as_int64() * 3 + 2, static_cast<int64_t>(p.id.num()));
  }
}

TEST_F(QueryPlanTest, RecommendBestScoreScoresEveryPointOnEveryShard) {
  auto pos = RandomVector();
  const uint64_t neg_id = 3 * 10 + 2;
  QueryPlan plan;
  plan.root.op = RecommendOp{{VectorInput{std::nullopt, pos}},
                             {VectorInput{PointId::Num(neg_id), {}}},
                             RecommendStrategy::kBestScore};
  plan.root.search.limit = 12;
  auto got = RunQueryPlan(*collection_, plan);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<PointView> expected;
  for (const auto& [id, v] : stored_) {
    if (id == neg_id) continue;  // an example given by id is not a result
    PointView p;
    p.id = PointId::Num(id);
    p.score = ExampleScore(ExampleScoring::Strategy::kBestScore, {Cos(pos, id)}, {Cos(stored_[neg_id], id)});
    expected.push_back(p);
  }
  SortByScoreDescending(&expected);
  expected.resize(12);
  ExpectSame(*got, expected);
}

TEST_F(QueryPlanTest, MmrSelectsFromTheGlobalCandidates) {
  auto q = RandomVector();
  QueryPlan plan;
  plan.root = NearestNode(q, 6);
  std::get<NearestOp>(plan.root.op).mmr = MmrOp{0.6f, 50};
  auto got = RunQueryPlan(*collection_, plan);
  ASSERT_TRUE(got.ok()) << got.status();
  auto candidates = Nearest(q, 50);
  std::vector<float> relevance;
  for (const auto& c : candidates) relevance.push_back(*c.score);
  auto chosen = SelectMmr(
      relevance,
      [&](size_t a, size_t b) {
        return VectorSimilarity(Metric::kCosine, stored_[candidates[a].id.num()].data(),
                                stored_[candidates[b].id.num()].data(), kDim);
      },
      0.6f, 6);
  ASSERT_EQ(got->size(), chosen.size());
  for (size_t i = 0; i < chosen.size(); ++i) {
    EXPECT_EQ((*got)[i].id, candidates[chosen[i]].id) << i;
    EXPECT_TRUE((*got)[i].vectors.empty());  // the candidates' vectors stay inside the plan
  }
}

TEST_F(QueryPlanTest, UnknownIdIsNotFound) {
  QueryPlan plan;
  plan.root.prefetch = {NearestNode(RandomVector(), 5)};
  plan.root.op = NearestOp{VectorInput{PointId::Num(999999), {}}, std::nullopt};
  auto got = RunQueryPlan(*collection_, plan);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vj

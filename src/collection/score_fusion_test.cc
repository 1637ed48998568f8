#include "collection/score_fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

namespace vj {
namespace {

PointView P(uint64_t id, float score) {
  PointView p;
  p.id = PointId::Num(id);
  p.score = score;
  return p;
}

std::vector<std::vector<PointView>> RandomLists(std::mt19937_64& rng, size_t lists, size_t max_len) {
  std::uniform_int_distribution<uint64_t> id(1, 40);
  std::normal_distribution<float> score(0.5f, 0.3f);
  std::vector<std::vector<PointView>> out(lists);
  for (auto& list : out) {
    const size_t n = rng() % (max_len + 1);
    std::map<uint64_t, float> unique;
    while (unique.size() < n) unique[id(rng)] = score(rng);
    for (const auto& [i, s] : unique) list.push_back(P(i, s));
    std::sort(list.begin(), list.end(),
              [](const PointView& a, const PointView& b) { return *a.score > *b.score; });
  }
  return out;
}

// The fused result must hold exactly the points of `expected`, in its order (score desc, id asc), with
// its scores.
void ExpectFused(const std::vector<PointView>& got, std::map<uint64_t, double> expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const uint64_t id = got[i].id.num();
    ASSERT_TRUE(expected.count(id)) << id;
    EXPECT_NEAR(*got[i].score, expected[id], 1e-5) << "rank " << i;
    if (i > 0) {
      EXPECT_TRUE(*got[i - 1].score > *got[i].score ||
                  (*got[i - 1].score == *got[i].score && got[i - 1].id < got[i].id));
    }
  }
}

TEST(ScoreFusionTest, RrfMatchesQdrantsExample) {
  // Qdrant's own test of its RRF with k = 2.
  auto fused =
      FuseRrf({{P(2, .9f), P(1, .8f)}, {P(1, .7f), P(2, .6f), P(3, .5f)}, {P(5, .9f), P(3, .5f), P(1, .4f)}},
              kDefaultRrfK, {});
  ASSERT_EQ(fused.size(), 4u);
  EXPECT_EQ(fused[0].id.num(), 1u);
  EXPECT_FLOAT_EQ(*fused[0].score, 1.0833334f);
  EXPECT_EQ(fused[1].id.num(), 2u);
  EXPECT_FLOAT_EQ(*fused[1].score, 0.8333334f);
  EXPECT_EQ(fused[2].id.num(), 3u);
  EXPECT_FLOAT_EQ(*fused[2].score, 0.5833334f);
  EXPECT_EQ(fused[3].id.num(), 5u);
  EXPECT_FLOAT_EQ(*fused[3].score, 0.5f);
}

TEST(ScoreFusionTest, RrfMatchesItsFormulaWithWeights) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    auto lists = RandomLists(rng, 1 + rng() % 4, 12);
    const double k = 1 + static_cast<double>(rng() % 70);
    std::vector<float> weights;
    if (trial % 2) {
      for (size_t i = 0; i < lists.size(); ++i) weights.push_back(static_cast<float>(rng() % 5) * 0.75f);
    }
    std::map<uint64_t, double> expected;
    for (size_t i = 0; i < lists.size(); ++i) {
      const double w = weights.empty() ? 1.0 : weights[i];
      for (size_t pos = 0; pos < lists[i].size(); ++pos) {
        expected[lists[i][pos].id.num()] += w <= 0 ? 0.0 : 1.0 / ((pos + 1) / w + k - 1);
      }
    }
    ExpectFused(FuseRrf(lists, k, weights), expected);
  }
}

TEST(ScoreFusionTest, DbsfMatchesItsFormula) {
  std::mt19937_64 rng(8);
  for (int trial = 0; trial < 200; ++trial) {
    auto lists = RandomLists(rng, 1 + rng() % 4, 12);
    std::map<uint64_t, double> expected;
    for (const auto& list : lists) {
      const double n = static_cast<double>(list.size());
      double mean = 0;
      for (const auto& p : list) mean += *p.score;
      mean /= std::max(1.0, n);
      double var = 0;
      for (const auto& p : list) var += (*p.score - mean) * (*p.score - mean);
      const double sd = n >= 2 ? std::sqrt(var / (n - 1)) : 0;
      for (const auto& p : list) {
        expected[p.id.num()] += (n < 2 || sd == 0) ? 0.5 : (*p.score - (mean - 3 * sd)) / (6 * sd);
      }
    }
    ExpectFused(FuseDbsf(lists), expected);
  }
  // A list of one point, or of equal scores, counts 0.5 for each.
  auto fused = FuseDbsf({{P(1, 3.0f)}, {P(2, 1.0f), P(1, 1.0f)}});
  ExpectFused(fused, {{1, 1.0}, {2, 0.5}});
}

// Greedy MMR written out plainly, as the definition reads.
std::vector<size_t> ReferenceMmr(const std::vector<float>& rel, const std::vector<std::vector<float>>& sim,
                                 float diversity, size_t limit) {
  std::vector<size_t> chosen;
  std::vector<size_t> left;
  for (size_t i = 0; i < rel.size(); ++i) left.push_back(i);
  while (!left.empty() && chosen.size() < limit) {
    size_t best_pos = 0;
    double best = -1e30;
    for (size_t j = 0; j < left.size(); ++j) {
      const size_t i = left[j];
      double value = rel[i];
      if (!chosen.empty()) {
        double max_sim = -1e30;
        for (size_t c : chosen) max_sim = std::max<double>(max_sim, sim[i][c]);
        value = (1.0 - diversity) * rel[i] - diversity * max_sim;
      }
      if (value > best) {
        best = value;
        best_pos = j;
      }
    }
    chosen.push_back(left[best_pos]);
    left.erase(left.begin() + static_cast<long>(best_pos));
  }
  return chosen;
}

TEST(ScoreFusionTest, MmrIsTheGreedyDefinition) {
  std::mt19937_64 rng(9);
  std::normal_distribution<float> normal;
  for (int trial = 0; trial < 100; ++trial) {
    const size_t n = 1 + rng() % 30;
    const size_t dim = 6;
    std::vector<std::vector<float>> vecs(n, std::vector<float>(dim));
    for (auto& v : vecs) {
      for (float& x : v) x = normal(rng);
      NormalizeInPlace(v.data(), dim);
    }
    std::vector<float> q(dim);
    for (float& x : q) x = normal(rng);
    NormalizeInPlace(q.data(), dim);
    std::vector<float> rel(n);
    std::vector<std::vector<float>> sim(n, std::vector<float>(n));
    for (size_t i = 0; i < n; ++i) {
      rel[i] = VectorSimilarity(Metric::kCosine, q.data(), vecs[i].data(), dim);
      for (size_t j = 0; j < n; ++j)
        sim[i][j] = VectorSimilarity(Metric::kCosine, vecs[i].data(), vecs[j].data(), dim);
    }
    const float diversity = static_cast<float>(rng() % 11) / 10.0f;
    const size_t limit = 1 + rng() % 12;
    auto got = SelectMmr(
        rel, [&](size_t a, size_t b) { return sim[a][b]; }, diversity, limit);
    EXPECT_EQ(got, ReferenceMmr(rel, sim, diversity, limit)) << "trial " << trial;
  }
  // diversity 0 is relevance order.
  auto got = SelectMmr(
      {0.1f, 0.9f, 0.5f}, [](size_t, size_t) { return 1.0f; }, 0.0f, 3);
  EXPECT_EQ(got, (std::vector<size_t>{1, 2, 0}));
}

TEST(ScoreFusionTest, ExampleScores) {
  using S = ExampleScoring::Strategy;
  auto sigmoid = [](float x) { return 0.5f * (x / (1 + std::fabs(x)) + 1); };
  // Qdrant's cases: the higher of best positive and best negative decides.
  EXPECT_FLOAT_EQ(ExampleScore(S::kBestScore, {42}, {4}), sigmoid(42));
  EXPECT_FLOAT_EQ(ExampleScore(S::kBestScore, {4}, {42}), -sigmoid(42));
  EXPECT_FLOAT_EQ(ExampleScore(S::kBestScore, {-1}, {0}), -sigmoid(0));
  EXPECT_FLOAT_EQ(ExampleScore(S::kBestScore, {0}, {-1}), sigmoid(0));
  EXPECT_FLOAT_EQ(ExampleScore(S::kBestScore, {-42}, {-84}), sigmoid(-42));
  EXPECT_FLOAT_EQ(ExampleScore(S::kBestScore, {1, 2, 3}, {4, 5, 6}), -sigmoid(6));
  EXPECT_FLOAT_EQ(ExampleScore(S::kBestScore, {10, 2, 3}, {4, 5, 6}), sigmoid(10));
  EXPECT_FLOAT_EQ(ExampleScore(S::kBestScore, {}, {0.5f}), -sigmoid(0.5f));
  EXPECT_FLOAT_EQ(ExampleScore(S::kSumScores, {0.5f, 0.25f}, {0.125f}), 0.625f);
  // discover: +1 / -1 per pair by the closer side, plus the scaled sigmoid of the target similarity.
  EXPECT_FLOAT_EQ(ExampleScore(S::kDiscover, {0.9f, 0.1f, 0.5f}, {0.2f, 0.3f, 0.4f}, 0.25f),
                  1 + sigmoid(0.25f));
  EXPECT_FLOAT_EQ(ExampleScore(S::kDiscover, {}, {}, -2.0f), sigmoid(-2.0f));
  // context: 0 on the positive side of every pair, else the fast sigmoid of the shortfall.
  EXPECT_FLOAT_EQ(ExampleScore(S::kContext, {0.9f, 0.7f}, {0.2f, 0.3f}), 0.0f);
  const float d = 0.25f - 0.75f - std::numeric_limits<float>::epsilon();
  EXPECT_FLOAT_EQ(ExampleScore(S::kContext, {0.9f, 0.25f}, {0.2f, 0.75f}), d / (1 + std::fabs(d)));
  // A point chosen by a positive always beats one chosen by a negative.
  EXPECT_GT(ExampleScore(S::kBestScore, {-100}, {}), ExampleScore(S::kBestScore, {}, {-100}));
}

TEST(ScoreFusionTest, Similarity) {
  const float a[2] = {3, 4};
  const float b[2] = {0, 0};
  EXPECT_FLOAT_EQ(VectorSimilarity(Metric::kEuclid, a, b, 2), -5.0f);
  EXPECT_FLOAT_EQ(VectorSimilarity(Metric::kManhattan, a, b, 2), -7.0f);
  EXPECT_FLOAT_EQ(VectorSimilarity(Metric::kDot, a, a, 2), 25.0f);
  EXPECT_FLOAT_EQ(ScoreToSimilarity(Metric::kEuclid, 2.0f), -2.0f);
  EXPECT_FLOAT_EQ(ScoreToSimilarity(Metric::kCosine, 0.5f), 0.5f);
}

}  // namespace
}  // namespace vj

#include "index/sparse_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

namespace vj {
namespace {

// Random sparse vectors over a Zipf-like vocabulary (a few indices are in most vectors, as words are).
class SparseData {
 public:
  SparseData(uint32_t vocabulary, uint64_t seed) : rng_(seed) {
    std::vector<double> weights(vocabulary);
    for (uint32_t i = 0; i < vocabulary; ++i) weights[i] = 1.0 / (i + 1.0);
    zipf_ = std::discrete_distribution<uint32_t>(weights.begin(), weights.end());
  }
  SparseVector Next(size_t max_nnz) {
    std::set<uint32_t> indices;
    const size_t nnz = 1 + rng_() % max_nnz;
    while (indices.size() < nnz) indices.insert(zipf_(rng_));
    SparseVector v;
    std::uniform_real_distribution<float> value(-0.5f, 2.0f);
    for (uint32_t i : indices) {
      v.indices.push_back(i);
      v.values.push_back(value(rng_));
    }
    return v;
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::discrete_distribution<uint32_t> zipf_;
};

void ExpectSameRanking(const std::vector<SparseHit>& got, const std::vector<SparseHit>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i].score, want[i].score, 1e-4f * (1 + std::fabs(want[i].score))) << "rank " << i;
    // Ids must agree except where two scores are too close for summation order to decide.
    const bool tie_before = i > 0 && std::fabs(want[i].score - want[i - 1].score) < 1e-4f;
    const bool tie_after = i + 1 < want.size() && std::fabs(want[i].score - want[i + 1].score) < 1e-4f;
    if (!tie_before && !tie_after) {
      EXPECT_EQ(got[i].id, want[i].id) << "rank " << i;
    }
  }
}

// Runs random inserts, replacements and deletes against a map kept alongside; checks Search and
// SearchAmong against the exhaustive reference after each round, with and without a filter.
void RunAgainstReference(bool idf, uint64_t seed) {
  SparseData data(2000, seed);
  SparseIndex index(idf);
  std::map<uint32_t, SparseVector> truth;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 1500; ++i) {
      const uint32_t id = static_cast<uint32_t>(data.rng()() % 3000);
      if (data.rng()() % 5 == 0) {
        index.Remove(id);
        truth.erase(id);
      } else {
        SparseVector v = data.Next(40);
        index.Insert(id, v);
        truth[id] = v;
      }
    }
    ASSERT_EQ(index.live_count(), truth.size());
    std::vector<std::pair<uint32_t, SparseVector>> all(truth.begin(), truth.end());
    std::vector<std::pair<uint32_t, SparseVector>> even;
    std::vector<uint32_t> even_ids;
    for (const auto& [id, v] : truth) {
      if (id % 2 == 0) {
        even.emplace_back(id, v);
        even_ids.push_back(id);
      }
    }
    for (int q = 0; q < 20; ++q) {
      const SparseVector query = data.Next(8);
      const SparseVector weighted = index.WeightedQuery(query);
      for (size_t k : {1, 10, 100}) {
        ExpectSameRanking(index.Search(query, k, nullptr), BruteForceSparseTopK(weighted, k, all));
        auto even_only = [](uint32_t id) { return id % 2 == 0; };
        ExpectSameRanking(index.Search(query, k, even_only), BruteForceSparseTopK(weighted, k, even));
        ExpectSameRanking(index.SearchAmong(query, k, even_ids), BruteForceSparseTopK(weighted, k, even));
      }
    }
  }
}

TEST(SparseIndexTest, MatchesBruteForceWithDeletesAndFilters) { RunAgainstReference(false, 7); }

TEST(SparseIndexTest, MatchesBruteForceWithIdf) { RunAgainstReference(true, 11); }

TEST(SparseIndexTest, IdfFollowsQdrantFormula) {
  SparseIndex index(true);
  // 4 points; index 1 is in 1 of them, index 2 in all 4.
  index.Insert(0, SparseVector{{1, 2}, {1.0f, 1.0f}});
  index.Insert(1, SparseVector{{2}, {1.0f}});
  index.Insert(2, SparseVector{{2}, {1.0f}});
  index.Insert(3, SparseVector{{2, 9}, {1.0f, 1.0f}});
  const SparseVector w = index.WeightedQuery(SparseVector{{1, 2, 5}, {2.0f, 1.0f, 1.0f}});
  EXPECT_FLOAT_EQ(w.values[0], 2.0f * std::log((4 - 1 + 0.5) / (1 + 0.5) + 1));
  EXPECT_FLOAT_EQ(w.values[1], 1.0f * std::log((4 - 4 + 0.5) / (4 + 0.5) + 1));
  EXPECT_FLOAT_EQ(w.values[2], 1.0f * std::log((4 - 0 + 0.5) / (0 + 0.5) + 1));
  // Removing a point changes the statistics at once.
  index.Remove(0);
  const SparseVector after = index.WeightedQuery(SparseVector{{2}, {1.0f}});
  EXPECT_FLOAT_EQ(after.values[0], std::log((3 - 3 + 0.5) / (3 + 0.5) + 1));
}

TEST(SparseIndexTest, OnlyPointsSharingAnIndexAreReturned) {
  SparseIndex index(false);
  index.Insert(0, SparseVector{{1}, {1.0f}});
  index.Insert(1, SparseVector{{2}, {-3.0f}});
  index.Insert(2, SparseVector{{3}, {5.0f}});
  const std::vector<SparseHit> hits = index.Search(SparseVector{{1, 2}, {1.0f, 1.0f}}, 10, nullptr);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0], (SparseHit{0, 1.0f}));
  EXPECT_EQ(hits[1], (SparseHit{1, -3.0f}));  // a negative dot product is still a result, ranked last
  EXPECT_TRUE(index.Search(SparseVector{{7}, {1.0f}}, 10, nullptr).empty());
}

TEST(SparseIndexTest, ReplaceAndGet) {
  SparseIndex index(false);
  index.Insert(5, SparseVector{{1, 2}, {1.0f, 2.0f}});
  index.Insert(5, SparseVector{{3}, {4.0f}});
  SparseVector got;
  ASSERT_TRUE(index.Get(5, &got));
  EXPECT_EQ(got, (SparseVector{{3}, {4.0f}}));
  EXPECT_EQ(index.live_count(), 1u);
  EXPECT_TRUE(index.Search(SparseVector{{1}, {1.0f}}, 10, nullptr).empty());
  index.Remove(5);
  EXPECT_FALSE(index.Get(5, &got));
  EXPECT_FALSE(index.Contains(5));
  index.Remove(5);  // absent: no-op
  EXPECT_EQ(index.live_count(), 0u);
}

TEST(SparseVectorTest, Validation) {
  EXPECT_TRUE(ValidateSparseVector(SparseVector{{3, 1}, {1, 2}}, 10, "v").ok());
  EXPECT_FALSE(ValidateSparseVector(SparseVector{{1, 1}, {1, 2}}, 10, "v").ok());
  EXPECT_FALSE(ValidateSparseVector(SparseVector{{1}, {1, 2}}, 10, "v").ok());
  EXPECT_FALSE(ValidateSparseVector(SparseVector{{1}, {NAN}}, 10, "v").ok());
  EXPECT_FALSE(ValidateSparseVector(SparseVector{{1, 2, 3}, {1, 1, 1}}, 2, "v").ok());
  SparseVector v{{3, 1, 2}, {30, 10, 20}};
  CanonicalizeSparseVector(&v);
  EXPECT_EQ(v, (SparseVector{{1, 2, 3}, {10, 20, 30}}));
}

}  // namespace
}  // namespace vj

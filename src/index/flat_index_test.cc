#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "index/vector_index.h"

namespace vj {
namespace {

constexpr Metric kMetrics[] = {Metric::kCosine, Metric::kDot, Metric::kEuclid, Metric::kManhattan};

std::vector<float> RandomVectors(size_t n, size_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> out(n * dim);
  for (float& x : out) x = gauss(rng);
  return out;
}

// The answer by definition: every distance, computed the plain way, sorted.
std::vector<Neighbor> NaiveTopK(Metric metric, const std::vector<float>& data, size_t dim,
                                const float* query, size_t k, const std::vector<bool>& live) {
  std::vector<float> q(query, query + dim);
  if (metric == Metric::kCosine) NormalizeInPlace(q.data(), dim);
  std::vector<Neighbor> all;
  for (size_t i = 0; i * dim < data.size(); ++i) {
    if (!live[i]) continue;
    std::vector<float> v(data.begin() + i * dim, data.begin() + (i + 1) * dim);
    if (metric == Metric::kCosine) NormalizeInPlace(v.data(), dim);
    double s = 0;
    for (size_t j = 0; j < dim; ++j) {
      switch (metric) {
        case Metric::kEuclid:
          s += (double(q[j]) - v[j]) * (double(q[j]) - v[j]);
          break;
        case Metric::kManhattan:
          s += std::fabs(double(q[j]) - v[j]);
          break;
        case Metric::kDot:
        case Metric::kCosine:
          s -= double(q[j]) * v[j];
          break;
      }
    }
    all.push_back({static_cast<uint32_t>(i), static_cast<float>(s)});
  }
  std::sort(all.begin(), all.end());
  if (all.size() > k) all.resize(k);
  return all;
}

TEST(FlatIndexTest, ExactForEveryMetric) {
  constexpr size_t kDim = 19, kN = 600, kK = 10;
  const std::vector<float> data = RandomVectors(kN, kDim, 1);
  const std::vector<float> queries = RandomVectors(20, kDim, 2);
  std::vector<bool> live(kN, true);
  for (Metric metric : kMetrics) {
    auto index = NewFlatIndex(kDim, metric);
    for (uint32_t i = 0; i < kN; ++i) index->Insert(i, &data[i * kDim]);
    EXPECT_EQ(index->live_count(), kN);
    for (size_t q = 0; q < 20; ++q) {
      const float* query = &queries[q * kDim];
      std::vector<Neighbor> got = index->Search(query, {.k = kK}, nullptr);
      std::vector<Neighbor> want = NaiveTopK(metric, data, kDim, query, kK, live);
      ASSERT_EQ(got.size(), kK);
      for (size_t i = 0; i < kK; ++i) {
        // Rounding may swap near-ties, so compare distances, not ids.
        EXPECT_NEAR(got[i].distance, want[i].distance, 1e-4 * (1 + std::fabs(want[i].distance)))
            << MetricName(metric) << " query " << q << " rank " << i;
      }
      EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
    }
  }
}

TEST(FlatIndexTest, RemoveFilterAndUpdate) {
  constexpr size_t kDim = 8, kN = 200;
  std::vector<float> data = RandomVectors(kN, kDim, 3);
  auto index = NewFlatIndex(kDim, Metric::kEuclid);
  std::vector<uint32_t> ids(kN);
  std::vector<const float*> ptrs(kN);
  for (uint32_t i = 0; i < kN; ++i) ids[i] = i, ptrs[i] = &data[i * kDim];
  index->InsertBatch(ids, ptrs, 2);

  // Each vector is its own nearest neighbour until it is removed.
  EXPECT_EQ(index->Search(&data[5 * kDim], {.k = 1}, nullptr)[0].id, 5u);
  index->Remove(5);
  index->Remove(5);
  index->Remove(100000);  // absent: no-op
  EXPECT_EQ(index->live_count(), kN - 1);
  EXPECT_NE(index->Search(&data[5 * kDim], {.k = 1}, nullptr)[0].id, 5u);
  std::vector<float> out(kDim);
  EXPECT_FALSE(index->GetVector(5, out.data()));
  EXPECT_TRUE(std::isinf(index->DistanceTo(&data[0], 5)));

  // Filter: only even ids come back.
  std::vector<Neighbor> even =
      index->Search(&data[7 * kDim], {.k = 50}, [](uint32_t id) { return id % 2 == 0; });
  ASSERT_EQ(even.size(), 50u);
  for (const Neighbor& n : even) EXPECT_EQ(n.id % 2, 0u);

  // Update: id 7 moves onto id 9's vector.
  index->Insert(7, &data[9 * kDim]);
  EXPECT_EQ(index->live_count(), kN - 1);
  ASSERT_TRUE(index->GetVector(7, out.data()));
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + 9 * kDim));
  EXPECT_FLOAT_EQ(index->DistanceTo(&data[9 * kDim], 7), 0.0f);

  // k above the live count returns everything live.
  EXPECT_EQ(index->Search(&data[0], {.k = 1000}, nullptr).size(), kN - 1);
  EXPECT_TRUE(index->Search(&data[0], {.k = 0}, nullptr).empty());
}

TEST(FlatIndexTest, SearchAmongSkipsAbsentIds) {
  constexpr size_t kDim = 4;
  std::vector<float> data = RandomVectors(50, kDim, 4);
  auto index = NewFlatIndex(kDim, Metric::kDot);
  for (uint32_t i = 0; i < 50; ++i) index->Insert(i, &data[i * kDim]);
  index->Remove(3);
  std::vector<Neighbor> got = index->SearchAmong(&data[0], 10, {1, 3, 10, 10, 49, 5000});
  ASSERT_EQ(got.size(), 3u);
  std::vector<uint32_t> got_ids;
  for (const Neighbor& n : got) got_ids.push_back(n.id);
  std::sort(got_ids.begin(), got_ids.end());
  EXPECT_EQ(got_ids, (std::vector<uint32_t>{1, 10, 49}));
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
}

TEST(FlatIndexTest, CosineStoresUnitVectorsAndSparseIds) {
  auto index = NewFlatIndex(2, Metric::kCosine);
  const float a[2] = {3, 4};
  const float zero[2] = {0, 0};
  index->Insert(1000, a);
  index->Insert(7, zero);
  float out[2];
  ASSERT_TRUE(index->GetVector(1000, out));
  EXPECT_FLOAT_EQ(out[0], 0.6f);
  EXPECT_FLOAT_EQ(out[1], 0.8f);
  const float q[2] = {30, 40};
  std::vector<Neighbor> got = index->Search(q, {.k = 2}, nullptr);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, 1000u);
  EXPECT_NEAR(got[0].distance, -1.0f, 1e-6);
  EXPECT_EQ(got[1].id, 7u);
  EXPECT_EQ(got[1].distance, 0.0f);
}

TEST(FlatIndexTest, DimOne) {
  auto index = NewFlatIndex(1, Metric::kManhattan);
  for (uint32_t i = 0; i < 10; ++i) {
    const float v = static_cast<float>(i);
    index->Insert(i, &v);
  }
  const float q = 6.2f;
  std::vector<Neighbor> got = index->Search(&q, {.k = 3}, nullptr);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, 6u);
  EXPECT_EQ(got[1].id, 7u);
  EXPECT_EQ(got[2].id, 5u);
}

}  // namespace
}  // namespace vj

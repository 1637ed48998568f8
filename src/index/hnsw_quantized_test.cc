// HNSW searched on SQ8 codes (HnswParams::quantization): recall, re-ranking, training threshold.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <unordered_set>
#include <vector>

#include "gtest/gtest.h"
#include "index/binary_quantizer.h"
#include "index/scalar_quantizer.h"
#include "index/vector_index.h"

namespace vj {
namespace {

constexpr size_t kDim = 48;
constexpr size_t kN = 4000;
constexpr size_t kK = 10;

// Integer values in 0..255 (as image pixels): SQ8 with the full range encodes them exactly.
std::vector<float> PixelVectors(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> centers(20 * kDim);
  for (float& x : centers) x = static_cast<float>(rng() % 256);
  std::normal_distribution<float> noise(0.0f, 20.0f);
  std::vector<float> out(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = rng() % 20;
    for (size_t j = 0; j < kDim; ++j) {
      out[i * kDim + j] = std::clamp(std::round(centers[c * kDim + j] + noise(rng)), 0.0f, 255.0f);
    }
  }
  return out;
}

std::vector<float> GaussianVectors(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * kDim);
  for (float& x : out) x = g(rng);
  return out;
}

std::unique_ptr<VectorIndex> Build(Metric metric, Quantization q, const std::vector<float>& base) {
  HnswParams p;
  p.m = 16;
  p.ef_construct = 100;
  p.quantization = q;
  auto index = NewHnswIndex(kDim, metric, p);
  std::vector<uint32_t> ids(base.size() / kDim);
  std::vector<const float*> ptrs(ids.size());
  for (uint32_t i = 0; i < ids.size(); ++i) ids[i] = i, ptrs[i] = &base[i * kDim];
  // One thread: a deterministic graph, so float and (lossless) SQ8 indexes can be compared exactly.
  index->InsertBatch(ids, ptrs, 1);
  return index;
}

double Recall(const VectorIndex& index, const VectorIndex& exact, const std::vector<float>& queries,
              SearchParams params) {
  size_t hits = 0, total = 0;
  for (size_t q = 0; q < queries.size() / kDim; ++q) {
    SearchParams exact_params;
    exact_params.k = params.k;
    exact_params.exact = true;
    auto want = exact.Search(&queries[q * kDim], exact_params, nullptr);
    auto got = index.Search(&queries[q * kDim], params, nullptr);
    const float kth = want.back().distance;
    for (const Neighbor& n : got) hits += n.distance <= kth + 1e-3f * (1 + std::fabs(kth));
    total += want.size();
  }
  return static_cast<double>(hits) / static_cast<double>(total);
}

TEST(HnswQuantizedTest, IntegerDataIsLosslessSoRecallMatchesFloatSearch) {
  auto base = PixelVectors(kN, 1), queries = PixelVectors(100, 2);
  auto plain = Build(Metric::kEuclid, Quantization::kNone, base);
  auto sq8 = Build(Metric::kEuclid, Quantization::kScalarInt8, base);
  SearchParams p;
  p.k = kK;
  p.ef = 256;
  const double float_recall = Recall(*plain, *plain, queries, p);
  const double code_recall = Recall(*sq8, *plain, queries, p);
  std::printf("float recall %.4f, sq8 recall %.4f\n", float_recall, code_recall);
  EXPECT_GE(code_recall, 0.95);
  EXPECT_NEAR(code_recall, float_recall, 0.01);
  // Re-ranked distances are the exact float ones.
  auto got = sq8->Search(&queries[0], p, nullptr);
  ASSERT_FALSE(got.empty());
  EXPECT_FLOAT_EQ(got[0].distance, plain->DistanceTo(&queries[0], got[0].id));
}

TEST(HnswQuantizedTest, LossyCodesWithRescoreKeepRecallForEveryMetric) {
  auto base = GaussianVectors(kN, 3), queries = GaussianVectors(100, 4);
  for (Metric metric : {Metric::kEuclid, Metric::kCosine, Metric::kDot, Metric::kManhattan}) {
    auto exact = Build(metric, Quantization::kNone, base);
    auto sq8 = Build(metric, Quantization::kScalarInt8, base);
    SearchParams p;
    p.k = kK;
    p.ef = 128;
    p.oversampling = 2.0f;
    const double recall = Recall(*sq8, *exact, queries, p);
    EXPECT_GE(recall, metric == Metric::kDot ? 0.85 : 0.9) << MetricName(metric);
    p.ignore_quantization = true;
    EXPECT_GE(Recall(*sq8, *exact, queries, p), metric == Metric::kDot ? 0.85 : 0.9) << MetricName(metric);
  }
}

TEST(HnswQuantizedTest, SmallIndexesSearchOnFloatsUntilTrained) {
  auto base = PixelVectors(kQuantizerTrainingPoints + 10, 5);
  HnswParams p;
  p.quantization = Quantization::kScalarInt8;
  auto index = NewHnswIndex(kDim, Metric::kEuclid, p);
  // One by one: the quantizer trains when the index reaches kQuantizerTrainingPoints.
  for (uint32_t i = 0; i < base.size() / kDim; ++i) {
    index->Insert(i, &base[i * kDim]);
    if (i == 10 || i + 1 == base.size() / kDim) {
      SearchParams sp;
      sp.k = 1;
      sp.ef = 64;
      auto got = index->Search(&base[5 * kDim], sp, nullptr);
      ASSERT_EQ(got.size(), 1u);
      EXPECT_EQ(got[0].id, 5u);
      EXPECT_FLOAT_EQ(got[0].distance, 0.0f);
    }
  }
}

TEST(HnswQuantizedTest, BinaryCodesWithOversampledRescoreRecoverRecall) {
  // Embedding-like data: wide vectors with a low intrinsic dimension (a random 16-dimensional subspace
  // plus noise); each bit says on which side of the mean a coordinate lies. Binary codes suit such wide
  // vectors only (48 bits, this file's kDim, separate neighbours poorly).
  constexpr size_t kWide = 256, kRank = 16;
  std::mt19937 rng(6);
  std::normal_distribution<float> g;
  std::vector<float> basis(kRank * kWide);
  for (float& x : basis) x = g(rng);
  auto make = [&](size_t n) {
    std::vector<float> out(n * kWide);
    for (size_t i = 0; i < n; ++i) {
      float z[kRank];
      for (float& x : z) x = g(rng);
      for (size_t j = 0; j < kWide; ++j) {
        float v = 0.1f * g(rng);
        for (size_t r = 0; r < kRank; ++r) v += z[r] * basis[r * kWide + j];
        out[i * kWide + j] = v;
      }
    }
    return out;
  };
  const std::vector<float> base = make(kN), queries = make(100);
  std::vector<uint32_t> ids(kN);
  std::vector<const float*> ptrs(kN);
  for (uint32_t i = 0; i < kN; ++i) ids[i] = i, ptrs[i] = &base[i * kWide];
  HnswParams hp;
  hp.quantization = Quantization::kBinary;
  auto binary = NewHnswIndex(kWide, Metric::kEuclid, hp);
  binary->InsertBatch(ids, ptrs, 2);
  auto recall = [&](const SearchParams& p) {
    size_t hits = 0;
    for (size_t q = 0; q < 100; ++q) {
      auto want = binary->Search(&queries[q * kWide], {.k = kK, .exact = true}, nullptr);
      auto got = binary->Search(&queries[q * kWide], p, nullptr);
      for (const Neighbor& n : got) hits += n.distance <= want.back().distance;
    }
    return double(hits) / double(100 * kK);
  };
  SearchParams p{.k = kK, .ef = 64};
  const double plain = recall(p);
  p.oversampling = 4.0f;
  const double x4 = recall(p);
  p.oversampling = 10.0f;
  const double x10 = recall(p);
  p.ignore_quantization = true;
  const double on_floats = recall(p);
  std::printf("binary recall: rescore x1 %.4f, x4 %.4f, x10 %.4f; floats %.4f\n", plain, x4, x10,
              on_floats);
  EXPECT_GT(x4, plain);
  EXPECT_GE(x10, x4);
  EXPECT_GE(x10, 0.8);
  // Without rescore the distances are Hamming distances between codes.
  p.ignore_quantization = false;
  p.rescore = false;
  auto got = binary->Search(&queries[0], p, nullptr);
  ASSERT_EQ(got.size(), kK);
  EXPECT_EQ(got[0].distance, std::floor(got[0].distance));
}

TEST(BinaryQuantizerTest, ThresholdsAtTheMeanAndHamming) {
  std::vector<float> a = {0, 10, 100}, b = {10, 30, 100};
  auto q = BinaryQuantizer::Train(3, {a.data(), b.data()});
  EXPECT_EQ(q.thresholds(), (std::vector<float>{5, 20, 100}));
  uint8_t ca[8], cb[8];
  q.Encode(a.data(), ca);
  q.Encode(b.data(), cb);
  EXPECT_EQ(ca[0], 0);     // nothing above the mean
  EXPECT_EQ(cb[0], 0b11);  // the first two dimensions
  EXPECT_FLOAT_EQ(q.Distance(ca, cb), 2.0f);
  EXPECT_EQ(BinaryQuantizer::CodeBytes(1), 8u);
  EXPECT_EQ(BinaryQuantizer::CodeBytes(64), 8u);
  EXPECT_EQ(BinaryQuantizer::CodeBytes(65), 16u);
}

TEST(ScalarQuantizerTest, RangeAndDistances) {
  std::vector<float> a = {0, 255, 10}, b = {3, 250, 10};
  auto q = ScalarQuantizer::Train(Metric::kEuclid, 3, {a.data(), b.data()}, 1.0f);
  EXPECT_FLOAT_EQ(q.low(), 0.0f);
  EXPECT_FLOAT_EQ(q.scale(), 1.0f);
  uint8_t ca[3], cb[3];
  q.Encode(a.data(), ca);
  q.Encode(b.data(), cb);
  EXPECT_FLOAT_EQ(q.Distance(ca, 0, cb, 0), 9.0f + 25.0f);
  auto dot = ScalarQuantizer::Train(Metric::kDot, 3, {a.data(), b.data()}, 1.0f);
  EXPECT_FLOAT_EQ(dot.Distance(ca, ScalarQuantizer::CodeSum(ca, 3), cb, ScalarQuantizer::CodeSum(cb, 3)),
                  -(0.0f * 3 + 255.0f * 250.0f + 100.0f));
  // Values outside the trained range clamp.
  std::vector<float> wide = {-100, 1000, 5};
  uint8_t cw[3];
  q.Encode(wide.data(), cw);
  EXPECT_EQ(cw[0], 0);
  EXPECT_EQ(cw[1], 255);
}

// Anisotropic data, as learned embeddings are: a few dimensions carry a large, nearly constant value
// (Gaussian noise on an offset of 400) and the rest, where the neighbours differ, spread ~1. One global
// range must span the offset, leaving the informative dimensions a handful of levels; a range per
// dimension gives each of them all 256.
std::vector<float> AnisotropicVectors(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * kDim);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < kDim; ++j) out[i * kDim + j] = j < 3 ? 400.0f + g(rng) : g(rng);
  }
  return out;
}

std::unique_ptr<VectorIndex> BuildRanges(Metric metric, Sq8Ranges ranges, const std::vector<float>& base) {
  HnswParams p;
  p.quantization = Quantization::kScalarInt8;
  p.sq8_ranges = ranges;
  auto index = NewHnswIndex(kDim, metric, p);
  std::vector<uint32_t> ids(base.size() / kDim);
  std::vector<const float*> ptrs(ids.size());
  for (uint32_t i = 0; i < ids.size(); ++i) ids[i] = i, ptrs[i] = &base[i * kDim];
  index->InsertBatch(ids, ptrs, 2);
  return index;
}

TEST(HnswQuantizedTest, PerDimensionRangesLiftTheRecallCeilingOfOneGlobalRange) {
  const auto base = AnisotropicVectors(kN, 11), queries = AnisotropicVectors(100, 12);
  // L2 only: under Dot (and Cosine, whose normalisation leaves the same shape) the offset dimensions'
  // noise, times 400, dominates every product, and one range that spans them keeps it.
  for (Metric metric : {Metric::kEuclid}) {
    SCOPED_TRACE(MetricName(metric));
    auto exact = Build(metric, Quantization::kNone, base);
    SearchParams p{.k = kK, .ef = 256, .oversampling = 2.0f};
    const double global = Recall(*BuildRanges(metric, Sq8Ranges::kGlobal, base), *exact, queries, p);
    const double per_dim = Recall(*BuildRanges(metric, Sq8Ranges::kPerDimension, base), *exact, queries, p);
    // The default (kAuto) picks per-dimension ranges for such float data.
    const double automatic = Recall(*BuildRanges(metric, Sq8Ranges::kAuto, base), *exact, queries, p);
    std::printf("%s recall at ef 256: global range %.4f, per dimension %.4f, auto %.4f\n", std::string(MetricName(metric)).c_str(),
                global, per_dim, automatic);
    EXPECT_LT(global, 0.9);  // the ceiling: even a wide walk re-ranks the wrong candidates
    EXPECT_GE(per_dim, 0.98);
    EXPECT_GE(automatic, 0.98);
  }
}

TEST(ScalarQuantizerTest, PerDimensionRangesAndAsymmetricDistances) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  constexpr size_t kD = 40;
  std::vector<std::vector<float>> vectors(300, std::vector<float>(kD));
  for (auto& v : vectors) {
    for (size_t i = 0; i < kD; ++i) v[i] = i == 0 ? std::round(100.0f + 5.0f * g(rng)) : (1.0f + i) * g(rng);
  }
  std::vector<const float*> sample;
  for (const auto& v : vectors) sample.push_back(v.data());
  for (Metric metric : {Metric::kEuclid, Metric::kDot, Metric::kCosine}) {
    SCOPED_TRACE(MetricName(metric));
    auto q = ScalarQuantizer::Train(metric, kD, sample, 1.0f, ScalarQuantizer::Ranges::kPerDimension);
    ASSERT_TRUE(q.per_dimension());
    EXPECT_FLOAT_EQ(q.scales()[0], 1.0f);  // an integer column that fits 256 steps keeps exact codes
    EXPECT_GT(q.scales()[kD - 1], 10 * q.scales()[1]);  // the widest dimension gets the widest step
    ScalarQuantizer::Query query;
    q.Prepare(vectors[0].data(), query);
    std::vector<uint8_t> code(kD);
    uint32_t aux[2];
    double worst = 0, spread = 0;
    for (size_t j = 1; j < vectors.size(); ++j) {
      q.Encode(vectors[j].data(), code.data());
      q.CodeAux(code.data(), aux);
      double exact = 0;
      for (size_t i = 0; i < kD; ++i) {
        const double a = vectors[0][i], b = vectors[j][i];
        exact += metric == Metric::kEuclid ? (a - b) * (a - b) : -a * b;
      }
      worst = std::max(worst, std::fabs(q.DimDistance(query, code.data(), aux[0]) - exact));
      spread = std::max(spread, std::fabs(exact));
    }
    // Only the codes' rounding (half a step per dimension) is left: well under 1% of the distances.
    EXPECT_LT(worst, 0.01 * spread);
  }
  // Manhattan has no dot-product form: auto keeps one global range, as do pixels.
  EXPECT_FALSE(ScalarQuantizer::Train(Metric::kManhattan, kD, sample, 1.0f, ScalarQuantizer::Ranges::kAuto)
                   .per_dimension());
  EXPECT_TRUE(ScalarQuantizer::Train(Metric::kEuclid, kD, sample, 1.0f, ScalarQuantizer::Ranges::kAuto)
                  .per_dimension());
  std::vector<float> a = {0, 255, 10}, b = {3, 250, 10};
  EXPECT_FALSE(ScalarQuantizer::Train(Metric::kEuclid, 3, {a.data(), b.data()}, 1.0f,
                                      ScalarQuantizer::Ranges::kAuto)
                   .per_dimension());
}

}  // namespace
}  // namespace vj

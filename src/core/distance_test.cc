#include "core/distance.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace vj {
namespace {

constexpr size_t kDims[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 100, 784, 1536};

// Double-precision references, independent of every kernel under test.
double RefL2Sqr(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return s;
}
double RefIp(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}
double RefL1(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::fabs(double(a[i]) - b[i]);
  return s;
}

std::vector<const DistanceKernels*> AllKernels() {
  std::vector<const DistanceKernels*> out = {&ScalarKernels()};
  if (Avx2Kernels() != nullptr) out.push_back(Avx2Kernels());
  if (Avx512Kernels() != nullptr) out.push_back(Avx512Kernels());
  return out;
}

// Float kernels summing `dim` terms differ from the double reference by rounding only; the inner product
// can cancel, so its tolerance scales with the sum of |a_i * b_i| rather than with the result.
void ExpectNear(double expected, float actual, double magnitude, const char* what, const char* isa,
                size_t dim) {
  EXPECT_NEAR(actual, expected, 1e-5 * magnitude + 1e-6) << what << " isa=" << isa << " dim=" << dim;
}

TEST(DistanceKernelsTest, EveryIsaMatchesReferenceOnRandomAndEdgeDims) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> gauss(0.0f, 3.0f);
  for (const DistanceKernels* k : AllKernels()) {
    for (size_t dim : kDims) {
      for (int trial = 0; trial < 5; ++trial) {
        // One extra element in front makes b misaligned, so unaligned loads are exercised.
        std::vector<float> a(dim), b_storage(dim + 1);
        for (float& x : a) x = gauss(rng);
        for (float& x : b_storage) x = gauss(rng);
        std::vector<float> b(b_storage.begin() + 1, b_storage.end());
        double abs_ip = 0;
        for (size_t i = 0; i < dim; ++i) abs_ip += std::fabs(double(a[i]) * b[i]);
        ExpectNear(RefL2Sqr(a, b), k->l2_sqr(a.data(), b_storage.data() + 1, dim), RefL2Sqr(a, b),
                   "l2", k->isa, dim);
        ExpectNear(RefIp(a, b), k->inner_product(a.data(), b_storage.data() + 1, dim), abs_ip, "ip",
                   k->isa, dim);
        ExpectNear(RefL1(a, b), k->l1(a.data(), b_storage.data() + 1, dim), RefL1(a, b), "l1", k->isa,
                   dim);
      }
    }
  }
}

TEST(DistanceKernelsTest, IdenticalVectorsHaveZeroDistance) {
  for (const DistanceKernels* k : AllKernels()) {
    for (size_t dim : kDims) {
      std::vector<float> a(dim);
      for (size_t i = 0; i < dim; ++i) a[i] = static_cast<float>(i % 13) - 6.5f;
      EXPECT_EQ(k->l2_sqr(a.data(), a.data(), dim), 0.0f) << k->isa << " dim=" << dim;
      EXPECT_EQ(k->l1(a.data(), a.data(), dim), 0.0f) << k->isa << " dim=" << dim;
    }
  }
}

TEST(DistanceKernelsTest, BestKernelsIsTheWidestAvailable) {
  const DistanceKernels& best = BestKernels();
  if (Avx512Kernels() != nullptr) {
    EXPECT_STREQ(best.isa, "avx512");
  } else if (Avx2Kernels() != nullptr) {
    EXPECT_STREQ(best.isa, "avx2");
  } else {
    EXPECT_STREQ(best.isa, "scalar");
  }
}

TEST(MetricTest, ParsesQdrantNames) {
  EXPECT_EQ(*ParseMetric("Cosine"), Metric::kCosine);
  EXPECT_EQ(*ParseMetric("Dot"), Metric::kDot);
  EXPECT_EQ(*ParseMetric("Euclid"), Metric::kEuclid);
  EXPECT_EQ(*ParseMetric("Manhattan"), Metric::kManhattan);
  for (Metric m : {Metric::kCosine, Metric::kDot, Metric::kEuclid, Metric::kManhattan}) {
    EXPECT_EQ(*ParseMetric(MetricName(m)), m);
  }
}

TEST(MetricTest, RejectsUnknownNames) {
  for (const char* bad : {"", "cosine", "L2", "Euclidean", "Dot "}) {
    StatusOr<Metric> m = ParseMetric(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(MetricTest, DistanceFollowsTheTable) {
  const float a[3] = {1, 2, 3};
  const float b[3] = {4, 0, 3};
  EXPECT_FLOAT_EQ(Distance(Metric::kEuclid, a, b, 3), 13.0f);
  EXPECT_FLOAT_EQ(Distance(Metric::kDot, a, b, 3), -13.0f);
  EXPECT_FLOAT_EQ(Distance(Metric::kCosine, a, b, 3), -13.0f);
  EXPECT_FLOAT_EQ(Distance(Metric::kManhattan, a, b, 3), 5.0f);
}

TEST(MetricTest, ScoreConversions) {
  EXPECT_FLOAT_EQ(DistanceToScore(Metric::kEuclid, 25.0f), 5.0f);
  EXPECT_FLOAT_EQ(DistanceToScore(Metric::kEuclid, -1e-7f), 0.0f);
  EXPECT_FLOAT_EQ(DistanceToScore(Metric::kDot, -0.5f), 0.5f);
  EXPECT_FLOAT_EQ(DistanceToScore(Metric::kCosine, 0.25f), -0.25f);
  EXPECT_FLOAT_EQ(DistanceToScore(Metric::kManhattan, 7.0f), 7.0f);

  // Euclid: scores above the threshold are dropped.
  EXPECT_FLOAT_EQ(ScoreThresholdToDistance(Metric::kEuclid, 3.0f), 9.0f);
  EXPECT_LT(ScoreThresholdToDistance(Metric::kEuclid, -1.0f), 0.0f);
  // Dot/Cosine: scores below the threshold are dropped.
  EXPECT_FLOAT_EQ(ScoreThresholdToDistance(Metric::kDot, 0.8f), -0.8f);
  EXPECT_FLOAT_EQ(ScoreThresholdToDistance(Metric::kCosine, -0.2f), 0.2f);
  EXPECT_FLOAT_EQ(ScoreThresholdToDistance(Metric::kManhattan, 4.0f), 4.0f);

  // The bound agrees with the score rule: a point passes exactly when its score passes.
  for (Metric m : {Metric::kCosine, Metric::kDot, Metric::kEuclid, Metric::kManhattan}) {
    const float bound = ScoreThresholdToDistance(m, 2.0f);
    const bool higher_is_better = m == Metric::kCosine || m == Metric::kDot;
    for (float d : {-3.0f, -2.0f, -1.0f, 1.0f, 4.0f, 9.0f}) {
      if (m == Metric::kEuclid || m == Metric::kManhattan) {
        if (d < 0) continue;
      }
      const float score = DistanceToScore(m, d);
      const bool score_passes = higher_is_better ? score >= 2.0f : score <= 2.0f;
      EXPECT_EQ(d <= bound, score_passes) << MetricName(m) << " d=" << d;
    }
  }
}

TEST(NormalizeTest, ScalesToUnitNorm) {
  std::vector<float> v = {3, 4, 0};
  NormalizeInPlace(v.data(), v.size());
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  EXPECT_FLOAT_EQ(v[2], 0.0f);

  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-100.0f, 100.0f);
  std::vector<float> w(1536);
  for (float& x : w) x = u(rng);
  NormalizeInPlace(w.data(), w.size());
  EXPECT_NEAR(BestKernels().inner_product(w.data(), w.data(), w.size()), 1.0f, 1e-5f);
}

TEST(NormalizeTest, LeavesZeroVectorUnchanged) {
  std::vector<float> v(17, 0.0f);
  NormalizeInPlace(v.data(), v.size());
  for (float x : v) EXPECT_EQ(x, 0.0f);
}

TEST(NormalizeTest, DimOne) {
  float v = -5.0f;
  NormalizeInPlace(&v, 1);
  EXPECT_FLOAT_EQ(v, -1.0f);
}

}  // namespace
}  // namespace vj

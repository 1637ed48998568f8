#include "core/distance.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <limits>
#include <string>

#include "core/distance_kernels.h"

namespace vj {
namespace {

// The checks include AVX-512 BW/VL/DQ because distance_avx512.cc is compiled with them: the compiler may
// use their instructions anywhere in that file. libgcc's feature bits also require the OS to save the
// wide registers (XGETBV), so a set reported here is usable.
bool CpuHasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("fma");
}

bool CpuHasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

}  // namespace

StatusOr<Metric> ParseMetric(std::string_view name) {
  if (name == "Cosine") return Metric::kCosine;
  if (name == "Dot") return Metric::kDot;
  if (name == "Euclid") return Metric::kEuclid;
  if (name == "Manhattan") return Metric::kManhattan;
  return absl::InvalidArgumentError("distance: unknown metric \"" + std::string(name) +
                                    "\"; expected one of Cosine, Dot, Euclid, Manhattan");
}

std::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kCosine:
      return "Cosine";
    case Metric::kDot:
      return "Dot";
    case Metric::kEuclid:
      return "Euclid";
    case Metric::kManhattan:
      return "Manhattan";
  }
  return "Unknown";
}

const DistanceKernels& ScalarKernels() {
  static const DistanceKernels kKernels = {internal::L2SqrScalar, internal::InnerProductScalar,
                                           internal::L1Scalar, "scalar"};
  return kKernels;
}

const DistanceKernels* Avx2Kernels() {
  static const DistanceKernels kKernels = {internal::L2SqrAvx2, internal::InnerProductAvx2,
                                           internal::L1Avx2, "avx2"};
  static const bool kSupported = CpuHasAvx2();
  return kSupported ? &kKernels : nullptr;
}

const DistanceKernels* Avx512Kernels() {
  static const DistanceKernels kKernels = {internal::L2SqrAvx512, internal::InnerProductAvx512,
                                           internal::L1Avx512, "avx512"};
  static const bool kSupported = CpuHasAvx512();
  return kSupported ? &kKernels : nullptr;
}

const DistanceKernels& BestKernels() {
  static const DistanceKernels& kBest = [] () -> const DistanceKernels& {
    if (const DistanceKernels* k = Avx512Kernels()) return *k;
    if (const DistanceKernels* k = Avx2Kernels()) return *k;
    return ScalarKernels();
  }();
  return kBest;
}

float Distance(Metric metric, const float* a, const float* b, size_t dim) {
  const DistanceKernels& k = BestKernels();
  switch (metric) {
    case Metric::kEuclid:
      return k.l2_sqr(a, b, dim);
    case Metric::kDot:
    case Metric::kCosine:
      return -k.inner_product(a, b, dim);
    case Metric::kManhattan:
      return k.l1(a, b, dim);
  }
  return std::numeric_limits<float>::infinity();
}

Status CheckVectorValues(const float* v, size_t n, std::string_view what, double max_norm_squared) {
  double norm_squared = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) {
      return absl::InvalidArgumentError(std::string(what) + " contains NaN or infinite values");
    }
    norm_squared += static_cast<double>(v[i]) * static_cast<double>(v[i]);
  }
  if (norm_squared > max_norm_squared) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%.2g", max_norm_squared);
    return absl::InvalidArgumentError(std::string(what) + " is too long: the sum of its squared values is over " +
                                      limit + ", where scores would overflow; scale it down");
  }
  return absl::OkStatus();
}

float DistanceToScore(Metric metric, float distance) {
  switch (metric) {
    case Metric::kEuclid:
      // Rounding can leave a tiny negative squared distance for identical vectors.
      return std::sqrt(std::max(distance, 0.0f));
    case Metric::kDot:
    case Metric::kCosine:
      return -distance;
    case Metric::kManhattan:
      return distance;
  }
  return distance;
}

float ScoreThresholdToDistance(Metric metric, float score_threshold) {
  switch (metric) {
    case Metric::kEuclid:
      // Qdrant drops Euclid results farther than the threshold; a negative threshold admits nothing.
      if (score_threshold < 0) return -std::numeric_limits<float>::infinity();
      return score_threshold * score_threshold;
    case Metric::kDot:
    case Metric::kCosine:
      return -score_threshold;
    case Metric::kManhattan:
      return score_threshold;
  }
  return score_threshold;
}

void NormalizeInPlace(float* v, size_t dim) {
  // Accumulate in double: the norm of a long vector with mixed magnitudes loses little that way, and
  // normalization is not on the search hot path (once per insert or query).
  double sum = 0;
  for (size_t i = 0; i < dim; ++i) sum += static_cast<double>(v[i]) * v[i];
  if (sum == 0 || !std::isfinite(sum)) return;
  const double inv = 1.0 / std::sqrt(sum);
  for (size_t i = 0; i < dim; ++i) v[i] = static_cast<float>(v[i] * inv);
}

}  // namespace vj

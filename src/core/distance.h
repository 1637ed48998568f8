// Distance metrics and their SIMD kernels.
//
// Conventions, stated once: vectors are contiguous float32 arrays of `dim` elements; kernels accept any
// dim >= 1 and unaligned pointers. Inside the engine every metric is a *distance* (lower is closer):
//   Euclid    -> squared L2                      (score reported to users: sqrt of it)
//   Dot       -> -inner product                  (score: inner product)
//   Cosine    -> -inner product of unit vectors  (vectors are normalized on insert and on query)
//   Manhattan -> L1                              (score: L1)
// The kernel set is chosen once, at first use, from the CPU's features (AVX-512, AVX2+FMA, scalar).
// Thread-safety: all functions are pure and safe to call concurrently.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/status.h"

namespace vj {

enum class Metric { kCosine, kDot, kEuclid, kManhattan };

// Accepts Qdrant's names: "Cosine", "Dot", "Euclid", "Manhattan". InvalidArgument otherwise.
StatusOr<Metric> ParseMetric(std::string_view name);
std::string_view MetricName(Metric metric);

using DistanceFn = float (*)(const float* a, const float* b, size_t dim);

struct DistanceKernels {
  DistanceFn l2_sqr;
  DistanceFn inner_product;
  DistanceFn l1;
  const char* isa;  // "avx512", "avx2" or "scalar"
};

// The best kernel set this CPU supports.
const DistanceKernels& BestKernels();
// Each instruction set's kernels, for tests and benchmarks; nullptr where the CPU lacks the ISA.
const DistanceKernels& ScalarKernels();
const DistanceKernels* Avx2Kernels();
const DistanceKernels* Avx512Kernels();

// The engine distance (lower is closer) between a and b under `metric`, per the table above.
// For kCosine both inputs must already be normalized.
float Distance(Metric metric, const float* a, const float* b, size_t dim);

// Converts an engine distance into the score users see (per the table above).
float DistanceToScore(Metric metric, float distance);
// Converts a user score threshold into an engine distance bound: results with distance <= bound pass.
float ScoreThresholdToDistance(Metric metric, float score_threshold);

// Scales v to unit L2 norm in place; leaves an all-zero vector unchanged.
void NormalizeInPlace(float* v, size_t dim);

// The largest squared L2 norm a stored or query vector may have (FLT_MAX / 4, rounded down). With both
// sides at most this long every metric's distance stays a finite float (squared L2 is at most
// (|a| + |b|)^2 = 4x it, a dot product at most 1x), so scores are finite and results order well; a
// longer vector would score inf (invalid JSON) or NaN (no order). Values are checked in double.
inline constexpr double kMaxVectorNormSquared = 8.5e37;

// Ok when every value is finite and the squared norm is at most `max_norm_squared`; otherwise
// InvalidArgument whose message starts with `what` ("query vector", "point 7: vector").
Status CheckVectorValues(const float* v, size_t n, std::string_view what,
                         double max_norm_squared = kMaxVectorNormSquared);

}  // namespace vj

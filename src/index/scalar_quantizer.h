// ScalarQuantizer: SQ8 codes for float vectors (Qdrant's scalar int8 quantization), in one of two forms:
//  - global: one range [low, high] for every dimension mapped onto 0..255. Keeps integer-valued data in
//    0..255 (such as image pixels) lossless, but on learned embeddings, whose dimensions spread very
//    differently, most dimensions use a few dozen of the 256 levels and recall stalls below 0.995.
//  - per dimension: dimension i has its own affine range x = low_i + scale_i * c (integer columns that
//    fit 256 steps keep scale 1: lossless). Searches are asymmetric: the float query is folded into
//    w_i = q_i * scale_i and split into two signed bytes (hi + lo / 254), so q.x^ = sum q_i low_i +
//    d_hi * sum c_i hi_i + d_lo * sum c_i lo_i: two VNNI dot products, ~15-bit query precision, and only
//    the codes' own rounding left. A stored code carries the squared norm of the vector it decodes to
//    (for L2). Code-to-code distances are not defined for this form: callers compare floats.
// `quantile` < 1 trims outliers from the range(s) (values beyond are clamped). Ranges::kAuto picks
// global where the sample's values are integers whose range fits 256 steps (codes then exact), per
// dimension otherwise (and global for Manhattan, which has no dot-product form).
//
// Engine distances between a query code and a stored code approximate the float ones of
// core/distance.h: L2 = scale^2 * sum (a-b)^2; L1 = scale * sum |a-b|; Dot/Cosine = -(dim*low^2 +
// low*scale*(sum a + sum b) + scale^2 * sum a*b), which needs each code's sum (CodeSum). Searches use
// the expanded form L2 = sum a^2 + sum b^2 - 2 sum a*b with the query's code shifted to signed bytes
// (sum a*b = sum a*(b-128) + 128 sum a), one VNNI instruction per 64 bytes; so a stored code carries
// its sum and its sum of squares. All of it is exact integer arithmetic until the final scaling.
// Thread-safety: immutable after Train; safe to share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/code_distance.h"
#include "core/distance.h"

namespace vj {

class ScalarQuantizer {
 public:
  enum class Ranges : uint8_t { kAuto = 0, kGlobal = 1, kPerDimension = 2 };

  ScalarQuantizer() = default;
  // Fits the range(s) to the values of `sample` (vectors of dim floats, already in the form the index
  // compares: unit length for Cosine). quantile in [0.5, 1].
  static ScalarQuantizer Train(Metric metric, size_t dim, const std::vector<const float*>& sample,
                               float quantile, Ranges ranges = Ranges::kGlobal);
  // The quantizer with range [low, low + 255 * scale] (as Save writes it). Precondition: scale > 0.
  static ScalarQuantizer FromRange(Metric metric, size_t dim, float low, float scale);
  // The per-dimension quantizer with these ranges (dim each). Precondition: every scale > 0 and finite.
  static ScalarQuantizer FromRanges(Metric metric, std::vector<float> lows, std::vector<float> scales);

  bool per_dimension() const { return per_dim_; }
  const std::vector<float>& lows() const { return lows_; }
  const std::vector<float>& scales() const { return scales_; }

  void Encode(const float* v, uint8_t* code) const;
  static uint32_t CodeSum(const uint8_t* code, size_t dim);
  static uint32_t CodeSumSquares(const uint8_t* code, size_t dim);
  // The two 32-bit words stored after a code: global: CodeSum, CodeSumSquares; per dimension: the
  // decoded vector's squared norm (float bits), 0.
  void CodeAux(const uint8_t* code, uint32_t out[2]) const;

  // A query's code in the forms Distance(Query, ...) reads; refilled by Prepare, reusable.
  struct Query {
    std::vector<uint8_t> code;
    std::vector<int8_t> shifted;  // global: code - 128; per dimension: the high bytes of w
    std::vector<int8_t> low;      // per dimension: the low bytes of w
    uint32_t sum = 0, sum_sq = 0;
    float d_hi = 0, d_lo = 0, offset = 0, norm_sq = 0;  // per dimension
  };
  void Prepare(const float* v, Query& q) const;

  // Per dimension only: query to stored code with its CodeAux words.
  float DimDistance(const Query& q, const uint8_t* b, uint32_t aux0) const {
    int32_t sums[2];
    kernels_->dot_signed2(b, q.shifted.data(), q.low.data(), dim_, sums);
    const float dot =
        q.offset + q.d_hi * static_cast<float>(sums[0]) + q.d_lo * static_cast<float>(sums[1]);
    if (metric_ == Metric::kEuclid) {
      float norm_b;
      std::memcpy(&norm_b, &aux0, sizeof(norm_b));
      return q.norm_sq + norm_b - 2.0f * dot;
    }
    return -dot;
  }

  // Query to stored code (with its CodeSum and CodeSumSquares).
  float Distance(const Query& q, const uint8_t* b, uint32_t sum_b, uint32_t sum_sq_b) const {
    if (metric_ == Metric::kManhattan) {
      return scale_ * static_cast<float>(kernels_->l1(q.code.data(), b, dim_));
    }
    const int64_t dot = int64_t{kernels_->dot_signed(b, q.shifted.data(), dim_)} + 128 * int64_t{sum_b};
    if (metric_ == Metric::kEuclid) {
      return scale_sq_ * static_cast<float>(int64_t{q.sum_sq} + int64_t{sum_sq_b} - 2 * dot);
    }
    return -(constant_ + low_scale_ * static_cast<float>(q.sum + sum_b) +
             scale_sq_ * static_cast<float>(dot));
  }

  // Stored code to stored code.
  float Distance(const uint8_t* a, uint32_t sum_a, const uint8_t* b, uint32_t sum_b) const {
    switch (metric_) {
      case Metric::kEuclid:
        return scale_sq_ * static_cast<float>(kernels_->l2_sqr(a, b, dim_));
      case Metric::kManhattan:
        return scale_ * static_cast<float>(kernels_->l1(a, b, dim_));
      case Metric::kDot:
      case Metric::kCosine:
        return -(constant_ + low_scale_ * static_cast<float>(sum_a + sum_b) +
                 scale_sq_ * static_cast<float>(kernels_->inner_product(a, b, dim_)));
    }
    return 0;
  }

  float low() const { return low_; }
  float scale() const { return scale_; }

 private:
  Metric metric_ = Metric::kEuclid;
  size_t dim_ = 0;
  bool per_dim_ = false;
  std::vector<float> lows_, scales_, inverse_scales_;  // per dimension
  float low_ = 0, scale_ = 1, inverse_scale_ = 1;
  float scale_sq_ = 1, low_scale_ = 0, constant_ = 0;
  const CodeKernels* kernels_ = nullptr;
};

}  // namespace vj

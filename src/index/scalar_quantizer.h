// ScalarQuantizer: SQ8 codes for float vectors, with one global range [low, high] mapped onto 0..255
// (Qdrant's scalar int8 quantization). A global range keeps integer-valued data in 0..255 (such as
// image pixels) lossless; `quantile` < 1 trims outliers from the range (values beyond are clamped).
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
#include <vector>

#include "core/code_distance.h"
#include "core/distance.h"

namespace vj {

class ScalarQuantizer {
 public:
  ScalarQuantizer() = default;
  // Fits the range to the values of `sample` (vectors of dim floats, already in the form the index
  // compares: unit length for Cosine). quantile in [0.5, 1].
  static ScalarQuantizer Train(Metric metric, size_t dim, const std::vector<const float*>& sample,
                               float quantile);
  // The quantizer with range [low, low + 255 * scale] (as Save writes it). Precondition: scale > 0.
  static ScalarQuantizer FromRange(Metric metric, size_t dim, float low, float scale);

  void Encode(const float* v, uint8_t* code) const;
  static uint32_t CodeSum(const uint8_t* code, size_t dim);
  static uint32_t CodeSumSquares(const uint8_t* code, size_t dim);

  // A query's code in the forms Distance(Query, ...) reads; refilled by Prepare, reusable.
  struct Query {
    std::vector<uint8_t> code;
    std::vector<int8_t> shifted;  // code - 128
    uint32_t sum = 0, sum_sq = 0;
  };
  void Prepare(const float* v, Query& q) const;

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
  float low_ = 0, scale_ = 1, inverse_scale_ = 1;
  float scale_sq_ = 1, low_scale_ = 0, constant_ = 0;
  const CodeKernels* kernels_ = nullptr;
};

}  // namespace vj

#include "index/scalar_quantizer.h"

#include <algorithm>
#include <cmath>

namespace vj {

ScalarQuantizer ScalarQuantizer::Train(Metric metric, size_t dim, const std::vector<const float*>& sample,
                                       float quantile) {
  std::vector<float> values;
  values.reserve(sample.size() * dim);
  for (const float* v : sample) values.insert(values.end(), v, v + dim);
  float low = 0, high = 0;
  if (!values.empty()) {
    const double tail = std::clamp(1.0 - static_cast<double>(quantile), 0.0, 0.5);
    const size_t lo_at = static_cast<size_t>(tail * static_cast<double>(values.size() - 1));
    const size_t hi_at = values.size() - 1 - lo_at;
    std::nth_element(values.begin(), values.begin() + lo_at, values.end());
    low = values[lo_at];
    std::nth_element(values.begin(), values.begin() + hi_at, values.end());
    high = values[hi_at];
  }
  return FromRange(metric, dim, low, high > low ? (high - low) / 255.0f : 1.0f);
}

ScalarQuantizer ScalarQuantizer::FromRange(Metric metric, size_t dim, float low, float scale) {
  ScalarQuantizer q;
  q.metric_ = metric;
  q.dim_ = dim;
  q.kernels_ = &BestCodeKernels();
  q.low_ = low;
  q.scale_ = scale;
  q.inverse_scale_ = 1.0f / q.scale_;
  q.scale_sq_ = q.scale_ * q.scale_;
  q.low_scale_ = q.low_ * q.scale_;
  q.constant_ = static_cast<float>(dim) * q.low_ * q.low_;
  return q;
}

void ScalarQuantizer::Encode(const float* v, uint8_t* code) const {
  for (size_t i = 0; i < dim_; ++i) {
    const float x = std::nearbyint((v[i] - low_) * inverse_scale_);
    code[i] = static_cast<uint8_t>(std::clamp(x, 0.0f, 255.0f));
  }
}

uint32_t ScalarQuantizer::CodeSum(const uint8_t* code, size_t dim) {
  uint32_t sum = 0;
  for (size_t i = 0; i < dim; ++i) sum += code[i];
  return sum;
}

uint32_t ScalarQuantizer::CodeSumSquares(const uint8_t* code, size_t dim) {
  uint32_t sum = 0;
  for (size_t i = 0; i < dim; ++i) sum += uint32_t{code[i]} * code[i];
  return sum;
}

void ScalarQuantizer::Prepare(const float* v, Query& q) const {
  q.code.resize(dim_);
  q.shifted.resize(dim_);
  Encode(v, q.code.data());
  for (size_t i = 0; i < dim_; ++i) q.shifted[i] = static_cast<int8_t>(int{q.code[i]} - 128);
  q.sum = CodeSum(q.code.data(), dim_);
  q.sum_sq = CodeSumSquares(q.code.data(), dim_);
}

}  // namespace vj

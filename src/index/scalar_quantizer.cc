#include "index/scalar_quantizer.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace vj {
namespace {

// The [1 - quantile, quantile] quantiles of values (reordered).
std::pair<float, float> QuantileRange(std::vector<float>& values, float quantile) {
  if (values.empty()) return {0.0f, 0.0f};
  const double tail = std::clamp(1.0 - static_cast<double>(quantile), 0.0, 0.5);
  const size_t lo_at = static_cast<size_t>(tail * static_cast<double>(values.size() - 1));
  const size_t hi_at = values.size() - 1 - lo_at;
  std::nth_element(values.begin(), values.begin() + lo_at, values.end());
  const float low = values[lo_at];
  std::nth_element(values.begin(), values.begin() + hi_at, values.end());
  return {low, values[hi_at]};
}

bool AllIntegers(const std::vector<float>& values) {
  for (float x : values) {
    if (x != std::nearbyint(x)) return false;
  }
  return true;
}

// A range as a step: integer data whose range fits 256 steps keeps step 1 (exact codes).
float StepFor(float low, float high, bool integers) {
  if (integers && high - low <= 255.0f) return 1.0f;
  return high > low ? (high - low) / 255.0f : 1.0f;
}

}  // namespace

ScalarQuantizer ScalarQuantizer::Train(Metric metric, size_t dim, const std::vector<const float*>& sample,
                                       float quantile, Ranges ranges) {
  std::vector<float> values;
  values.reserve(sample.size() * dim);
  for (const float* v : sample) values.insert(values.end(), v, v + dim);
  const bool integers = AllIntegers(values);
  if (ranges == Ranges::kAuto) {
    bool exact = false;
    if (integers && !values.empty()) {
      const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
      exact = *hi - *lo <= 255.0f;
    }
    ranges = exact || metric == Metric::kManhattan ? Ranges::kGlobal : Ranges::kPerDimension;
  }
  if (ranges == Ranges::kPerDimension && metric != Metric::kManhattan && dim > 0) {
    std::vector<float> lows(dim), scales(dim), column(sample.size());
    for (size_t i = 0; i < dim; ++i) {
      for (size_t j = 0; j < sample.size(); ++j) column[j] = sample[j][i];
      const bool column_integers = AllIntegers(column);
      const auto [low, high] = QuantileRange(column, quantile);
      lows[i] = low;
      scales[i] = StepFor(low, high, column_integers);
    }
    return FromRanges(metric, std::move(lows), std::move(scales));
  }
  const auto [low, high] = QuantileRange(values, quantile);
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

ScalarQuantizer ScalarQuantizer::FromRanges(Metric metric, std::vector<float> lows,
                                            std::vector<float> scales) {
  ScalarQuantizer q = FromRange(metric, lows.size(), 0.0f, 1.0f);
  q.per_dim_ = true;
  q.inverse_scales_.resize(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) q.inverse_scales_[i] = 1.0f / scales[i];
  q.lows_ = std::move(lows);
  q.scales_ = std::move(scales);
  return q;
}

void ScalarQuantizer::Encode(const float* v, uint8_t* code) const {
  if (per_dim_) {
    for (size_t i = 0; i < dim_; ++i) {
      const float x = std::nearbyint((v[i] - lows_[i]) * inverse_scales_[i]);
      code[i] = static_cast<uint8_t>(std::clamp(x, 0.0f, 255.0f));
    }
    return;
  }
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

void ScalarQuantizer::CodeAux(const uint8_t* code, uint32_t out[2]) const {
  if (!per_dim_) {
    out[0] = CodeSum(code, dim_);
    out[1] = CodeSumSquares(code, dim_);
    return;
  }
  double norm = 0;
  for (size_t i = 0; i < dim_; ++i) {
    const double x = double{lows_[i]} + double{scales_[i]} * code[i];
    norm += x * x;
  }
  const float f = static_cast<float>(norm);
  std::memcpy(&out[0], &f, sizeof(f));
  out[1] = 0;
}

void ScalarQuantizer::Prepare(const float* v, Query& q) const {
  q.code.resize(dim_);
  q.shifted.resize(dim_);
  if (per_dim_) {
    // w_i = q_i * scale_i as d_hi * hi_i + d_lo * lo_i, both signed bytes in [-127, 127].
    q.low.resize(dim_);
    float max_w = 0;
    double offset = 0, norm = 0;
    for (size_t i = 0; i < dim_; ++i) {
      max_w = std::max(max_w, std::fabs(v[i] * scales_[i]));
      offset += double{v[i]} * lows_[i];
      norm += double{v[i]} * v[i];
    }
    q.offset = static_cast<float>(offset);
    q.norm_sq = static_cast<float>(norm);
    q.d_hi = max_w > 0 ? max_w / 127.0f : 1.0f;
    q.d_lo = q.d_hi / 254.0f;
    const float inv_hi = 1.0f / q.d_hi, inv_lo = 1.0f / q.d_lo;
    for (size_t i = 0; i < dim_; ++i) {
      const float w = v[i] * scales_[i];
      const float hi = std::clamp(std::nearbyint(w * inv_hi), -127.0f, 127.0f);
      const float lo = std::clamp(std::nearbyint((w - hi * q.d_hi) * inv_lo), -127.0f, 127.0f);
      q.shifted[i] = static_cast<int8_t>(hi);
      q.low[i] = static_cast<int8_t>(lo);
    }
    return;
  }
  Encode(v, q.code.data());
  for (size_t i = 0; i < dim_; ++i) q.shifted[i] = static_cast<int8_t>(int{q.code[i]} - 128);
  q.sum = CodeSum(q.code.data(), dim_);
  q.sum_sq = CodeSumSquares(q.code.data(), dim_);
}

}  // namespace vj

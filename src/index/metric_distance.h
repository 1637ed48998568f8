// MetricDistance: the engine distance of core/distance.h bound to one metric and dimension, resolved
// once to a plain kernel pointer so hot loops make one indirect call per distance and no switch.
// Thread-safety: immutable after construction.
#pragma once

#include <cstddef>
#include <cstring>
#include <vector>

#include "core/distance.h"

namespace vj {

class MetricDistance {
 public:
  MetricDistance(Metric metric, size_t dim) : metric_(metric), dim_(dim) {
    const DistanceKernels& k = BestKernels();
    switch (metric) {
      case Metric::kEuclid:
        fn_ = k.l2_sqr;
        break;
      case Metric::kManhattan:
        fn_ = k.l1;
        break;
      case Metric::kDot:
      case Metric::kCosine:
        fn_ = k.inner_product;
        sign_ = -1.0f;
        break;
    }
  }

  float operator()(const float* a, const float* b) const { return sign_ * fn_(a, b, dim_); }

  // Copies a caller's vector into out in the form the index stores and compares: unit length for
  // Cosine, unchanged otherwise. out must hold dim floats.
  void Prepare(const float* v, float* out) const {
    std::memcpy(out, v, dim_ * sizeof(float));
    if (metric_ == Metric::kCosine) NormalizeInPlace(out, dim_);
  }

  Metric metric() const { return metric_; }
  size_t dim() const { return dim_; }

 private:
  Metric metric_;
  size_t dim_;
  DistanceFn fn_ = nullptr;
  float sign_ = 1.0f;
};

}  // namespace vj

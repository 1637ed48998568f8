// BinaryQuantizer: one bit per dimension, set when the value exceeds that dimension's threshold (the
// mean of the training sample: Qdrant thresholds at 0, which says nothing about non-negative data such
// as pixels). Codes are compared by Hamming distance (core/code_distance.h), a coarse proxy for any
// metric, so searches on binary codes re-rank their candidates with float distances.
// Thread-safety: immutable after Train; safe to share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/code_distance.h"

namespace vj {

class BinaryQuantizer {
 public:
  BinaryQuantizer() = default;
  // Thresholds at the per-dimension means of `sample` (vectors of dim floats in stored form).
  static BinaryQuantizer Train(size_t dim, const std::vector<const float*>& sample);
  // Precondition: thresholds.size() == dim.
  static BinaryQuantizer FromThresholds(std::vector<float> thresholds);

  // Bytes of a code: ceil(dim / 8) rounded up to a multiple of 8 (the padding bits are zero).
  static size_t CodeBytes(size_t dim) { return (dim + 63) / 64 * 8; }
  void Encode(const float* v, uint8_t* code) const;
  float Distance(const uint8_t* a, const uint8_t* b) const {
    return static_cast<float>(kernels_->hamming(a, b, code_bytes_));
  }
  const std::vector<float>& thresholds() const { return thresholds_; }

 private:
  std::vector<float> thresholds_;
  size_t code_bytes_ = 0;
  const CodeKernels* kernels_ = nullptr;
};

}  // namespace vj

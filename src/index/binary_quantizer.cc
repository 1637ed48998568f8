#include "index/binary_quantizer.h"

#include <cstring>

namespace vj {

BinaryQuantizer BinaryQuantizer::Train(size_t dim, const std::vector<const float*>& sample) {
  std::vector<double> sum(dim, 0.0);
  for (const float* v : sample) {
    for (size_t i = 0; i < dim; ++i) sum[i] += v[i];
  }
  std::vector<float> thresholds(dim, 0.0f);
  if (!sample.empty()) {
    for (size_t i = 0; i < dim; ++i) thresholds[i] = static_cast<float>(sum[i] / double(sample.size()));
  }
  return FromThresholds(std::move(thresholds));
}

BinaryQuantizer BinaryQuantizer::FromThresholds(std::vector<float> thresholds) {
  BinaryQuantizer q;
  q.code_bytes_ = CodeBytes(thresholds.size());
  q.thresholds_ = std::move(thresholds);
  q.kernels_ = &BestCodeKernels();
  return q;
}

void BinaryQuantizer::Encode(const float* v, uint8_t* code) const {
  std::memset(code, 0, code_bytes_);
  for (size_t i = 0; i < thresholds_.size(); ++i) {
    if (v[i] > thresholds_[i]) code[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
}

}  // namespace vj

// Per-instruction-set distance kernels behind core/distance.h. Internal to core/: each function lives in
// the file compiled for its instruction set and may be called only when the CPU supports that set
// (distance.cc checks). Every kernel accepts any dim >= 1 and unaligned pointers.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>

namespace vj::internal {

float L2SqrScalar(const float* a, const float* b, size_t dim);
float InnerProductScalar(const float* a, const float* b, size_t dim);
float L1Scalar(const float* a, const float* b, size_t dim);

float L2SqrAvx2(const float* a, const float* b, size_t dim);
float InnerProductAvx2(const float* a, const float* b, size_t dim);
float L1Avx2(const float* a, const float* b, size_t dim);

float L2SqrAvx512(const float* a, const float* b, size_t dim);
float InnerProductAvx512(const float* a, const float* b, size_t dim);
float L1Avx512(const float* a, const float* b, size_t dim);

}  // namespace vj::internal

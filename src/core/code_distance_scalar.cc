// Reference kernels on 8-bit codes, and the run-time choice among instruction sets.
#include <cstdlib>
#include <cstring>

#include "core/code_distance.h"

namespace vj {
namespace internal {

uint32_t CodeL2SqrScalar(const uint8_t* a, const uint8_t* b, size_t dim) {
  uint32_t sum = 0;
  for (size_t i = 0; i < dim; ++i) {
    const int d = int{a[i]} - int{b[i]};
    sum += static_cast<uint32_t>(d * d);
  }
  return sum;
}

uint32_t CodeInnerProductScalar(const uint8_t* a, const uint8_t* b, size_t dim) {
  uint32_t sum = 0;
  for (size_t i = 0; i < dim; ++i) sum += uint32_t{a[i]} * uint32_t{b[i]};
  return sum;
}

uint32_t CodeL1Scalar(const uint8_t* a, const uint8_t* b, size_t dim) {
  uint32_t sum = 0;
  for (size_t i = 0; i < dim; ++i) sum += static_cast<uint32_t>(std::abs(int{a[i]} - int{b[i]}));
  return sum;
}

uint32_t HammingScalar(const uint8_t* a, const uint8_t* b, size_t bytes) {
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    sum += static_cast<uint32_t>(__builtin_popcountll(x ^ y));
  }
  for (; i < bytes; ++i) sum += static_cast<uint32_t>(__builtin_popcount(unsigned{a[i]} ^ b[i]));
  return sum;
}

int32_t DotSignedScalar(const uint8_t* a, const int8_t* b, size_t dim) {
  int32_t sum = 0;
  for (size_t i = 0; i < dim; ++i) sum += int32_t{a[i]} * int32_t{b[i]};
  return sum;
}

void DotSigned2Scalar(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim, int32_t out[2]) {
  out[0] = DotSignedScalar(a, b, dim);
  out[1] = DotSignedScalar(a, c, dim);
}

// Two passes; the second reads a from L1. Only the VNNI kernel fuses them.
void DotSigned2Avx2(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim, int32_t out[2]) {
  out[0] = DotSignedAvx2(a, b, dim);
  out[1] = DotSignedAvx2(a, c, dim);
}

void DotSigned2Avx512(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim, int32_t out[2]) {
  out[0] = DotSignedAvx512(a, b, dim);
  out[1] = DotSignedAvx512(a, c, dim);
}

}  // namespace internal

namespace {

// code_distance_avx512.cc is compiled with the same flags as distance_avx512.cc, so the compiler may
// use any of those sets there: require them all.
bool CpuHasAvx512Bw() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("fma");
}
bool CpuHasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

}  // namespace

const CodeKernels& ScalarCodeKernels() {
  static const CodeKernels k{internal::CodeL2SqrScalar, internal::CodeInnerProductScalar,
                             internal::CodeL1Scalar, internal::HammingScalar,
                             internal::DotSignedScalar, internal::DotSigned2Scalar, "scalar"};
  return k;
}

const CodeKernels* Avx2CodeKernels() {
  static const CodeKernels k{internal::CodeL2SqrAvx2, internal::CodeInnerProductAvx2,
                             internal::CodeL1Avx2, internal::HammingAvx2, internal::DotSignedAvx2,
                             internal::DotSigned2Avx2, "avx2"};
  return CpuHasAvx2() ? &k : nullptr;
}

const CodeKernels* Avx512CodeKernels() {
  static const CodeKernels k{internal::CodeL2SqrAvx512, internal::CodeInnerProductAvx512,
                             internal::CodeL1Avx512, internal::HammingAvx512, internal::DotSignedAvx512,
                             internal::DotSigned2Avx512, "avx512"};
  return CpuHasAvx512Bw() ? &k : nullptr;
}

// AVX-512 with VNNI: the AVX-512 kernels, and vpdpbusd for the signed dot product.
const CodeKernels* Avx512VnniCodeKernels() {
  static const CodeKernels k{internal::CodeL2SqrAvx512, internal::CodeInnerProductAvx512,
                             internal::CodeL1Avx512,   internal::HammingAvx512,
                             internal::DotSignedAvx512Vnni, internal::DotSigned2Avx512Vnni, "avx512vnni"};
  return CpuHasAvx512Bw() && __builtin_cpu_supports("avx512vnni") ? &k : nullptr;
}

const CodeKernels& BestCodeKernels() {
  static const CodeKernels& best = [] () -> const CodeKernels& {
    if (const CodeKernels* k = Avx512VnniCodeKernels()) return *k;
    if (const CodeKernels* k = Avx512CodeKernels()) return *k;
    if (const CodeKernels* k = Avx2CodeKernels()) return *k;
    return ScalarCodeKernels();
  }();
  return best;
}

}  // namespace vj

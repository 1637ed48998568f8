// Reference kernels on 8-bit codes, and the run-time choice among instruction sets.
#include <cstdlib>

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
                             internal::CodeL1Scalar, "scalar"};
  return k;
}

const CodeKernels* Avx2CodeKernels() {
  static const CodeKernels k{internal::CodeL2SqrAvx2, internal::CodeInnerProductAvx2,
                             internal::CodeL1Avx2, "avx2"};
  return CpuHasAvx2() ? &k : nullptr;
}

const CodeKernels* Avx512CodeKernels() {
  static const CodeKernels k{internal::CodeL2SqrAvx512, internal::CodeInnerProductAvx512,
                             internal::CodeL1Avx512, "avx512"};
  return CpuHasAvx512Bw() ? &k : nullptr;
}

const CodeKernels& BestCodeKernels() {
  static const CodeKernels& best = [] () -> const CodeKernels& {
    if (const CodeKernels* k = Avx512CodeKernels()) return *k;
    if (const CodeKernels* k = Avx2CodeKernels()) return *k;
    return ScalarCodeKernels();
  }();
  return best;
}

}  // namespace vj

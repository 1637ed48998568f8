// Distance kernels on 8-bit codes (scalar quantization, index/scalar_quantizer.h): exact integer sums
// over unsigned bytes, one file per instruction set (code_distance_{scalar,avx2,avx512}.cc), chosen at
// run time like the float kernels of core/distance.h. Any dim >= 1, unaligned pointers.
// Sums fit in 32 bits for dim <= 65536 (255^2 * 65536 < 2^32).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vj {

using CodeDistanceFn = uint32_t (*)(const uint8_t* a, const uint8_t* b, size_t dim);

struct CodeKernels {
  CodeDistanceFn l2_sqr;         // sum (a_i - b_i)^2
  CodeDistanceFn inner_product;  // sum a_i * b_i
  CodeDistanceFn l1;             // sum |a_i - b_i|
  const char* isa;
};

const CodeKernels& BestCodeKernels();
const CodeKernels& ScalarCodeKernels();
// nullptr where the CPU lacks the instruction set.
const CodeKernels* Avx2CodeKernels();
const CodeKernels* Avx512CodeKernels();

namespace internal {
uint32_t CodeL2SqrScalar(const uint8_t* a, const uint8_t* b, size_t dim);
uint32_t CodeInnerProductScalar(const uint8_t* a, const uint8_t* b, size_t dim);
uint32_t CodeL1Scalar(const uint8_t* a, const uint8_t* b, size_t dim);
uint32_t CodeL2SqrAvx2(const uint8_t* a, const uint8_t* b, size_t dim);
uint32_t CodeInnerProductAvx2(const uint8_t* a, const uint8_t* b, size_t dim);
uint32_t CodeL1Avx2(const uint8_t* a, const uint8_t* b, size_t dim);
uint32_t CodeL2SqrAvx512(const uint8_t* a, const uint8_t* b, size_t dim);
uint32_t CodeInnerProductAvx512(const uint8_t* a, const uint8_t* b, size_t dim);
uint32_t CodeL1Avx512(const uint8_t* a, const uint8_t* b, size_t dim);
}  // namespace internal

}  // namespace vj

// Distance kernels on 8-bit codes (scalar quantization, index/scalar_quantizer.h): exact integer sums
// over unsigned bytes, one file per instruction set (code_distance_{scalar,avx2,avx512}.cc), chosen at
// run time like the float kernels of core/distance.h. Any dim >= 1, unaligned pointers.
// Sums fit in 32 bits for dim <= 65536 (255^2 * 65536 < 2^32). `hamming` compares bit strings (binary
// quantization): dim is then a count of bytes.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vj {

using CodeDistanceFn = uint32_t (*)(const uint8_t* a, const uint8_t* b, size_t dim);
// sum a_i * b_i with b signed: SQ8 compares a stored code with the query's code shifted by -128, the
// form of AVX-512 VNNI's vpdpbusd (unsigned x signed bytes), which needs no widening.
using CodeDotSignedFn = int32_t (*)(const uint8_t* a, const int8_t* b, size_t dim);
// Both sum a_i * b_i and sum a_i * c_i (b, c signed) in one pass over a: per-dimension SQ8 splits its
// query into a high and a low signed byte per dimension (index/scalar_quantizer.h).
using CodeDotSigned2Fn = void (*)(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim,
                                  int32_t out[2]);

struct CodeKernels {
  CodeDistanceFn l2_sqr;         // sum (a_i - b_i)^2
  CodeDistanceFn inner_product;  // sum a_i * b_i
  CodeDistanceFn l1;             // sum |a_i - b_i|
  CodeDistanceFn hamming;        // popcount(a ^ b) over dim bytes
  CodeDotSignedFn dot_signed;    // sum a_i * b_i, b signed
  CodeDotSigned2Fn dot_signed2;  // both of two such sums
  const char* isa;
};

const CodeKernels& BestCodeKernels();
const CodeKernels& ScalarCodeKernels();
// nullptr where the CPU lacks the instruction set.
const CodeKernels* Avx2CodeKernels();
const CodeKernels* Avx512CodeKernels();
const CodeKernels* Avx512VnniCodeKernels();

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
uint32_t HammingScalar(const uint8_t* a, const uint8_t* b, size_t bytes);
uint32_t HammingAvx2(const uint8_t* a, const uint8_t* b, size_t bytes);
uint32_t HammingAvx512(const uint8_t* a, const uint8_t* b, size_t bytes);
int32_t DotSignedScalar(const uint8_t* a, const int8_t* b, size_t dim);
int32_t DotSignedAvx2(const uint8_t* a, const int8_t* b, size_t dim);
int32_t DotSignedAvx512(const uint8_t* a, const int8_t* b, size_t dim);
int32_t DotSignedAvx512Vnni(const uint8_t* a, const int8_t* b, size_t dim);
void DotSigned2Scalar(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim, int32_t out[2]);
void DotSigned2Avx2(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim, int32_t out[2]);
void DotSigned2Avx512(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim, int32_t out[2]);
void DotSigned2Avx512Vnni(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim, int32_t out[2]);
}  // namespace internal

}  // namespace vj

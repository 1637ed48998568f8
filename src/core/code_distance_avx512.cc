// AVX-512 (F + BW) kernels on 8-bit codes; run only when the CPU has them. Tails use masked loads.
#include <immintrin.h>

#include "core/code_distance.h"

namespace vj::internal {
namespace {

inline __mmask32 TailMask32(size_t n) { return n >= 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1; }
inline __mmask64 TailMask64(size_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }

// The zero-masked extract with a full mask: the plain forms trip GCC 12's -Wuninitialized inside its own
// header (GCC bug 105593).
template <int kHalf>
inline __m256i HalfOf(__m512i v) {
  return _mm512_maskz_extracti64x4_epi64(0xff, v, kHalf);
}


inline uint32_t Sum32(__m512i v) {
  __m256i s = _mm256_add_epi32(HalfOf<0>(v), HalfOf<1>(v));
  __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(1, 0, 3, 2)));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(t));
}

// 32 codes widened to 16-bit lanes; masked-off bytes load as zero on both sides.
inline __m512i Load32(const uint8_t* p, __mmask32 mask) {
  return _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(mask, p));
}

}  // namespace

uint32_t CodeL2SqrAvx512(const uint8_t* a, const uint8_t* b, size_t dim) {
  __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 64 <= dim; i += 64) {
    const __m512i d0 = _mm512_sub_epi16(Load32(a + i, ~__mmask32{0}), Load32(b + i, ~__mmask32{0}));
    const __m512i d1 =
        _mm512_sub_epi16(Load32(a + i + 32, ~__mmask32{0}), Load32(b + i + 32, ~__mmask32{0}));
    acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(d0, d0));
    acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(d1, d1));
  }
  for (; i < dim; i += 32) {
    const __mmask32 m = TailMask32(dim - i);
    const __m512i d = _mm512_sub_epi16(Load32(a + i, m), Load32(b + i, m));
    acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(d, d));
  }
  return Sum32(_mm512_add_epi32(acc0, acc1));
}

uint32_t CodeInnerProductAvx512(const uint8_t* a, const uint8_t* b, size_t dim) {
  __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 64 <= dim; i += 64) {
    acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(Load32(a + i, ~__mmask32{0}), Load32(b + i, ~__mmask32{0})));
    acc1 = _mm512_add_epi32(
        acc1, _mm512_madd_epi16(Load32(a + i + 32, ~__mmask32{0}), Load32(b + i + 32, ~__mmask32{0})));
  }
  for (; i < dim; i += 32) {
    const __mmask32 m = TailMask32(dim - i);
    acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(Load32(a + i, m), Load32(b + i, m)));
  }
  return Sum32(_mm512_add_epi32(acc0, acc1));
}

uint32_t CodeL1Avx512(const uint8_t* a, const uint8_t* b, size_t dim) {
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < dim; i += 64) {
    const __mmask64 m = TailMask64(dim - i);
    const __m512i x = _mm512_maskz_loadu_epi8(m, a + i);
    const __m512i y = _mm512_maskz_loadu_epi8(m, b + i);
    acc = _mm512_add_epi64(acc, _mm512_sad_epu8(x, y));  // eight 64-bit partial sums
  }
  __m256i s = _mm256_add_epi64(HalfOf<0>(acc), HalfOf<1>(acc));
  __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  return static_cast<uint32_t>(_mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1));
}

// Population count of 64 bytes by nibble look-up (VPOPCNTDQ is not in the required set), masked tail.
uint32_t HammingAvx512(const uint8_t* a, const uint8_t* b, size_t bytes) {
  const __m512i table = _mm512_set4_epi32(0x04030302, 0x03020201, 0x03020201, 0x02010100);
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < bytes; i += 64) {
    const __mmask64 m = TailMask64(bytes - i);
    const __m512i x =
        _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, a + i), _mm512_maskz_loadu_epi8(m, b + i));
    const __m512i counts =
        _mm512_add_epi8(_mm512_shuffle_epi8(table, _mm512_and_si512(x, low4)),
                        _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(x, 4), low4)));
    acc = _mm512_add_epi64(acc, _mm512_sad_epu8(counts, _mm512_setzero_si512()));
  }
  __m256i half = _mm256_add_epi64(HalfOf<0>(acc), HalfOf<1>(acc));
  __m128i t = _mm_add_epi64(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
  return static_cast<uint32_t>(_mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1));
}

int32_t DotSignedAvx512(const uint8_t* a, const int8_t* b, size_t dim) {
  __m512i acc = _mm512_setzero_si512();
  for (size_t i = 0; i < dim; i += 32) {
    const __mmask32 m = TailMask32(dim - i);
    const __m512i x = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, a + i));
    const __m512i y = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, b + i));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(x, y));
  }
  return static_cast<int32_t>(Sum32(acc));
}

}  // namespace vj::internal

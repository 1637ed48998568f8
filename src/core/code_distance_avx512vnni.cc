// AVX-512 VNNI kernel on 8-bit codes: vpdpbusd multiplies 64 unsigned by 64 signed bytes and adds each
// group of four products into a 32-bit lane, with no widening. Run only when the CPU has AVX512_VNNI.
#include <immintrin.h>

#include "core/code_distance.h"

namespace vj::internal {

int32_t DotSignedAvx512Vnni(const uint8_t* a, const int8_t* b, size_t dim) {
  __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 128 <= dim; i += 128) {
    acc0 = _mm512_dpbusd_epi32(acc0, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
    acc1 = _mm512_dpbusd_epi32(acc1, _mm512_loadu_si512(a + i + 64), _mm512_loadu_si512(b + i + 64));
  }
  for (; i < dim; i += 64) {
    const __mmask64 m = dim - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (dim - i)) - 1;
    acc0 =
        _mm512_dpbusd_epi32(acc0, _mm512_maskz_loadu_epi8(m, a + i), _mm512_maskz_loadu_epi8(m, b + i));
  }
  const __m512i acc = _mm512_add_epi32(acc0, acc1);
  __m256i s = _mm256_add_epi32(_mm512_maskz_extracti64x4_epi64(0xff, acc, 0),
                               _mm512_maskz_extracti64x4_epi64(0xff, acc, 1));
  __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(1, 0, 3, 2)));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(t);
}

void DotSigned2Avx512Vnni(const uint8_t* a, const int8_t* b, const int8_t* c, size_t dim, int32_t out[2]) {
  __m512i acc_b = _mm512_setzero_si512(), acc_c = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 64 <= dim; i += 64) {
    const __m512i x = _mm512_loadu_si512(a + i);
    acc_b = _mm512_dpbusd_epi32(acc_b, x, _mm512_loadu_si512(b + i));
    acc_c = _mm512_dpbusd_epi32(acc_c, x, _mm512_loadu_si512(c + i));
  }
  if (i < dim) {
    const __mmask64 m = (__mmask64{1} << (dim - i)) - 1;
    const __m512i x = _mm512_maskz_loadu_epi8(m, a + i);
    acc_b = _mm512_dpbusd_epi32(acc_b, x, _mm512_maskz_loadu_epi8(m, b + i));
    acc_c = _mm512_dpbusd_epi32(acc_c, x, _mm512_maskz_loadu_epi8(m, c + i));
  }
  out[0] = _mm512_reduce_add_epi32(acc_b);
  out[1] = _mm512_reduce_add_epi32(acc_c);
}

}  // namespace vj::internal

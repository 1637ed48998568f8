// AVX2 kernels on 8-bit codes; compiled with -mavx2 and run only when the CPU has AVX2.
#include <immintrin.h>

#include "core/code_distance.h"

namespace vj::internal {
namespace {

inline uint32_t Sum32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(s));
}

}  // namespace

// 16 codes per step, widened to 16-bit lanes; madd pairs them into 32-bit sums.
uint32_t CodeL2SqrAvx2(const uint8_t* a, const uint8_t* b, size_t dim) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    const __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i y = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    const __m256i d = _mm256_sub_epi16(x, y);
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(d, d));
  }
  uint32_t sum = Sum32(acc);
  for (; i < dim; ++i) {
    const int d = int{a[i]} - int{b[i]};
    sum += static_cast<uint32_t>(d * d);
  }
  return sum;
}

uint32_t CodeInnerProductAvx2(const uint8_t* a, const uint8_t* b, size_t dim) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    const __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i y = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    // Zero-extended codes are valid signed 16-bit operands; each 32-bit pair sum is at most 2 * 255^2.
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
  }
  uint32_t sum = Sum32(acc);
  for (; i < dim; ++i) sum += uint32_t{a[i]} * uint32_t{b[i]};
  return sum;
}

uint32_t CodeL1Avx2(const uint8_t* a, const uint8_t* b, size_t dim) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(x, y));  // four 64-bit partial sums
  }
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  uint32_t sum = static_cast<uint32_t>(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
  for (; i < dim; ++i) sum += static_cast<uint32_t>(a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]);
  return sum;
}

// Population count of 32 bytes by nibble look-up (AVX2 has no vector popcount), summed per 8 bytes.
uint32_t HammingAvx2(const uint8_t* a, const uint8_t* b, size_t bytes) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= bytes; i += 32) {
    const __m256i x = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)),
                                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    const __m256i counts =
        _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(x, low4)),
                        _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), low4)));
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(counts, _mm256_setzero_si256()));
  }
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  uint32_t sum = static_cast<uint32_t>(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
  for (; i < bytes; ++i) {
    unsigned x = unsigned{a[i]} ^ b[i];
    for (; x != 0; x &= x - 1) ++sum;
  }
  return sum;
}

int32_t DotSignedAvx2(const uint8_t* a, const int8_t* b, size_t dim) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    const __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    const __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
  }
  int32_t sum = static_cast<int32_t>(Sum32(acc));
  for (; i < dim; ++i) sum += int32_t{a[i]} * int32_t{b[i]};
  return sum;
}

}  // namespace vj::internal

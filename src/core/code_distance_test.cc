#include "core/code_distance.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace vj {
namespace {

std::vector<const CodeKernels*> AvailableKernels() {
  std::vector<const CodeKernels*> out = {&ScalarCodeKernels()};
  if (const CodeKernels* k = Avx2CodeKernels()) out.push_back(k);
  if (const CodeKernels* k = Avx512CodeKernels()) out.push_back(k);
  if (const CodeKernels* k = Avx512VnniCodeKernels()) out.push_back(k);
  return out;
}

TEST(CodeDistanceTest, EveryInstructionSetMatchesTheReference) {
  std::mt19937 rng(5);
  const CodeKernels& ref = ScalarCodeKernels();
  for (size_t dim : {1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 784, 1536}) {
    // +1 so that the kernels also run on pointers that are not 64-byte aligned.
    std::vector<uint8_t> a(dim + 1), b(dim + 1);
    for (int round = 0; round < 20; ++round) {
      for (size_t i = 0; i <= dim; ++i) {
        a[i] = static_cast<uint8_t>(round == 0 ? 255 : rng());
        b[i] = static_cast<uint8_t>(round == 0 ? 0 : (round == 1 ? 255 : rng()));
      }
      for (const CodeKernels* k : AvailableKernels()) {
        SCOPED_TRACE(std::string(k->isa) + " dim " + std::to_string(dim));
        EXPECT_EQ(k->l2_sqr(a.data() + 1, b.data() + 1, dim), ref.l2_sqr(a.data() + 1, b.data() + 1, dim));
        EXPECT_EQ(k->inner_product(a.data() + 1, b.data() + 1, dim),
                  ref.inner_product(a.data() + 1, b.data() + 1, dim));
        EXPECT_EQ(k->l1(a.data() + 1, b.data() + 1, dim), ref.l1(a.data() + 1, b.data() + 1, dim));
        EXPECT_EQ(k->hamming(a.data() + 1, b.data() + 1, dim), ref.hamming(a.data() + 1, b.data() + 1, dim));
        const auto* sb = reinterpret_cast<const int8_t*>(b.data() + 1);
        EXPECT_EQ(k->dot_signed(a.data() + 1, sb, dim), ref.dot_signed(a.data() + 1, sb, dim));
        int32_t got[2], want[2];
        const auto* sa = reinterpret_cast<const int8_t*>(a.data() + 1);
        k->dot_signed2(a.data() + 1, sb, sa, dim, got);
        ref.dot_signed2(a.data() + 1, sb, sa, dim, want);
        EXPECT_EQ(got[0], want[0]);
        EXPECT_EQ(got[1], want[1]);
      }
    }
  }
}

TEST(CodeDistanceTest, ReferenceValues) {
  const uint8_t a[3] = {0, 10, 255}, b[3] = {3, 10, 250};
  EXPECT_EQ(ScalarCodeKernels().l2_sqr(a, b, 3), 9u + 0u + 25u);
  EXPECT_EQ(ScalarCodeKernels().inner_product(a, b, 3), 0u + 100u + 255u * 250u);
  EXPECT_EQ(ScalarCodeKernels().l1(a, b, 3), 3u + 0u + 5u);
  // 0^3 = 0b11, 10^10 = 0, 255^250 = 0b101.
  EXPECT_EQ(ScalarCodeKernels().hamming(a, b, 3), 2u + 0u + 2u);
  const uint8_t ones[9] = {255, 255, 255, 255, 255, 255, 255, 255, 255}, zeros[9] = {};
  EXPECT_EQ(ScalarCodeKernels().hamming(ones, zeros, 9), 72u);
  const int8_t signed_b[3] = {-128, 127, -1};
  EXPECT_EQ(ScalarCodeKernels().dot_signed(a, signed_b, 3), 0 + 1270 - 255);
  EXPECT_NE(BestCodeKernels().isa, nullptr);
}

}  // namespace
}  // namespace vj

#include "text/bm25.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vj::text {
namespace {

using ::testing::ElementsAre;

TEST(MurmurHashTest, ReferenceValues) {
  // Published MurmurHash3_x86_32 values (seed 0), as Python's mmh3.hash gives them (signed).
  EXPECT_EQ(MurmurHash3_32("", 0), 0u);
  EXPECT_EQ(static_cast<int32_t>(MurmurHash3_32("foo", 0)), -156908512);
  EXPECT_EQ(static_cast<int32_t>(MurmurHash3_32("hello", 0)), 613153351);
  EXPECT_EQ(MurmurHash3_32("", 1), 0x514E28B7u);
  EXPECT_EQ(Bm25Encoder::TokenIndex("foo"), 156908512u);
}

TEST(Bm25Test, DocumentWeightsFollowTheFormula) {
  auto enc = Bm25Encoder::Create(Bm25Options{});
  ASSERT_TRUE(enc.ok()) << enc.status();
  // "the" and "and" are stop words; "cats" stems to "cat", "running" to "run".
  EXPECT_THAT(enc->Tokens("The cats and the cat running"), ElementsAre("cat", "cat", "run"));
  SparseVector v = enc->EncodeDocument("The cats and the cat running");
  ASSERT_EQ(v.indices.size(), 2u);
  const double k = 1.2, b = 0.75, len = 3, avg = 256;
  auto weight = [&](double tf) { return tf * (k + 1) / (tf + k * (1 - b + b * len / avg)); };
  for (size_t i = 0; i < v.indices.size(); ++i) {
    const double tf = v.indices[i] == Bm25Encoder::TokenIndex("cat") ? 2 : 1;
    EXPECT_NEAR(v.values[i], weight(tf), 1e-6);
  }
  EXPECT_LT(v.indices[0], v.indices[1]);  // ascending
  // Known vector for the Python cross-check (bench/bm25_xapian_check.py re-implements this).
  EXPECT_NEAR(weight(2), 1.9043111, 1e-6);
  EXPECT_NEAR(weight(1), 1.6786885, 1e-6);
}

TEST(Bm25Test, QueryIsUniqueTokensWithWeightOne) {
  auto enc = *Bm25Encoder::Create(Bm25Options{});
  SparseVector q = enc.EncodeQuery("cat cats CAT dog");
  ASSERT_EQ(q.indices.size(), 2u);
  EXPECT_THAT(q.values, ElementsAre(1.0f, 1.0f));
  EXPECT_TRUE(enc.EncodeQuery("the and of").indices.empty());
}

TEST(Bm25Test, OptionsChangeTheEncoding) {
  Bm25Options o;
  o.stem = false;
  o.stopwords = false;
  o.k = 2.0f;
  o.b = 0.0f;
  auto enc = *Bm25Encoder::Create(o);
  EXPECT_THAT(enc.Tokens("The cats"), ElementsAre("the", "cats"));
  SparseVector v = enc.EncodeDocument("cats cats");
  ASSERT_EQ(v.values.size(), 1u);
  EXPECT_NEAR(v.values[0], 2 * 3.0 / (2 + 2.0), 1e-6);  // b = 0: no length normalization
  o.avg_len = 0;
  EXPECT_FALSE(Bm25Encoder::Create(o).ok());
  o.avg_len = 10;
  o.b = 1.5f;
  EXPECT_FALSE(Bm25Encoder::Create(o).ok());
  o.b = 0.5f;
  o.language = "klingon";
  o.stem = true;
  EXPECT_FALSE(Bm25Encoder::Create(o).ok());
}

TEST(Bm25Test, LongTokensAreDropped) {
  auto enc = *Bm25Encoder::Create(Bm25Options{});
  EXPECT_TRUE(enc.Tokens(std::string(41, 'x')).empty());
  EXPECT_EQ(enc.Tokens(std::string(40, 'x')).size(), 1u);
}

}  // namespace
}  // namespace vj::text

#include "core/point_id.h"

#include <algorithm>
#include <random>
#include <unordered_set>
#include <vector>

#include "gtest/gtest.h"

namespace vj {
namespace {

TEST(PointIdTest, ParsesDashedAndPlainUuidsInAnyCase) {
  const std::string canonical = "936da01f-9abd-4d9d-80c7-02af85c822a8";
  for (const char* text : {"936da01f-9abd-4d9d-80c7-02af85c822a8", "936DA01F-9ABD-4D9D-80C7-02AF85C822A8",
                           "936Da01F-9aBd-4D9d-80C7-02aF85c822A8", "936da01f9abd4d9d80c702af85c822a8"}) {
    StatusOr<PointId> id = PointId::ParseUuid(text);
    ASSERT_TRUE(id.ok()) << text << ": " << id.status();
    EXPECT_TRUE(id->is_uuid());
    EXPECT_EQ(id->ToString(), canonical) << text;
    EXPECT_EQ(id->uuid()[0], 0x93);
    EXPECT_EQ(id->uuid()[15], 0xa8);
  }
}

TEST(PointIdTest, RejectsMalformedUuids) {
  for (const char* text : {
           "",
           "936da01f",
           "936da01f-9abd-4d9d-80c7-02af85c822a",    // 35 chars
           "936da01f-9abd-4d9d-80c7-02af85c822a8a",  // 37 chars
           "936da01f9-abd-4d9d-80c7-02af85c822a8",   // dash moved
           "936da01f-9abd-4d9d-80c7_02af85c822a8",   // wrong separator
           "936da01g-9abd-4d9d-80c7-02af85c822a8",   // not hex
           "936da01f9abd4d9d80c702af85c822ag",       // not hex, plain form
           "936da01f-9abd4d9d80c702af85c822a8",      // dashes in the plain form
           "{936da01f-9abd-4d9d-80c7-02af85c822a8}",
           " 936da01f-9abd-4d9d-80c7-02af85c822a8",
           "------------------------------------",
       }) {
    StatusOr<PointId> id = PointId::ParseUuid(text);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << '"' << text << '"';
  }
  // Embedded NUL within the right length.
  std::string with_nul = "936da01f-9abd-4d9d-80c7-02af85c822a8";
  with_nul[5] = '\0';
  EXPECT_FALSE(PointId::ParseUuid(with_nul).ok());
}

TEST(PointIdTest, NumbersPrintInDecimal) {
  EXPECT_EQ(PointId::Num(0).ToString(), "0");
  EXPECT_EQ(PointId::Num(18446744073709551615ull).ToString(), "18446744073709551615");
  EXPECT_FALSE(PointId::Num(7).is_uuid());
  EXPECT_EQ(PointId::Num(7).num(), 7u);
}

std::vector<PointId> RandomIds(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<PointId> ids = {PointId::Num(0), PointId::Num(1), PointId::Num(255), PointId::Num(256),
                              PointId::Num(~0ull), PointId::FromUuidBytes({}),
                              PointId::FromUuidBytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})};
  while (ids.size() < n) {
    if (rng() % 2) {
      // Mix small and large magnitudes so byte-order mistakes show.
      ids.push_back(PointId::Num(rng() >> (rng() % 64)));
    } else {
      std::array<uint8_t, 16> b;
      for (auto& x : b) x = static_cast<uint8_t>(rng() % 3 == 0 ? (rng() % 2 ? 0 : 0xff) : rng());
      ids.push_back(PointId::FromUuidBytes(b));
    }
  }
  return ids;
}

TEST(PointIdTest, KeyRoundTrips) {
  for (const PointId& id : RandomIds(2000, 1)) {
    const std::string key = id.Key();
    EXPECT_EQ(key.size(), id.is_uuid() ? 17u : 9u);
    StatusOr<PointId> back = PointId::FromKey(key);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, id);
    EXPECT_EQ(back->ToString(), id.ToString());
  }
}

TEST(PointIdTest, MalformedKeysAreDataLoss) {
  for (std::string_view key : {std::string_view(""), std::string_view("n"), std::string_view("n1234567"),
                               std::string_view("n123456789"), std::string_view("x12345678"),
                               std::string_view("u123456789012345"), std::string_view("n1234567890123456")}) {
    EXPECT_EQ(PointId::FromKey(key).status().code(), absl::StatusCode::kDataLoss) << key;
  }
}

TEST(PointIdTest, KeyOrderMatchesOperatorLess) {
  std::vector<PointId> by_less = RandomIds(3000, 2);
  std::vector<PointId> by_key = by_less;
  std::sort(by_less.begin(), by_less.end());
  std::sort(by_key.begin(), by_key.end(),
            [](const PointId& a, const PointId& b) { return a.Key() < b.Key(); });
  ASSERT_EQ(by_less.size(), by_key.size());
  for (size_t i = 0; i < by_less.size(); ++i) EXPECT_EQ(by_less[i], by_key[i]) << i;
  // Every integer sorts before every UUID.
  auto first_uuid = std::find_if(by_less.begin(), by_less.end(), [](const PointId& id) { return id.is_uuid(); });
  EXPECT_TRUE(std::all_of(first_uuid, by_less.end(), [](const PointId& id) { return id.is_uuid(); }));
  EXPECT_TRUE(PointId::Num(~0ull) < PointId::FromUuidBytes({}));
  EXPECT_FALSE(PointId::FromUuidBytes({}) < PointId::Num(0));
}

TEST(PointIdTest, EqualityAndHash) {
  const PointId zero_uuid = PointId::FromUuidBytes({});
  EXPECT_FALSE(PointId::Num(0) == zero_uuid);
  EXPECT_EQ(PointId::Num(42), PointId::Num(42));
  EXPECT_EQ(PointId::Num(42).Hash(), PointId::Num(42).Hash());
  std::unordered_set<PointId, PointIdHash> set;
  for (const PointId& id : RandomIds(1000, 3)) set.insert(id);
  for (const PointId& id : RandomIds(1000, 3)) EXPECT_EQ(set.count(id), 1u);
  EXPECT_EQ(set.count(PointId::Num(12345678901ull)), 0u);
}

}  // namespace
}  // namespace vj

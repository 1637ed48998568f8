// Datetime ranges and has_vector: Matches on payloads, and a datetime payload index answering exactly
// what Matches computes (brute force over random points).
#include <gtest/gtest.h>

#include <random>

#include "core/datetime.h"
#include "index/filter.h"
#include "index/payload_index.h"

namespace vj {
namespace {
namespace json = boost::json;

FieldCondition DateRange(std::optional<std::string> gte, std::optional<std::string> lt) {
  FieldCondition c;
  c.key = "at";
  c.path = *ParsePayloadPath("at");
  RangeCondition r;
  r.datetime = true;
  if (gte) r.gte = static_cast<double>(*ParseDateTimeMicros(*gte));
  if (lt) r.lt = static_cast<double>(*ParseDateTimeMicros(*lt));
  c.range = r;
  return c;
}

TEST(DateTimeFilterTest, RangeComparesInstantsOfStringValues) {
  const FieldCondition c = DateRange("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z");
  auto at = [](json::value v) { return Payload{{"at", std::move(v)}}; };
  Filter f;
  f.must.push_back(c);
  EXPECT_TRUE(Matches(f, PointId::Num(1), at("2024-01-15T12:00:00Z")));
  EXPECT_TRUE(Matches(f, PointId::Num(1), at("2024-01-01T01:00:00+01:00")));  // exactly the lower bound
  EXPECT_FALSE(Matches(f, PointId::Num(1), at("2024-02-01T00:00:00Z")));
  EXPECT_FALSE(Matches(f, PointId::Num(1), at("2023-12-31")));
  EXPECT_TRUE(Matches(f, PointId::Num(1), at(json::array{"2020-01-01", "2024-01-20"})));
  EXPECT_FALSE(Matches(f, PointId::Num(1), at(1705000000)));  // numbers are not date-times
  EXPECT_FALSE(Matches(f, PointId::Num(1), at("not a date")));
}

TEST(DateTimeFilterTest, HasVectorNeedsTheName) {
  Filter f;
  f.must.push_back(HasVectorCondition{"image"});
  const VectorNames names{"image", "text"};
  const VectorNames other{"text"};
  EXPECT_TRUE(Matches(f, PointId::Num(1), Payload{}, &names));
  EXPECT_FALSE(Matches(f, PointId::Num(1), Payload{}, &other));
  EXPECT_FALSE(Matches(f, PointId::Num(1), Payload{}));
  Filter unnamed;
  unnamed.must_not.push_back(HasVectorCondition{""});
  const VectorNames only_unnamed{""};
  EXPECT_FALSE(Matches(unnamed, PointId::Num(1), Payload{}, &only_unnamed));
}

TEST(DateTimeFilterTest, DatetimeIndexAnswersLikeMatches) {
  auto index = PayloadIndex::Create("at", PayloadSchemaType::kDatetime);
  ASSERT_TRUE(index.ok());
  std::mt19937_64 rng(3);
  std::vector<Payload> payloads;
  for (uint32_t i = 0; i < 400; ++i) {
    const int64_t day = static_cast<int64_t>(rng() % 60);
    Payload p;
    if (i % 9 == 0) {
      p["at"] = 12345;  // not a date-time: never indexed, never matched
    } else {
      p["at"] = FormatDateTimeMicros(1704067200000000LL + day * 86400000000LL + static_cast<int64_t>(rng() % 1000));
    }
    payloads.push_back(p);
    (*index)->Add(i, p);
  }
  (*index)->Remove(7, payloads[7]);
  payloads[7] = Payload{};
  for (auto [gte, lt] : {std::pair{"2024-01-10", "2024-01-20"}, std::pair{"2024-01-01T00:00:00Z", "2024-03-30"},
                         std::pair{"2024-02-01T00:00:00.0005Z", "2024-02-01T00:00:00.001Z"}}) {
    const FieldCondition c = DateRange(gte, lt);
    auto answer = (*index)->Answer(c);
    ASSERT_TRUE(answer.has_value());
    roaring::Roaring expected;
    for (uint32_t i = 0; i < payloads.size(); ++i) {
      Filter f;
      f.must.push_back(c);
      if (Matches(f, PointId::Num(i), payloads[i])) expected.add(i);
    }
    EXPECT_EQ(*answer, expected) << gte << " " << lt;
  }
  // A numeric range is not the datetime index's to answer, nor a datetime range an integer index's.
  FieldCondition numeric = DateRange("2024-01-10", std::nullopt);
  numeric.range->datetime = false;
  EXPECT_FALSE((*index)->Answer(numeric).has_value());
  auto integers = PayloadIndex::Create("at", PayloadSchemaType::kInteger);
  EXPECT_FALSE((*integers)->Answer(DateRange("2024-01-10", std::nullopt)).has_value());
}

}  // namespace
}  // namespace vj

#include "api/aggregation_codec.h"

#include <gtest/gtest.h>

#include "api/filter_codec.h"
#include "api/wire_codec.h"

namespace vj {
namespace {
namespace json = boost::json;

TEST(OrderByCodecTest, ParsesBothFormsAndRoundTrips) {
  auto key = ParseOrderBy(json::value("rank"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->key, "rank");
  EXPECT_FALSE(key->descending);
  auto full = ParseOrderBy(json::parse(R"({"key": "a.b", "direction": "desc", "start_from": 12.5})"));
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_TRUE(full->descending);
  EXPECT_EQ(*full->start_from, 12.5);
  auto back = ParseOrderBy(OrderByToJson(*full));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->key, "a.b");
  EXPECT_TRUE(back->descending);
  EXPECT_EQ(*back->start_from, 12.5);
}

TEST(OrderByCodecTest, RefusesBadInputNamingTheField) {
  for (const char* bad : {R"(5)", R"({"direction": "asc"})", R"({"key": "k", "direction": "up"})",
                          R"({"key": "k", "start_from": "x"})", R"({"key": "k", "typo": 1})", R"("a..b")"}) {
    auto r = ParseOrderBy(json::parse(bad));
    ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("order_by"), std::string::npos) << r.status();
  }
}

TEST(OrderByCodecTest, ScrollBodyCarriesOrderByAndOrderValueComesBack) {
  ScrollRequest request;
  request.order_by = OrderBy{"rank", true, 3};
  json::object body = ScrollBody(request);
  auto parsed = ParseOrderBy(body.at("order_by"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->descending);
  auto result = ParseScrollResult(json::parse(R"({"points": [{"id": 4, "order_value": 7}], "next_page_offset": null})"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result->points[0].order_value, 7.0);
  EXPECT_EQ(OrderValueToJson(7.0), json::value(7));
  EXPECT_EQ(OrderValueToJson(7.5), json::value(7.5));
}

TEST(AggregationJsonTest, QdrantShapes) {
  PointGroup g{json::value("red"), {}};
  PointView hit;
  hit.id = PointId::Num(3);
  hit.score = 0.5f;
  g.hits.push_back(hit);
  json::object groups = GroupsToJson({g}, {json::object{{"id", 1}}});
  const json::object& first = groups.at("groups").as_array()[0].as_object();
  EXPECT_EQ(first.at("id"), json::value("red"));
  EXPECT_EQ(first.at("hits").as_array()[0].as_object().at("id"), json::value(3));
  EXPECT_TRUE(first.contains("lookup"));
  EXPECT_FALSE(GroupsToJson({g}, {nullptr}).at("groups").as_array()[0].as_object().contains("lookup"));

  json::object facet = FacetHitsToJson({FacetHit{json::value("a"), 4}});
  EXPECT_EQ(json::serialize(facet), R"({"hits":[{"value":"a","count":4}]})");

  MatrixResult m;
  m.ids = {PointId::Num(1), PointId::Num(2)};
  m.entries = {{0, 1, 0.5f}, {1, 0, 0.5f}};
  EXPECT_EQ(json::serialize(MatrixPairsToJson(m)),
            R"({"pairs":[{"a":1,"b":2,"score":5E-1},{"a":2,"b":1,"score":5E-1}]})");
  json::object offsets = MatrixOffsetsToJson(m);
  EXPECT_EQ(json::serialize(offsets.at("offsets_row")), "[0,1]");
  EXPECT_EQ(json::serialize(offsets.at("offsets_col")), "[1,0]");
  EXPECT_EQ(json::serialize(offsets.at("ids")), "[1,2]");
}

TEST(DateTimeAndHasVectorCodecTest, ParseAndRoundTripThroughThePeerEncoding) {
  auto f = ParseFilter(json::parse(
      R"({"must": [{"key": "at", "range": {"gte": "2024-01-01T00:00:00+01:00", "lt": "2024-02-01"}},
                   {"has_vector": "image"}]})"));
  ASSERT_TRUE(f.ok()) << f.status();
  const auto& range = *std::get<FieldCondition>(f->must[0]).range;
  EXPECT_TRUE(range.datetime);
  EXPECT_EQ(*range.gte, 1704063600000000.0);
  EXPECT_EQ(std::get<HasVectorCondition>(f->must[1]).name, "image");
  auto back = ParseFilter(FilterToJson(*f));
  ASSERT_TRUE(back.ok()) << back.status();
  const auto& again = *std::get<FieldCondition>(back->must[0]).range;
  EXPECT_TRUE(again.datetime);
  EXPECT_EQ(*again.gte, *range.gte);
  EXPECT_EQ(*again.lt, *range.lt);
  EXPECT_FALSE(again.gt.has_value());
  EXPECT_EQ(std::get<HasVectorCondition>(back->must[1]).name, "image");
}

TEST(DateTimeAndHasVectorCodecTest, RefusesBadInputNamingTheField) {
  for (const char* bad : {R"({"must": [{"key": "at", "range": {"gte": "2024-13-01"}}]})",
                          R"({"must": [{"key": "at", "range": {"gte": "2024-01-01", "lt": 5}}]})",
                          R"({"must": [{"key": "at", "range": {"gte": 5, "lt": "2024-01-01"}}]})",
                          R"({"must": [{"has_vector": 3}]})", R"({"must": [{"has_vector": "a", "key": "b"}]})"}) {
    auto r = ParseFilter(json::parse(bad));
    ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("filter.must[0]"), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace vj

#include "api/aggregation_codec.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace vj

#include "api/point_codec.h"

#include <gtest/gtest.h>

#include "core/payload.h"

namespace vj {
namespace {

boost::json::object Obj(const char* text) { return ParseJson(text)->as_object(); }

TEST(PointCodecTest, BatchForm) {
  auto points = ParseUpsertBody(Obj(R"({"batch": {"ids": [1, "550e8400-e29b-41d4-a716-446655440000"],
                                          "vectors": [[1, 2], [3, 4]], "payloads": [{"a": 1}, null]}})"));
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 2u);
  EXPECT_TRUE((*points)[1].id.is_uuid());
  EXPECT_EQ((*points)[1].vectors.at("")[1], 4.0f);
  EXPECT_EQ((*points)[0].payload.at("a").as_int64(), 1);
  EXPECT_TRUE((*points)[1].payload.empty());
}

TEST(PointCodecTest, NamedVectorsAndErrors) {
  auto points = ParseUpsertBody(Obj(R"({"points": [{"id": 3, "vector": {"img": [1], "txt": [2, 3]}}]})"));
  ASSERT_TRUE(points.ok());
  EXPECT_EQ((*points)[0].vectors.at("txt").size(), 2u);
  EXPECT_FALSE(ParseUpsertBody(Obj(R"({"batch": {"ids": [1], "vectors": [[1], [2]]}})")).ok());
  EXPECT_FALSE(ParseUpsertBody(Obj(R"({"points": [], "batch": {}})")).ok());
  EXPECT_FALSE(ParseUpsertBody(Obj(R"({"points": [{"id": 1, "vector": ["x"]}]})")).ok());
  EXPECT_FALSE(ParseUpsertBody(Obj(R"({"points": [{"id": 1, "vector": [1e40]}]})")).ok());
  EXPECT_FALSE(ParseUpsertBody(Obj(R"({"points": [{"id": {}, "vector": [1]}]})")).ok());
  // Counted before any element is decoded: the fourth id is malformed, the count is what is refused.
  auto over = ParseUpsertBody(Obj(R"({"batch": {"ids": [1, 2, 3, {}], "vectors": []}})"), 3);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("points_per_request"), std::string_view::npos) << over.status();
  auto listed = ParseUpsertBody(Obj(R"({"points": [{}, {}, {}, {}]})"), 3);
  EXPECT_NE(listed.status().message().find("points_per_request"), std::string_view::npos) << listed.status();
}

TEST(PointCodecTest, Selectors) {
  auto all = ParsePayloadSelector(nullptr, {PayloadSelector::Mode::kAll, {}});
  EXPECT_EQ(all->mode, PayloadSelector::Mode::kAll);
  boost::json::value exclude = *ParseJson(R"({"exclude": ["a"]})");
  EXPECT_EQ(ParsePayloadSelector(&exclude, {})->mode, PayloadSelector::Mode::kExclude);
  boost::json::value bad = *ParseJson("3");
  EXPECT_FALSE(ParsePayloadSelector(&bad, {}).ok());
  boost::json::value names = *ParseJson(R"(["img"])");
  EXPECT_EQ(ParseVectorSelector(&names)->names, std::vector<std::string>{"img"});
}

}  // namespace
}  // namespace vj

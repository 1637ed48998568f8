#include "api/filter_codec.h"

#include "api/request_limits.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

StatusOr<Filter> Parse(std::string_view text) {
  StatusOr<boost::json::value> v = ParseJson(text);
  if (!v.ok()) return v.status();
  return ParseFilter(*v);
}

Filter Good(std::string_view text) {
  StatusOr<Filter> f = Parse(text);
  EXPECT_TRUE(f.ok()) << text << " -> " << f.status();
  return f.ok() ? *std::move(f) : Filter{};
}

const FieldCondition& AsField(const Condition& c) {
  static const FieldCondition kNone;
  const auto* f = std::get_if<FieldCondition>(&c);
  EXPECT_NE(f, nullptr);
  return f != nullptr ? *f : kNone;
}

TEST(FilterCodecTest, MatchForms) {
  Filter f = Good(R"({"must": [
      {"key": "city", "match": {"value": "London"}},
      {"key": "n", "match": {"value": -3}},
      {"key": "b", "match": {"value": true}},
      {"key": "tags[]", "match": {"any": ["a", "b"]}},
      {"key": "n", "match": {"except": [1, 2]}},
      {"key": "d", "match": {"text": "fox"}}]})");
  ASSERT_EQ(f.must.size(), 6u);
  const FieldCondition& city = AsField(f.must[0]);
  EXPECT_EQ(city.key, "city");
  ASSERT_TRUE(city.match);
  EXPECT_EQ(city.match->kind, MatchCondition::Kind::kValue);
  EXPECT_EQ(city.match->values, std::vector<MatchValue>{std::string("London")});
  EXPECT_EQ(AsField(f.must[1]).match->values, std::vector<MatchValue>{int64_t{-3}});
  EXPECT_EQ(AsField(f.must[2]).match->values, std::vector<MatchValue>{true});
  const FieldCondition& tags = AsField(f.must[3]);
  EXPECT_EQ(tags.match->kind, MatchCondition::Kind::kAny);
  EXPECT_EQ(tags.match->values, (std::vector<MatchValue>{std::string("a"), std::string("b")}));
  ASSERT_EQ(tags.path.size(), 1u);
  EXPECT_EQ(tags.path[0].index, PathStep::Index::kAll);
  EXPECT_EQ(AsField(f.must[4]).match->kind, MatchCondition::Kind::kExcept);
  EXPECT_EQ(AsField(f.must[4]).match->values, (std::vector<MatchValue>{int64_t{1}, int64_t{2}}));
  EXPECT_EQ(AsField(f.must[5]).match->kind, MatchCondition::Kind::kText);
  EXPECT_EQ(AsField(f.must[5]).match->text, "fox");
}

TEST(FilterCodecTest, MatchTextHasALengthLimit) {
  const std::string at_limit(kMaxMatchTextBytes, 'a');
  EXPECT_TRUE(Parse(R"({"must": [{"key": "t", "match": {"text": ")" + at_limit + R"("}}]})").ok());
  StatusOr<Filter> over = Parse(R"({"must": [{"key": "t", "match": {"text": ")" + at_limit + R"(b"}}]})");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("over the limit"), std::string_view::npos) << over.status();
}

TEST(FilterCodecTest, RangeAndValuesCount) {
  Filter f = Good(R"({"must": {"key": "p", "range": {"gt": 1, "gte": null, "lte": 2.5}},
                      "should": [{"key": "t", "values_count": {"gte": 2, "lt": 5}}]})");
  ASSERT_EQ(f.must.size(), 1u);
  const FieldCondition& p = AsField(f.must[0]);
  ASSERT_TRUE(p.range);
  EXPECT_EQ(p.range->gt, 1.0);
  EXPECT_FALSE(p.range->gte);
  EXPECT_FALSE(p.range->lt);
  EXPECT_EQ(p.range->lte, 2.5);
  EXPECT_FALSE(p.match);
  const FieldCondition& t = AsField(f.should[0]);
  ASSERT_TRUE(t.values_count);
  EXPECT_EQ(t.values_count->gte, 2u);
  EXPECT_EQ(t.values_count->lt, 5u);
}

TEST(FilterCodecTest, OtherConditions) {
  Filter f = Good(R"({"must_not": [
      {"is_empty": {"key": "a.b"}},
      {"is_null": {"key": "c"}},
      {"has_id": [5, "550E8400-E29B-41D4-A716-446655440000", 1, 5]},
      {"should": [{"key": "x", "match": {"value": 1}}], "must_not": {"is_null": {"key": "y"}}}]})");
  ASSERT_EQ(f.must_not.size(), 4u);
  const auto* empty = std::get_if<IsEmptyCondition>(&f.must_not[0]);
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->key, "a.b");
  EXPECT_EQ(empty->path.size(), 2u);
  ASSERT_NE(std::get_if<IsNullCondition>(&f.must_not[1]), nullptr);
  const auto* has_id = std::get_if<HasIdCondition>(&f.must_not[2]);
  ASSERT_NE(has_id, nullptr);
  // Sorted and deduplicated: integers first, then UUIDs.
  ASSERT_EQ(has_id->ids.size(), 3u);
  EXPECT_EQ(has_id->ids[0], PointId::Num(1));
  EXPECT_EQ(has_id->ids[1], PointId::Num(5));
  EXPECT_EQ(has_id->ids[2].ToString(), "550e8400-e29b-41d4-a716-446655440000");
  const auto* nested = std::get_if<std::shared_ptr<const Filter>>(&f.must_not[3]);
  ASSERT_NE(nested, nullptr);
  ASSERT_NE(*nested, nullptr);
  EXPECT_EQ((*nested)->should.size(), 1u);
  EXPECT_EQ((*nested)->must_not.size(), 1u);
}

TEST(FilterCodecTest, MinShouldAndEmptyForms) {
  Filter f = Good(R"({"min_should": {"conditions": [{"key": "a", "match": {"value": 1}},
                                                    {"key": "b", "match": {"value": 2}}], "min_count": 1}})");
  ASSERT_TRUE(f.min_should);
  EXPECT_EQ(f.min_should->conditions.size(), 2u);
  EXPECT_EQ(f.min_should->min_count, 1u);

  EXPECT_TRUE(Good("{}").empty());
  EXPECT_TRUE(Good("null").empty());
  EXPECT_TRUE(Good(R"({"must": null, "should": [], "must_not": null, "min_should": null})").empty());
  // An empty object as a condition is an empty nested filter, as in Qdrant.
  Filter g = Good(R"({"must": [{}]})");
  ASSERT_EQ(g.must.size(), 1u);
  EXPECT_NE(std::get_if<std::shared_ptr<const Filter>>(&g.must[0]), nullptr);
  // Any value matches nothing but parses.
  EXPECT_TRUE(AsField(Good(R"({"must": {"key": "a", "match": {"any": []}}})").must[0]).match->values.empty());
}

TEST(FilterCodecTest, ParsedFilterEvaluates) {
  Filter f = Good(R"({"must": [{"key": "color", "match": {"value": "red"}}],
                      "should": [{"key": "n", "range": {"gte": 10}}, {"has_id": [7]}]})");
  Payload red_small{{"color", "red"}, {"n", 1}};
  Payload red_big{{"color", "red"}, {"n", 12}};
  EXPECT_TRUE(Matches(f, PointId::Num(1), red_big));
  EXPECT_FALSE(Matches(f, PointId::Num(1), red_small));
  EXPECT_TRUE(Matches(f, PointId::Num(7), red_small));
}

struct BadCase {
  const char* json;
  const char* path;     // the message must name this
  const char* message;  // and contain this
};

TEST(FilterCodecTest, BadFiltersNameTheOffendingPath) {
  const BadCase cases[] = {
      {R"([])", "filter", "expected a filter object"},
      {R"({"must": 1})", "filter.must", "expected a condition object or an array"},
      {R"({"mustt": []})", "filter", "unknown field \"mustt\""},
      {R"({"must": [1]})", "filter.must[0]", "expected a condition object"},
      {R"({"must": [{"foo": 1}]})", "filter.must[0]", "unknown condition field \"foo\""},
      {R"({"must": [{"key": "a"}]})", "filter.must[0]", "expected one of match, range, values_count"},
      {R"({"must": [{"key": 1, "match": {"value": 1}}]})", "filter.must[0].key", "expected a string"},
      {R"({"must": [{"match": {"value": 1}, "key": "a..b"}]})", "filter.must[0].key", "invalid payload key"},
      {R"({"must": [{"key": "", "match": {"value": 1}}]})", "filter.must[0].key", "empty"},
      {R"({"must": [{"key": "a", "match": {"value": 1}, "extra": 1}]})", "filter.must[0]",
       "unknown field \"extra\""},
      {R"({"must": [{"key": "a", "match": {}}]})", "filter.must[0].match",
       "expected one of value, any, except, text"},
      {R"({"must": [{"key": "a", "match": {"valu": 1}}]})", "filter.must[0].match",
       "expected one of value, any, except, text"},
      {R"({"must": [{"key": "a", "match": {"value": 1, "any": [1]}}]})", "filter.must[0].match",
       "expected one of value, any, except, text"},
      {R"({"must": [{"key": "a", "match": 3}]})", "filter.must[0].match", "expected an object"},
      {R"({"must": [{"key": "a", "match": {"value": 1.5}}]})", "filter.must[0].match.value",
       "expected a string, an integer or a bool"},
      {R"({"must": [{"key": "a", "match": {"value": null}}]})", "filter.must[0].match.value", "expected"},
      {R"({"must": [{"key": "a", "match": {"value": [1]}}]})", "filter.must[0].match.value", "expected"},
      {R"({"must": [{"key": "a", "match": {"value": 18446744073709551615}}]})", "filter.must[0].match.value",
       "out of the int64 range"},
      {R"({"must": [{"key": "a", "match": {"any": "x"}}]})", "filter.must[0].match.any", "expected an array"},
      {R"({"must": [{"key": "a", "match": {"any": ["x", 1]}}]})", "filter.must[0].match.any[1]",
       "expected a string"},
      {R"({"must": [{"key": "a", "match": {"except": [1, "x"]}}]})", "filter.must[0].match.except[1]",
       "expected an integer"},
      {R"({"must": [{"key": "a", "match": {"any": [true]}}]})", "filter.must[0].match.any[0]", "expected"},
      {R"({"must": [{"key": "a", "match": {"text": 1}}]})", "filter.must[0].match.text", "expected a string"},
      {R"({"must": [{"key": "a", "match": {"phrase": 1}}]})", "filter.must[0].match.phrase",
       "expected a string"},
      {R"({"must": [{"key": "a", "match": {"text_any": ["x"]}}]})", "filter.must[0].match.text_any",
       "expected a string"},
      {R"({"must": [{"key": "a", "range": {"gt": "1"}}]})", "filter.must[0].range.gt", "datetime"},
      {R"({"must": [{"key": "a", "range": {"gt": true}}]})", "filter.must[0].range.gt", "expected a number"},
      {R"({"must": [{"key": "a", "range": {"between": 1}}]})", "filter.must[0].range", "unknown field"},
      {R"({"must": [{"key": "a", "range": [1]}]})", "filter.must[0].range", "expected an object"},
      {R"({"must": [{"key": "a", "values_count": {"gt": -1}}]})", "filter.must[0].values_count.gt",
       "non-negative integer"},
      {R"({"must": [{"key": "a", "geo_radius": {"center": {"lon": 0, "lat": 0}, "radius": 1}}]})",
       "filter.must[0].geo_radius", "not supported"},
      {R"({"must": [{"key": "a", "geo_bounding_box": {}}]})", "filter.must[0].geo_bounding_box",
       "not supported"},
      {R"({"must": [{"key": "a", "geo_polygon": {}}]})", "filter.must[0].geo_polygon", "not supported"},
      {R"({"must": [{"nested": {"key": "a", "filter": {}}}]})", "filter.must[0].nested", "not supported"},
      {R"({"must": [{"has_vector": 1}]})", "filter.must[0].has_vector", "expected a vector name"},
      {R"({"must": [{"key": "a", "range": {"gt": "2024-01-01", "lt": 3}}]})", "filter.must[0].range.lt",
       "all numbers or all datetimes"},
      {R"({"must": [{"is_empty": "a"}]})", "filter.must[0].is_empty", "expected an object"},
      {R"({"must": [{"is_empty": {"key": "a"}, "x": 1}]})", "filter.must[0]", "unknown field \"x\""},
      {R"({"must": [{"is_null": {"key": "a", "k": 1}}]})", "filter.must[0].is_null", "unknown field \"k\""},
      {R"({"must": [{"is_null": {}}]})", "filter.must[0].is_null.key", "required"},
      {R"({"must": [{"has_id": 1}]})", "filter.must[0].has_id", "expected an array"},
      {R"({"must": [{"has_id": [1, -2]}]})", "filter.must[0].has_id[1]", "non-negative integer or a UUID"},
      {R"({"must": [{"has_id": [1.5]}]})", "filter.must[0].has_id[0]", "non-negative integer or a UUID"},
      {R"({"must": [{"has_id": ["nope"]}]})", "filter.must[0].has_id[0]", "expected a UUID"},
      {R"({"should": [{"must": [{"key": "a", "match": {"value": 1.5}}]}]})",
       "filter.should[0].must[0].match.value", "expected"},
      {R"({"must_not": {"key": "a", "range": {"lt": "x"}}})", "filter.must_not.range.lt", "datetime"},
      {R"({"min_should": []})", "filter.min_should", "expected an object"},
      {R"({"min_should": {"conditions": []}})", "filter.min_should.min_count", "required"},
      {R"({"min_should": {"min_count": 1}})", "filter.min_should.conditions", "required"},
      {R"({"min_should": {"conditions": {"key": "a", "match": {"value": 1}}, "min_count": 1}})",
       "filter.min_should.conditions", "expected an array"},
      {R"({"min_should": {"conditions": [], "min_count": -1}})", "filter.min_should.min_count",
       "non-negative"},
      {R"({"min_should": {"conditions": [{"key": 5}], "min_count": 1}})",
       "filter.min_should.conditions[0].key", "expected a string"},
      {R"({"min_should": {"conditions": [], "min_count": 1, "x": 2}})", "filter.min_should", "unknown field"},
  };
  for (const BadCase& c : cases) {
    StatusOr<Filter> f = Parse(c.json);
    ASSERT_FALSE(f.ok()) << c.json;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    const std::string message(f.status().message());
    EXPECT_EQ(message.rfind(std::string(c.path) + ": ", 0), 0u) << c.json << " -> " << message;
    EXPECT_NE(message.find(c.message), std::string::npos) << c.json << " -> " << message;
  }
}

// Uses the single-condition form of must so that JSON depth equals filter depth and stays within
// ParseJson's own limit.
std::string NestedFilter(int levels) {
  std::string s;
  for (int i = 1; i < levels; ++i) s += R"({"must": )";
  s += "{}";
  for (int i = 1; i < levels; ++i) s += "}";
  return s;
}

TEST(FilterCodecTest, NestingDepthIsBounded) {
  EXPECT_TRUE(Parse(NestedFilter(32)).ok()) << Parse(NestedFilter(32)).status();
  StatusOr<Filter> f = Parse(NestedFilter(33));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("nested deeper than 32 levels"), std::string::npos) << f.status();
  EXPECT_EQ(f.status().message().rfind("filter.must.must.", 0), 0u) << f.status();
}

TEST(FilterCodecTest, WherePrefixesMessages) {
  StatusOr<boost::json::value> v = ParseJson(R"({"must": 1})");
  ASSERT_TRUE(v.ok());
  StatusOr<Filter> f = ParseFilter(*v, "body.query.filter");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message().rfind("body.query.filter.must: ", 0), 0u) << f.status();
}

StatusOr<Filter> ParseWith(const std::string& text, const FilterLimits& limits) {
  StatusOr<boost::json::value> v = ParseJson(text);
  if (!v.ok()) return v.status();
  return ParseFilter(*v, "filter", limits);
}

std::string Conditions(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + std::string(R"({"key": "k", "match": {"value": 1}})");
  return s;
}

std::string IntList(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i);
  return s;
}

void ExpectOverLimit(const StatusOr<Filter>& f, const std::string& prefix, const std::string& setting) {
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(f.status().message());
  EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
  EXPECT_NE(message.find("(setting limits." + setting + ")"), std::string::npos) << message;
}

TEST(FilterCodecTest, LimitsAreEnforcedAtTheirBoundary) {
  FilterLimits limits;
  limits.max_match_values = 5;
  limits.max_has_id = 3;
  limits.max_clause_conditions = 4;
  limits.max_conditions = 6;
  limits.max_depth = 3;
  EXPECT_TRUE(ParseWith(R"({"must": [{"key": "k", "match": {"any": [)" + IntList(5) + "]}}]}", limits).ok());
  ExpectOverLimit(ParseWith(R"({"must": [{"key": "k", "match": {"any": [)" + IntList(6) + "]}}]}", limits),
                  "filter.must[0].match.any: 6 values is over the limit of 5", "filter_match_values");
  ExpectOverLimit(ParseWith(R"({"must_not": [{"key": "k", "match": {"except": [)" + IntList(6) + "]}}]}", limits),
                  "filter.must_not[0].match.except: 6 values", "filter_match_values");
  EXPECT_TRUE(ParseWith(R"({"must": [{"has_id": [1, 2, 3]}]})", limits).ok());
  ExpectOverLimit(ParseWith(R"({"must": [{"has_id": [1, 2, 3, 4]}]})", limits),
                  "filter.must[0].has_id: 4 ids is over the limit of 3", "filter_has_id");
  EXPECT_TRUE(ParseWith(R"({"should": [)" + Conditions(4) + "]}", limits).ok());
  ExpectOverLimit(ParseWith(R"({"should": [)" + Conditions(5) + "]}", limits),
                  "filter.should: 5 conditions is over the limit of 4", "filter_clause_conditions");
  ExpectOverLimit(ParseWith(R"({"min_should": {"conditions": [)" + Conditions(5) + R"(], "min_count": 1}})",
                            limits),
                  "filter.min_should.conditions: 5 conditions", "filter_clause_conditions");
  // 3 + 3 in two clauses is at the total; a nested filter counts as a condition of its own.
  EXPECT_TRUE(ParseWith(R"({"must": [)" + Conditions(3) + R"(], "should": [)" + Conditions(3) + "]}", limits).ok());
  ExpectOverLimit(ParseWith(R"({"must": [)" + Conditions(3) + R"(], "should": [{"must": [)" + Conditions(3) +
                                "]}]}",
                            limits),
                  "filter.should[0].must[2]: 7 conditions in the filter is over the limit of 6",
                  "filter_conditions");
  EXPECT_TRUE(ParseWith(R"({"must": {"must": {}}})", limits).ok());
  StatusOr<Filter> deep = ParseWith(R"({"must": {"must": {"must": {}}}})", limits);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested deeper than 3 levels (setting limits.filter_depth)"),
            std::string::npos)
      << deep.status();
}

TEST(FilterCodecTest, LongMatchListsAreHashed) {
  Filter f = Good(R"({"must": [{"key": "k", "match": {"any": [)" + IntList(100) + "]}}]}");
  ASSERT_EQ(f.must.size(), 1u);
  EXPECT_NE(AsField(f.must[0]).match_set, nullptr);
}

}  // namespace
}  // namespace vj

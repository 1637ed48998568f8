#include "index/filter.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

RangeCondition Bounds(std::optional<double> gt, std::optional<double> gte, std::optional<double> lt,
                      std::optional<double> lte) {
  RangeCondition r;
  r.gt = gt;
  r.gte = gte;
  r.lt = lt;
  r.lte = lte;
  return r;
}

ValuesCountCondition Counts(std::optional<uint64_t> gt, std::optional<uint64_t> gte,
                            std::optional<uint64_t> lt, std::optional<uint64_t> lte) {
  ValuesCountCondition c;
  c.gt = gt;
  c.gte = gte;
  c.lt = lt;
  c.lte = lte;
  return c;
}

Payload P(std::string_view text) {
  StatusOr<boost::json::value> v = ParseJson(text);
  EXPECT_TRUE(v.ok() && v->is_object()) << text;
  const boost::json::object* obj = v.ok() ? v->if_object() : nullptr;
  return obj != nullptr ? *obj : Payload{};
}

PayloadPath Path(std::string_view key) {
  StatusOr<PayloadPath> p = ParsePayloadPath(key);
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

FieldCondition Field(std::string_view key) {
  FieldCondition c;
  c.key = std::string(key);
  c.path = Path(key);
  return c;
}

Condition Match(std::string_view key, MatchCondition::Kind kind, std::vector<MatchValue> values) {
  FieldCondition c = Field(key);
  c.match = MatchCondition{kind, std::move(values), ""};
  return c;
}

Condition Value(std::string_view key, MatchValue v) { return Match(key, MatchCondition::Kind::kValue, {v}); }
Condition Any(std::string_view key, std::vector<MatchValue> v) {
  return Match(key, MatchCondition::Kind::kAny, std::move(v));
}
Condition Except(std::string_view key, std::vector<MatchValue> v) {
  return Match(key, MatchCondition::Kind::kExcept, std::move(v));
}
Condition Text(std::string_view key, std::string text) {
  FieldCondition c = Field(key);
  c.match = MatchCondition{MatchCondition::Kind::kText, {}, std::move(text)};
  return c;
}
Condition Range(std::string_view key, RangeCondition r) {
  FieldCondition c = Field(key);
  c.range = r;
  return c;
}
Condition IsEmpty(std::string_view key) { return IsEmptyCondition{std::string(key), Path(key)}; }
Condition IsNull(std::string_view key) { return IsNullCondition{std::string(key), Path(key)}; }
Condition Nested(Filter f) { return std::make_shared<const Filter>(std::move(f)); }

bool M(const Condition& c, std::string_view payload, PointId id = PointId::Num(1)) {
  return Matches(c, id, P(payload));
}

TEST(FilterTest, EmptyFilterMatchesEverything) {
  EXPECT_TRUE(Matches(Filter{}, PointId::Num(7), P("{}")));
  EXPECT_TRUE(Matches(Filter{}, PointId::Num(7), P(R"({"a": 1})")));
}

TEST(FilterTest, MatchValueTypes) {
  EXPECT_TRUE(M(Value("city", std::string("London")), R"({"city": "London"})"));
  EXPECT_FALSE(M(Value("city", std::string("London")), R"({"city": "london"})"));
  EXPECT_FALSE(M(Value("city", std::string("1")), R"({"city": 1})"));
  EXPECT_TRUE(M(Value("n", int64_t{3}), R"({"n": 3})"));
  EXPECT_TRUE(M(Value("n", int64_t{3}), R"({"n": 3.0})"));
  EXPECT_FALSE(M(Value("n", int64_t{3}), R"({"n": 3.5})"));
  EXPECT_FALSE(M(Value("n", int64_t{3}), R"({"n": "3"})"));
  EXPECT_FALSE(M(Value("n", int64_t{1}), R"({"n": true})"));
  EXPECT_TRUE(M(Value("n", int64_t{-5}), R"({"n": -5})"));
  // Boost.JSON holds integers above INT64_MAX as uint64.
  EXPECT_FALSE(M(Value("n", int64_t{-1}), R"({"n": 18446744073709551615})"));
  EXPECT_TRUE(M(Value("n", int64_t{9223372036854775807}), R"({"n": 9223372036854775807})"));
  EXPECT_FALSE(M(Value("n", int64_t{9223372036854775807}), R"({"n": 1e30})"));
  EXPECT_TRUE(M(Value("b", true), R"({"b": true})"));
  EXPECT_FALSE(M(Value("b", true), R"({"b": false})"));
  EXPECT_FALSE(M(Value("b", false), R"({"b": 0})"));
  EXPECT_FALSE(M(Value("missing", std::string("x")), R"({"a": "x"})"));
}

TEST(FilterTest, MatchHoldsWhenAnyArrayElementMatches) {
  EXPECT_TRUE(M(Value("tags", std::string("b")), R"({"tags": ["a", "b"]})"));
  EXPECT_FALSE(M(Value("tags", std::string("c")), R"({"tags": ["a", "b"]})"));
  EXPECT_FALSE(M(Value("tags", std::string("a")), R"({"tags": []})"));
  EXPECT_TRUE(M(Value("tags[]", std::string("a")), R"({"tags": ["a"]})"));
}

TEST(FilterTest, NestedKeys) {
  const char* doc = R"({"country": {"name": "DE", "cities": [{"name": "Berlin", "pop": 3.7},
                                                             {"name": "Munich", "pop": 1.5}]}})";
  EXPECT_TRUE(M(Value("country.name", std::string("DE")), doc));
  EXPECT_TRUE(M(Value("country.cities[].name", std::string("Munich")), doc));
  EXPECT_TRUE(M(Value("country.cities.name", std::string("Munich")), doc));
  EXPECT_FALSE(M(Value("country.cities[].name", std::string("Paris")), doc));
  EXPECT_TRUE(M(Range("country.cities[].pop", Bounds(3.0, {}, {}, {})), doc));
  EXPECT_FALSE(M(Range("country.cities[].pop", Bounds(4.0, {}, {}, {})), doc));
  EXPECT_TRUE(M(Value("country.cities[0].name", std::string("Berlin")), doc));
  EXPECT_FALSE(M(Value("country.cities[0].name", std::string("Munich")), doc));
  EXPECT_FALSE(M(Value("country.nope.name", std::string("DE")), doc));
}

TEST(FilterTest, MatchAny) {
  Condition c = Any("color", {std::string("red"), std::string("blue")});
  EXPECT_TRUE(M(c, R"({"color": "red"})"));
  EXPECT_TRUE(M(c, R"({"color": ["green", "blue"]})"));
  EXPECT_FALSE(M(c, R"({"color": "green"})"));
  EXPECT_FALSE(M(c, R"({})"));
  EXPECT_FALSE(M(Any("color", {}), R"({"color": "red"})"));
  EXPECT_TRUE(M(Any("n", {int64_t{1}, int64_t{2}}), R"({"n": 2})"));
}

TEST(FilterTest, MatchExcept) {
  Condition c = Except("color", {std::string("black"), std::string("yellow")});
  EXPECT_TRUE(M(c, R"({"color": "red"})"));
  EXPECT_FALSE(M(c, R"({"color": "black"})"));
  // Qdrant: an array passes when at least one element is outside the list.
  EXPECT_TRUE(M(c, R"({"color": ["black", "green"]})"));
  EXPECT_FALSE(M(c, R"({"color": ["black", "yellow"]})"));
  // A key without values (absent, null, []) matches nothing, except included, as in Qdrant.
  EXPECT_FALSE(M(c, R"({})"));
  EXPECT_FALSE(M(c, R"({"color": []})"));
  EXPECT_FALSE(M(c, R"({"color": null})"));
  EXPECT_TRUE(M(c, R"({"color": 5})"));
  EXPECT_FALSE(M(Except("n", {int64_t{1}}), R"({"n": 1.0})"));
}

TEST(FilterTest, MatchText) {
  EXPECT_TRUE(M(Text("d", "quick"), R"({"d": "the quick fox"})"));
  EXPECT_FALSE(M(Text("d", "Quick"), R"({"d": "the quick fox"})"));
  EXPECT_TRUE(M(Text("d", "fox"), R"({"d": ["cat", "a fox"]})"));
  EXPECT_FALSE(M(Text("d", "1"), R"({"d": 1})"));
}

TEST(FilterTest, Range) {
  EXPECT_TRUE(M(Range("p", Bounds({}, 1.0, 2.0, {})), R"({"p": 1})"));
  EXPECT_FALSE(M(Range("p", Bounds({}, 1.0, 2.0, {})), R"({"p": 2})"));
  EXPECT_TRUE(M(Range("p", Bounds(1.0, {}, {}, 2.0)), R"({"p": 2.0})"));
  EXPECT_FALSE(M(Range("p", Bounds(1.0, {}, {}, {})), R"({"p": 1})"));
  EXPECT_TRUE(M(Range("p", Bounds(1e19, {}, {}, {})), R"({"p": 18446744073709551615})"));
  EXPECT_TRUE(M(Range("p", Bounds({}, {}, 0.0, {})), R"({"p": -3})"));
  EXPECT_FALSE(M(Range("p", Bounds({}, {}, 10.0, {})), R"({"p": "5"})"));
  EXPECT_FALSE(M(Range("p", Bounds({}, {}, 10.0, {})), R"({"p": true})"));
  EXPECT_FALSE(M(Range("p", Bounds({}, {}, 10.0, {})), R"({})"));
  EXPECT_TRUE(M(Range("p", RangeCondition{}), R"({"p": 5})"));
  EXPECT_TRUE(M(Range("p", Bounds(5.0, {}, {}, {})), R"({"p": [1, 7]})"));
}

TEST(FilterTest, MatchAndRangeMustHoldForTheSameValue) {
  FieldCondition c = Field("v");
  c.match = MatchCondition{MatchCondition::Kind::kAny, {int64_t{1}, int64_t{9}}, ""};
  c.range = Bounds(5.0, {}, {}, {});
  EXPECT_TRUE(M(c, R"({"v": [1, 9]})"));
  EXPECT_FALSE(M(c, R"({"v": [1, 7]})"));
}

TEST(FilterTest, ValuesCount) {
  FieldCondition c = Field("tags");
  c.values_count = Counts({}, 2, {}, {});
  EXPECT_TRUE(M(c, R"({"tags": ["a", "b"]})"));
  EXPECT_FALSE(M(c, R"({"tags": ["a"]})"));
  EXPECT_FALSE(M(c, R"({"tags": "a"})"));
  EXPECT_FALSE(M(c, R"({})"));
  c.values_count = Counts({}, {}, 1, {});
  EXPECT_TRUE(M(c, R"({})"));
  EXPECT_TRUE(M(c, R"({"tags": null})"));
  EXPECT_TRUE(M(c, R"({"tags": []})"));
  EXPECT_FALSE(M(c, R"({"tags": 0})"));
}

TEST(FilterTest, IsEmpty) {
  EXPECT_TRUE(M(IsEmpty("r"), R"({})"));
  EXPECT_TRUE(M(IsEmpty("r"), R"({"r": null})"));
  EXPECT_TRUE(M(IsEmpty("r"), R"({"r": []})"));
  EXPECT_FALSE(M(IsEmpty("r"), R"({"r": [null]})"));
  EXPECT_FALSE(M(IsEmpty("r"), R"({"r": 0})"));
  EXPECT_FALSE(M(IsEmpty("r"), R"({"r": ""})"));
  EXPECT_FALSE(M(IsEmpty("r"), R"({"r": {}})"));
  EXPECT_TRUE(M(IsEmpty("a.b"), R"({"a": {"c": 1}})"));
  EXPECT_FALSE(M(IsEmpty("a.b"), R"({"a": {"b": 1}})"));
}

TEST(FilterTest, IsNull) {
  EXPECT_TRUE(M(IsNull("r"), R"({"r": null})"));
  EXPECT_FALSE(M(IsNull("r"), R"({})"));
  EXPECT_FALSE(M(IsNull("r"), R"({"r": []})"));
  EXPECT_FALSE(M(IsNull("r"), R"({"r": 1})"));
  EXPECT_TRUE(M(IsNull("a[].b"), R"({"a": [{"b": 1}, {"b": null}]})"));
}

TEST(FilterTest, HasId) {
  PointId uuid = *PointId::ParseUuid("550e8400-e29b-41d4-a716-446655440000");
  HasIdCondition h;
  h.ids = {PointId::Num(1), PointId::Num(5), uuid};
  std::sort(h.ids.begin(), h.ids.end());
  EXPECT_TRUE(M(h, "{}", PointId::Num(5)));
  EXPECT_TRUE(M(h, "{}", uuid));
  EXPECT_FALSE(M(h, "{}", PointId::Num(2)));
  EXPECT_FALSE(M(h, "{}", *PointId::ParseUuid("550e8400-e29b-41d4-a716-446655440001")));
  EXPECT_FALSE(M(HasIdCondition{}, "{}", PointId::Num(1)));
}

TEST(FilterTest, Clauses) {
  const char* london_red = R"({"city": "London", "color": "red"})";
  const char* berlin_red = R"({"city": "Berlin", "color": "red"})";
  const char* moscow_blue = R"({"city": "Moscow", "color": "blue"})";
  Filter f;
  f.must = {Value("color", std::string("red"))};
  f.should = {Value("city", std::string("London")), Value("city", std::string("Moscow"))};
  EXPECT_TRUE(Matches(f, PointId::Num(1), P(london_red)));
  EXPECT_FALSE(Matches(f, PointId::Num(1), P(berlin_red)));
  EXPECT_FALSE(Matches(f, PointId::Num(1), P(moscow_blue)));

  Filter g;
  g.must_not = {Value("city", std::string("London")), Value("color", std::string("blue"))};
  EXPECT_FALSE(Matches(g, PointId::Num(1), P(london_red)));
  EXPECT_TRUE(Matches(g, PointId::Num(1), P(berlin_red)));
  EXPECT_FALSE(Matches(g, PointId::Num(1), P(moscow_blue)));
}

TEST(FilterTest, MinShould) {
  Filter f;
  f.min_should = MinShould{{Value("a", int64_t{1}), Value("b", int64_t{1}), Value("c", int64_t{1})}, 2};
  EXPECT_TRUE(Matches(f, PointId::Num(1), P(R"({"a": 1, "b": 1})")));
  EXPECT_TRUE(Matches(f, PointId::Num(1), P(R"({"a": 1, "b": 1, "c": 1})")));
  EXPECT_FALSE(Matches(f, PointId::Num(1), P(R"({"a": 1, "b": 2, "c": 2})")));
  f.min_should->min_count = 0;
  EXPECT_TRUE(Matches(f, PointId::Num(1), P(R"({})")));
  f.min_should->min_count = 4;
  EXPECT_FALSE(Matches(f, PointId::Num(1), P(R"({"a": 1, "b": 1, "c": 1})")));
}

TEST(FilterTest, NestedFilters) {
  // (city = London AND color = red) OR NOT (color in [red, blue])
  Filter london_red;
  london_red.must = {Value("city", std::string("London")), Value("color", std::string("red"))};
  Filter not_red_blue;
  not_red_blue.must_not = {Any("color", {std::string("red"), std::string("blue")})};
  Filter f;
  f.should = {Nested(london_red), Nested(not_red_blue)};
  EXPECT_TRUE(Matches(f, PointId::Num(1), P(R"({"city": "London", "color": "red"})")));
  EXPECT_TRUE(Matches(f, PointId::Num(1), P(R"({"city": "Paris", "color": "green"})")));
  EXPECT_FALSE(Matches(f, PointId::Num(1), P(R"({"city": "Paris", "color": "red"})")));
  // An empty nested filter holds, as it does at the top level.
  EXPECT_TRUE(M(Nested(Filter{}), "{}"));
}

// A long any/except list is looked up in a hash set; it must give exactly the answers of the
// value-by-value comparison, for every kind of stored value (ints, integral and fractional doubles,
// uint64 beyond int64, strings, bools, null, arrays, absent keys).
TEST(FilterTest, LongMatchListsGiveTheSameAnswersAsLinearComparison) {
  std::vector<MatchValue> ints, strings;
  for (int64_t i = -500; i < 500; i += 3) ints.emplace_back(i);
  ints.emplace_back(INT64_MAX);
  ints.emplace_back(INT64_MIN);
  for (int i = 0; i < 300; i += 2) strings.emplace_back("s" + std::to_string(i));
  const std::vector<std::string> payloads = {
      R"({"k": 3})", R"({"k": 4})", R"({"k": -500})", R"({"k": 499})", R"({"k": 3.0})", R"({"k": 3.5})",
      R"({"k": 9223372036854775807})", R"({"k": 18446744073709551615})", R"({"k": -9223372036854775808})",
      R"({"k": 1e300})", R"({"k": "s4"})", R"({"k": "s5"})", R"({"k": "s"})", R"({"k": true})",
      R"({"k": false})", R"({"k": null})", R"({"k": []})", R"({"k": [1, 2, 4]})", R"({"k": [5, "s8"]})",
      R"({"k": ["s1", "s3"]})", R"({"k": {"a": 1}})", R"({})", R"({"k": -1})", R"({"k": -2.0})"};
  for (auto kind : {MatchCondition::Kind::kAny, MatchCondition::Kind::kExcept}) {
    for (const auto* list : {&ints, &strings}) {
      FieldCondition linear = Field("k");
      linear.match = MatchCondition{kind, *list, ""};
      FieldCondition hashed = linear;
      IndexMatchValues(&hashed);
      ASSERT_NE(hashed.match_set, nullptr);
      ASSERT_EQ(linear.match_set, nullptr);
      for (const std::string& payload : payloads) {
        EXPECT_EQ(M(hashed, payload), M(linear, payload)) << payload;
      }
    }
  }
  // Sanity: the answers are the expected ones, not just equal.
  FieldCondition any_ints = Field("k");
  any_ints.match = MatchCondition{MatchCondition::Kind::kAny, ints, ""};
  IndexMatchValues(&any_ints);
  EXPECT_TRUE(M(any_ints, R"({"k": 4})"));        // -500 + 3 * 168
  EXPECT_TRUE(M(any_ints, R"({"k": 4.0})"));
  EXPECT_FALSE(M(any_ints, R"({"k": 3})"));
  EXPECT_TRUE(M(any_ints, R"({"k": 9223372036854775807})"));
  EXPECT_FALSE(M(any_ints, R"({"k": "4"})"));
}

TEST(FilterTest, ShortMatchListsStayLinear) {
  FieldCondition c = Field("k");
  c.match = MatchCondition{MatchCondition::Kind::kAny, {int64_t{1}, int64_t{2}}, ""};
  IndexMatchValues(&c);
  EXPECT_EQ(c.match_set, nullptr);
}

TEST(FilterTest, NeedsOfFindsHasVectorAndTextConditionsAtAnyDepth) {
  Filter plain;
  plain.must.push_back(Value("a", int64_t{1}));
  EXPECT_FALSE(NeedsOf(plain).vectors);
  EXPECT_FALSE(NeedsOf(plain).text);

  Filter inner;
  inner.must_not.push_back(HasVectorCondition{"image"});
  Filter outer;
  outer.should.push_back(Value("a", int64_t{1}));
  outer.should.push_back(Nested(inner));
  EXPECT_TRUE(NeedsOf(outer).vectors);
  EXPECT_FALSE(NeedsOf(outer).text);

  Filter text;
  text.min_should = MinShould{{Value("a", int64_t{1}), Text("t", "red car")}, 1};
  EXPECT_FALSE(NeedsOf(text).vectors);
  EXPECT_TRUE(NeedsOf(text).text);
}

}  // namespace
}  // namespace vj

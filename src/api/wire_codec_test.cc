#include "api/wire_codec.h"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "api/filter_codec.h"
#include "api/point_codec.h"
#include "api/query_codec.h"
#include "api/rest_api.h"
#include "collection/database.h"
#include "core/test_dir.h"
#include "core/payload.h"

namespace vj {
namespace {

namespace json = boost::json;

const char* kUuid = "550e8400-e29b-41d4-a716-446655440000";

// Through text, as a peer sees it.
json::value OverTheWire(const json::value& v) {
  StatusOr<json::value> parsed = ParseJson(json::serialize(v));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : json::value();
}

// Exact descriptions (doubles and floats by their bits) so that equal descriptions mean equal values.
std::string Exact(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", d);
  return buf;
}
std::string Exact(float f) { return Exact(static_cast<double>(f)) + "f"; }

std::string Describe(const Filter& f);

std::string DescribePath(const std::string& key, const PayloadPath& path) {
  std::string out = "key=" + key + " path=";
  for (const PathStep& s : path) {
    out += "/" + s.key + "#" + std::to_string(static_cast<int>(s.index)) + ":" + std::to_string(s.position);
  }
  return out;
}

template <typename T>
std::string DescribeBound(const char* name, const std::optional<T>& b) {
  if (!b) return "";
  if constexpr (std::is_floating_point_v<T>) {
    return std::string(" ") + name + "=" + Exact(*b);
  } else {
    return std::string(" ") + name + "=" + std::to_string(*b);
  }
}

std::string Describe(const Condition& c) {
  if (const auto* f = std::get_if<FieldCondition>(&c)) {
    std::string out = "field(" + DescribePath(f->key, f->path);
    if (f->match) {
      out += " match" + std::to_string(static_cast<int>(f->match->kind)) + "[";
      for (const MatchValue& v : f->match->values) {
        if (const auto* s = std::get_if<std::string>(&v)) out += "s:" + *s + ",";
        if (const auto* i = std::get_if<int64_t>(&v)) out += "i:" + std::to_string(*i) + ",";
        if (const auto* b = std::get_if<bool>(&v)) out += std::string("b:") + (*b ? "1" : "0") + ",";
      }
      out += "] text=" + f->match->text;
    }
    if (f->range) {
      out += " range" + DescribeBound("gt", f->range->gt) + DescribeBound("gte", f->range->gte) +
             DescribeBound("lt", f->range->lt) + DescribeBound("lte", f->range->lte);
    }
    if (f->values_count) {
      const ValuesCountCondition& n = *f->values_count;
      out += " count" + DescribeBound("gt", n.gt) + DescribeBound("gte", n.gte) + DescribeBound("lt", n.lt) +
             DescribeBound("lte", n.lte);
    }
    return out + ")";
  }
  if (const auto* e = std::get_if<IsEmptyCondition>(&c)) {
    return "is_empty(" + DescribePath(e->key, e->path) + ")";
  }
  if (const auto* n = std::get_if<IsNullCondition>(&c)) {
    return "is_null(" + DescribePath(n->key, n->path) + ")";
  }
  if (const auto* h = std::get_if<HasIdCondition>(&c)) {
    std::string out = "has_id(";
    for (const PointId& id : h->ids) out += id.ToString() + (id.is_uuid() ? "u," : "n,");
    return out + ")";
  }
  const auto& nested = std::get<std::shared_ptr<const Filter>>(c);
  return "nested{" + (nested ? Describe(*nested) : std::string("null")) + "}";
}

std::string Describe(const std::vector<Condition>& conditions) {
  std::string out = "[";
  for (const Condition& c : conditions) out += Describe(c) + "; ";
  return out + "]";
}

std::string Describe(const Filter& f) {
  std::string out =
      "must" + Describe(f.must) + " should" + Describe(f.should) + " must_not" + Describe(f.must_not);
  if (f.min_should) {
    out += " min_should" + std::to_string(f.min_should->min_count) + Describe(f.min_should->conditions);
  }
  return out;
}

std::string Describe(const PointView& p) {
  std::string out = p.id.ToString() + (p.id.is_uuid() ? "u" : "n");
  out += " payload=" + (p.payload ? json::serialize(*p.payload) : std::string("none"));
  for (const auto& [name, v] : p.vectors) {
    out += " " + name + "=[";
    for (float f : v) out += Exact(f) + ",";
    out += "]";
  }
  if (p.score) out += " score=" + Exact(*p.score);
  return out;
}

std::string Describe(const std::vector<PointView>& points) {
  std::string out;
  for (const PointView& p : points) out += Describe(p) + "\n";
  return out;
}

Filter MustParseFilter(std::string_view text) {
  StatusOr<json::value> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status();
  StatusOr<Filter> f = ParseFilter(v.ok() ? *v : json::value());
  EXPECT_TRUE(f.ok()) << text << " -> " << f.status();
  return f.ok() ? *std::move(f) : Filter{};
}

// One filter of each kind, for the end-to-end tests; every one matches some points of MakePoints.
std::vector<std::string> FilterTexts() {
  return {
      R"({"must": {"key": "color", "match": {"value": "red"}}})",
      R"({"must": {"key": "n", "match": {"value": 12}}})",
      R"({"must": {"key": "flag", "match": {"value": true}}})",
      R"({"must": {"key": "tags[]", "match": {"any": ["t1", "t3"]}}})",
      R"({"must": {"key": "n", "match": {"any": [1, 2, 3, 4, 5, 6, 7]}}})",
      R"({"must": {"key": "color", "match": {"except": ["red", "blue"]}}})",
      R"({"must": {"key": "text", "match": {"text": "brown"}}})",
      R"({"must": {"key": "price", "range": {"gt": 0.1, "lte": 7.4}}})",
      R"({"must": {"key": "tags", "values_count": {"gte": 2, "lt": 3}}})",
      R"({"must": {"key": "nested.a[].b", "range": {"gte": 3}}})",
      R"({"must": {"key": "arr[0]", "match": {"value": "x"}}})",
      R"({"must": {"is_empty": {"key": "maybe"}}})",
      R"({"must": {"is_null": {"key": "maybe"}}})",
      std::string(R"({"must": {"has_id": [1, 2, 4, ")") + kUuid + R"("]}})",
      R"({"must_not": [{"key": "color", "match": {"value": "green"}}],
          "should": [{"key": "n", "range": {"lt": 10}}, {"key": "flag", "match": {"value": false}}]})",
      R"({"must": [{"should": [{"key": "color", "match": {"value": "blue"}}, {"is_null": {"key": "maybe"}}]},
                   {"must_not": {"key": "n", "range": {"gte": 50}}}]})",
      R"({"min_should": {"conditions": [{"key": "color", "match": {"value": "red"}},
                                        {"key": "flag", "match": {"value": true}},
                                        {"key": "n", "range": {"lt": 30}}], "min_count": 2}})",
  };
}

TEST(WireCodecTest, FilterRoundTripsEveryConditionKind) {
  std::string everything = std::string(R"({
    "must": [
      {"key": "color", "match": {"value": "red"}},
      {"key": "n", "match": {"value": -9223372036854775808}},
      {"key": "big", "match": {"value": 9223372036854775807}},
      {"key": "flag", "match": {"value": false}},
      {"key": "tags[]", "match": {"any": ["a", "b"]}},
      {"key": "n", "match": {"any": []}},
      {"key": "n", "match": {"except": [1, -2]}},
      {"key": "s", "match": {"except": ["x"]}},
      {"key": "text", "match": {"text": "quick \"fox\" \u00e9"}},
      {"key": "price", "range": {"gt": 0.1, "lte": 1e300}},
      {"key": "price", "range": {"gte": -5, "lt": 3.141592653589793}, "match": {"value": 3}},
      {"key": "tags", "values_count": {"gt": 0, "gte": 1, "lt": 18446744073709551615, "lte": 7}},
      {"key": "nested.a[].b", "range": {"gte": 4.9e-324}},
      {"key": "arr[12].x", "match": {"value": "y"}},
      {"is_empty": {"key": "maybe"}},
      {"is_null": {"key": "a.b[]"}},
      {"has_id": [3, 1, ")") +
                           kUuid + R"(", 18446744073709551615]},
      {"should": [{"key": "c", "match": {"value": "blue"}}], "must_not": [{"has_id": [2]}]},
      {}
    ],
    "should": {"key": "n", "match": {"value": 1}},
    "must_not": [{"min_should": {"conditions": [{"is_empty": {"key": "z"}}], "min_count": 0}}],
    "min_should": {"conditions": [{"key": "c", "match": {"value": "red"}}, {"is_null": {"key": "x"}}],
                   "min_count": 2}})";
  Filter original = MustParseFilter(everything);
  ASSERT_EQ(original.must.size(), 19u);
  StatusOr<Filter> direct = ParseFilter(FilterToJson(original));
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ(Describe(*direct), Describe(original));
  StatusOr<Filter> wired = ParseFilter(OverTheWire(FilterToJson(original)));
  ASSERT_TRUE(wired.ok()) << wired.status();
  EXPECT_EQ(Describe(*wired), Describe(original));

  for (const std::string& text : FilterTexts()) {
    Filter f = MustParseFilter(text);
    StatusOr<Filter> back = ParseFilter(OverTheWire(FilterToJson(f)));
    ASSERT_TRUE(back.ok()) << text << " -> " << back.status();
    EXPECT_EQ(Describe(*back), Describe(f)) << text;
  }
  EXPECT_TRUE(ParseFilter(FilterToJson(Filter{}))->empty());
}

TEST(WireCodecTest, FilterBuiltInCodeRoundTripsDoublesAndPaths) {
  // Bounds no decimal literal in a test would hit, and a condition that has a path but no key.
  FieldCondition range;
  range.key = "p";
  range.path = *ParsePayloadPath("p");
  range.range = RangeCondition{std::nextafter(1.0, 2.0), 1.0 / 3.0, -0.0, std::numeric_limits<double>::max()};
  FieldCondition keyless;
  keyless.path = *ParsePayloadPath("a[].b[3].c");
  keyless.match = MatchCondition{MatchCondition::Kind::kValue, {int64_t{7}}, ""};
  Filter f;
  f.must = {range, keyless, std::make_shared<const Filter>()};
  Filter deep;
  for (int i = 0; i < 30; ++i) {
    Filter outer;
    outer.must.push_back(std::make_shared<const Filter>(std::move(deep)));
    deep = std::move(outer);
  }
  f.should.push_back(std::make_shared<const Filter>(std::move(deep)));

  StatusOr<Filter> back = ParseFilter(OverTheWire(FilterToJson(f)));
  ASSERT_TRUE(back.ok()) << back.status();
  keyless.key = "a[].b[3].c";  // what the decoder keeps
  f.must[1] = keyless;
  EXPECT_EQ(Describe(*back), Describe(f));
}

std::vector<float> EdgeFloats() {
  return {0.1f,
          -0.0f,
          1.0f / 3.0f,
          std::numeric_limits<float>::max(),
          -std::numeric_limits<float>::max(),
          std::numeric_limits<float>::min(),
          std::numeric_limits<float>::denorm_min(),
          16777215.0f,
          -2.5e-7f};
}

// EdgeFloats within what a collection stores: the largest magnitudes are ones whose squared sum stays
// under kMaxVectorNormSquared (core/distance.h), so that every score stays finite.
std::vector<float> StorableEdgeFloats() {
  std::vector<float> v = EdgeFloats();
  for (float& x : v) {
    if (std::fabs(x) == std::numeric_limits<float>::max()) x = std::copysign(4.5e18f, x);
  }
  return v;
}

TEST(WireCodecTest, UpsertBodyRoundTripsIdsVectorsAndPayloads) {
  std::vector<PointInput> points(3);
  points[0].id = PointId::Num(std::numeric_limits<uint64_t>::max());
  points[0].vectors[""] = EdgeFloats();
  points[0].payload =
      Payload{{"a", 1}, {"b", json::array{1.5, "x", nullptr}}, {"c", json::object{{"d", true}}}};
  points[1].id = *PointId::ParseUuid(kUuid);
  points[1].vectors["img"] = {1.0f, 2.0f};
  points[1].vectors["txt"] = EdgeFloats();
  points[2].id = PointId::Num(0);
  points[2].vectors[""] = {0.5f};
  points[2].vectors["other"] = {0.25f};  // the unnamed vector next to a named one

  for (bool wire : {false, true}) {
    json::value body = UpsertBody(points);
    if (wire) body = OverTheWire(body);
    StatusOr<std::vector<PointInput>> back = ParseUpsertBody(body.as_object());
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(back->size(), points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      EXPECT_EQ((*back)[i].id, points[i].id);
      EXPECT_EQ((*back)[i].payload, points[i].payload);
      ASSERT_EQ((*back)[i].vectors.size(), points[i].vectors.size());
      for (const auto& [name, v] : points[i].vectors) {
        const std::vector<float>& got = (*back)[i].vectors.at(name);
        ASSERT_EQ(got.size(), v.size());
        for (size_t j = 0; j < v.size(); ++j) {
          EXPECT_EQ(std::bit_cast<uint32_t>(got[j]), std::bit_cast<uint32_t>(v[j]))
              << name << "[" << j << "]";
        }
      }
    }
  }
}

TEST(WireCodecTest, SelectorsRoundTrip) {
  using Mode = PayloadSelector::Mode;
  for (const PayloadSelector& s :
       {PayloadSelector{Mode::kNone, {}}, PayloadSelector{Mode::kAll, {}},
        PayloadSelector{Mode::kInclude, {"a", "b.c"}}, PayloadSelector{Mode::kInclude, {}},
        PayloadSelector{Mode::kExclude, {"x"}}}) {
    json::value v = OverTheWire(PayloadSelectorToJson(s));
    // The fallback differs from every case, so a decoder that ignored the value would fail.
    StatusOr<PayloadSelector> back = ParsePayloadSelector(&v, PayloadSelector{Mode::kExclude, {"fallback"}});
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->mode, s.mode);
    EXPECT_EQ(back->keys, s.keys);
  }
  for (const VectorSelector& s :
       {VectorSelector{true, {}}, VectorSelector{false, {}}, VectorSelector{false, {"img", "txt"}}}) {
    json::value v = OverTheWire(VectorSelectorToJson(s));
    StatusOr<VectorSelector> back = ParseVectorSelector(&v);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->all, s.all);
    EXPECT_EQ(back->names, s.names);
  }
}

TEST(WireCodecTest, PointViewRoundTrips) {
  std::vector<PointView> views(4);
  views[0].id = PointId::Num(7);
  views[1].id = *PointId::ParseUuid(kUuid);
  views[1].payload = Payload{{"k", "v"}, {"n", 0.1}};
  views[1].vectors[""] = EdgeFloats();
  views[1].score = 0.1f;
  views[2].id = PointId::Num(0);
  views[2].payload = Payload{};
  views[2].vectors["img"] = {1.0f};
  views[2].vectors["txt"] = EdgeFloats();
  views[2].score = -std::numeric_limits<float>::max();
  views[3].id = PointId::Num(3);
  views[3].score = 0.0f;
  json::array arr;
  for (const PointView& v : views) {
    StatusOr<PointView> back = ParsePointView(OverTheWire(PointViewToJson(v)));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(Describe(*back), Describe(v));
    arr.push_back(PointViewToJson(v));
  }
  StatusOr<std::vector<PointView>> all = ParsePointViews(OverTheWire(arr));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Describe(*all), Describe(views));

  StatusOr<ScrollResult> scroll =
      ParseScrollResult(OverTheWire(json::object{{"points", arr}, {"next_page_offset", kUuid}}));
  ASSERT_TRUE(scroll.ok()) << scroll.status();
  EXPECT_EQ(Describe(scroll->points), Describe(views));
  EXPECT_EQ(scroll->next_page_offset, *PointId::ParseUuid(kUuid));
  scroll = ParseScrollResult(*ParseJson(R"({"points": [], "next_page_offset": null})"));
  ASSERT_TRUE(scroll.ok()) << scroll.status();
  EXPECT_FALSE(scroll->next_page_offset);
  // Qdrant's optional fields and nulls are accepted.
  StatusOr<PointView> qdrant = ParsePointView(*ParseJson(
      R"({"id": 5, "version": 3, "score": 1, "payload": null, "vector": null, "shard_key": null})"));
  ASSERT_TRUE(qdrant.ok()) << qdrant.status();
  EXPECT_FALSE(qdrant->payload);
  EXPECT_TRUE(qdrant->vectors.empty());
  EXPECT_EQ(qdrant->score, 1.0f);
}

TEST(WireCodecTest, MalformedResultsAreInvalidArgument) {
  const char* bad_points[] = {"3",
                              "\"x\"",
                              "[]",
                              "null",
                              "{}",
                              R"({"id": -1})",
                              R"({"id": 1.5})",
                              R"({"id": "not-a-uuid"})",
                              R"({"id": 1, "vector": "x"})",
                              R"({"id": 1, "vector": [1, "a"]})",
                              R"({"id": 1, "vector": [1e300]})",
                              R"({"id": 1, "vector": {"img": 3}})",
                              R"({"id": 1, "payload": [1]})",
                              R"({"id": 1, "score": "x"})",
                              R"({"id": 1, "score": 1e300})",
                              R"({"id": 1, "version": -1})",
                              R"({"id": 1, "colour": 1})"};
  for (const char* text : bad_points) {
    StatusOr<json::value> v = ParseJson(text);
    ASSERT_TRUE(v.ok()) << text;
    StatusOr<PointView> p = ParsePointView(*v);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << text;
    StatusOr<std::vector<PointView>> list = ParsePointViews(json::array{*v});
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(StatusMessage(list.status()).find("points[0]"), std::string::npos) << list.status();
  }
  const char* bad_scrolls[] = {"[]",
                               "1",
                               "{}",
                               R"({"points": 1})",
                               R"({"points": [1]})",
                               R"({"points": [], "next_page_offset": true})",
                               R"({"points": [], "next_page_offset": -3})",
                               R"({"points": [], "extra": 1})"};
  for (const char* text : bad_scrolls) {
    StatusOr<ScrollResult> r = ParseScrollResult(*ParseJson(text));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_EQ(ParsePointViews(json::object{}).status().code(), absl::StatusCode::kInvalidArgument);
}

// End to end: each encoded body sent to the route that a peer serves, compared with calling the
// Collection with the original struct.
class WireCodecApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.data_dir = dir_.path();
    db_ = std::move(*Database::Open(options));
    api_ = std::make_unique<RestApi>(*db_, RestApiOptions{});
  }

  // The "result" of a request that must succeed.
  json::value Call(const std::string& method, const std::string& path, const json::value& body) {
    Response r = api_->Handle(Request{method, path, {{"wait", "true"}}, json::serialize(body), {}});
    StatusOr<json::value> parsed = ParseJson(r.body);
    EXPECT_TRUE(parsed.ok()) << r.body;
    EXPECT_EQ(r.status, 200) << method << " " << path << " " << json::serialize(body) << " -> " << r.body;
    if (!parsed.ok() || !parsed->is_object() || !parsed->as_object().contains("result")) return nullptr;
    return parsed->as_object().at("result");
  }

  std::shared_ptr<Collection> Get(const std::string& name) { return *db_->Get(name); }

  // 60 points with payloads that every filter of FilterTexts selects from; every third id is a UUID.
  static std::vector<PointInput> MakePoints(const std::map<std::string, size_t>& dims) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<PointInput> points(60);
    const char* colors[] = {"red", "blue", "green"};
    for (size_t i = 0; i < points.size(); ++i) {
      PointInput& p = points[i];
      if (i % 3 == 0) {
        std::array<uint8_t, 16> bytes{};
        for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
        p.id = i == 0 ? *PointId::ParseUuid(kUuid) : PointId::FromUuidBytes(bytes);
      } else {
        p.id = PointId::Num(i);
      }
      for (const auto& [name, dim] : dims) {
        for (size_t d = 0; d < dim; ++d) p.vectors[name].push_back(uniform(rng));
      }
      json::array tags;
      for (size_t t = 0; t < i % 4; ++t) tags.emplace_back("t" + std::to_string(i % 5 + t));
      p.payload = Payload{{"color", colors[i % 3]},
                          {"n", i},
                          {"flag", i % 2 == 0},
                          {"tags", tags},
                          {"price", 0.37 * static_cast<double>(i)},
                          {"nested", json::object{{"a", json::array{json::object{{"b", i % 5}}}}}},
                          {"arr", json::array{i % 4 == 0 ? "x" : "y"}}};
      if (i % 7 == 0) p.payload["text"] = "the quick brown fox";
      if (i % 5 == 0) p.payload["maybe"] = nullptr;
      if (i % 5 == 1) p.payload["maybe"] = "here";
    }
    return points;
  }

  TestDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<RestApi> api_;
};

TEST_F(WireCodecApiTest, ReadsMatchTheCollection) {
  Call("PUT", "/collections/c", *ParseJson(R"({"vectors": {"img": {"size": 4, "distance": "Cosine"},
                                                           "txt": {"size": 3, "distance": "Euclid"}},
                                               "shard_number": 3})"));
  std::vector<PointInput> points = MakePoints({{"img", 4}, {"txt", 3}});
  Call("PUT", "/collections/c/points", UpsertBody(points));
  std::shared_ptr<Collection> c = Get("c");
  ASSERT_EQ(*c->Count(std::nullopt, true), points.size());

  std::vector<std::optional<Filter>> filters = {std::nullopt};
  for (const std::string& text : FilterTexts()) filters.push_back(MustParseFilter(text));
  using Mode = PayloadSelector::Mode;
  for (size_t i = 0; i < filters.size(); ++i) {
    SCOPED_TRACE("filter " + std::to_string(i));
    // Query: alternating vectors, selectors and parameters.
    QueryRequest q;
    q.using_vector = i % 2 == 0 ? "img" : "txt";
    q.vector = points[i].vectors[q.using_vector];
    q.vector[0] += 0.125f;
    q.filter = filters[i];
    q.limit = 3 + i % 5;
    q.offset = i % 3;
    if (i % 4 == 1) q.score_threshold = q.using_vector == "img" ? 0.1f : 2.5f;
    q.hnsw_ef = i % 3 == 0 ? 0 : 16 * i;
    q.exact = i % 5 == 0;
    q.ignore_quantization = i % 2 == 1;
    q.rescore = i % 3 != 0;
    q.oversampling = 1.5f;
    q.with_payload =
        i % 3 == 0 ? PayloadSelector{Mode::kAll, {}}
                   : PayloadSelector{i % 3 == 1 ? Mode::kInclude : Mode::kExclude, {"color", "nested.a"}};
    q.with_vector = i % 2 == 0 ? VectorSelector{true, {}} : VectorSelector{false, {"txt"}};
    json::value result = Call("POST", "/collections/c/points/query", QueryBody(q));
    ASSERT_TRUE(result.is_object());
    StatusOr<std::vector<PointView>> remote = ParsePointViews(result.as_object()["points"]);
    ASSERT_TRUE(remote.ok()) << remote.status();
    StatusOr<std::vector<PointView>> local = c->Query(q);
    ASSERT_TRUE(local.ok()) << local.status();
    EXPECT_EQ(Describe(*remote), Describe(*local));

    // The same as a recommend query over raw examples, scored on every shard.
    QueryRequest r = q;
    using S = ExampleScoring::Strategy;
    const S strategy = std::array{S::kBestScore, S::kSumScores, S::kDiscover, S::kContext}[i % 4];
    r.examples = ExampleScoring{strategy,
                                {q.vector, points[i + 1].vectors[q.using_vector]},
                                {points[i + 2].vectors[q.using_vector], points[i + 3].vectors[q.using_vector]},
                                strategy == S::kDiscover ? points[i + 4].vectors[q.using_vector] : std::vector<float>()};
    if (i % 3 == 0 && strategy == S::kBestScore) r.examples->positive.clear();
    json::value reco = Call("POST", "/collections/c/points/query", QueryBody(r));
    ASSERT_TRUE(reco.is_object());
    StatusOr<std::vector<PointView>> reco_remote = ParsePointViews(reco.as_object()["points"]);
    ASSERT_TRUE(reco_remote.ok()) << reco_remote.status();
    StatusOr<std::vector<PointView>> reco_local = c->Query(r);
    ASSERT_TRUE(reco_local.ok()) << reco_local.status();
    EXPECT_EQ(Describe(*reco_remote), Describe(*reco_local));
    if (!r.filter && !r.score_threshold) EXPECT_FALSE(reco_local->empty());

    // Scroll, page by page, from an offset taken from the points.
    ScrollRequest s;
    s.offset = i % 2 == 0 ? std::optional<PointId>() : points[i].id;
    s.limit = 4 + i % 3;
    s.filter = filters[i];
    s.with_payload =
        i % 2 == 0 ? PayloadSelector{Mode::kInclude, {"n", "tags"}} : PayloadSelector{Mode::kAll, {}};
    s.with_vector = i % 3 == 0 ? VectorSelector{false, {"img"}} : VectorSelector{};
    for (int page = 0; page < 20; ++page) {
      StatusOr<ScrollResult> remote_page =
          ParseScrollResult(Call("POST", "/collections/c/points/scroll", ScrollBody(s)));
      ASSERT_TRUE(remote_page.ok()) << remote_page.status();
      StatusOr<ScrollResult> local_page = c->Scroll(s);
      ASSERT_TRUE(local_page.ok()) << local_page.status();
      EXPECT_EQ(Describe(remote_page->points), Describe(local_page->points));
      EXPECT_EQ(remote_page->next_page_offset, local_page->next_page_offset);
      if (!local_page->next_page_offset) break;
      s.offset = local_page->next_page_offset;
    }

    // Count, exact and not.
    for (bool exact : {true, false}) {
      json::value count = Call("POST", "/collections/c/points/count", CountBody(filters[i], exact));
      StatusOr<uint64_t> local_count = c->Count(filters[i], exact);
      ASSERT_TRUE(local_count.ok());
      ASSERT_TRUE(count.is_object() && count.as_object().contains("count")) << count;
      EXPECT_EQ(count.as_object().at("count").to_number<uint64_t>(), *local_count);
      EXPECT_GT(*local_count, 0u);  // every filter selects some points, so the comparisons mean something
    }
  }

  // Retrieve, with a missing id and both kinds of ids.
  std::vector<PointId> ids = {points[3].id, PointId::Num(1000), points[1].id, points[0].id};
  for (const auto& [payload, vector] :
       {std::pair{PayloadSelector{Mode::kAll, {}}, VectorSelector{true, {}}},
        std::pair{PayloadSelector{Mode::kNone, {}}, VectorSelector{false, {"txt"}}},
        std::pair{PayloadSelector{Mode::kExclude, {"nested"}}, VectorSelector{}}}) {
    StatusOr<std::vector<PointView>> remote =
        ParsePointViews(Call("POST", "/collections/c/points", RetrieveBody(ids, payload, vector)));
    ASSERT_TRUE(remote.ok()) << remote.status();
    StatusOr<std::vector<PointView>> local = c->Retrieve(ids, payload, vector);
    ASSERT_TRUE(local.ok()) << local.status();
    EXPECT_EQ(remote->size(), 3u);
    EXPECT_EQ(Describe(*remote), Describe(*local));
  }
}

TEST_F(WireCodecApiTest, UnnamedVectorsArriveBitForBit) {
  Call("PUT", "/collections/u",
       *ParseJson(R"({"vectors": {"size": 9, "distance": "Dot"}, "shard_number": 2})"));
  std::vector<PointInput> points = MakePoints({{"", 9}});
  points[1].vectors[""] = StorableEdgeFloats();
  points[2].vectors[""] = StorableEdgeFloats();
  points[2].vectors[""][2] = std::numeric_limits<float>::denorm_min();
  Call("PUT", "/collections/u/points", UpsertBody(points));
  std::vector<PointId> ids;
  for (const PointInput& p : points) ids.push_back(p.id);
  StatusOr<std::vector<PointView>> stored =
      ParsePointViews(Call("POST", "/collections/u/points", RetrieveBody(ids, {}, {true, {}})));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    PointView expected{points[i].id, std::nullopt, points[i].vectors, std::nullopt};
    EXPECT_EQ(Describe((*stored)[i]), Describe(expected));
  }
  QueryRequest q;
  q.vector = StorableEdgeFloats();
  q.vector.resize(9, 0.5f);
  q.vector[3] = 1e-3f;  // keep Dot scores finite
  q.vector[4] = -1e-3f;
  q.limit = 10;
  q.exact = true;
  q.with_payload = {PayloadSelector::Mode::kAll, {}};
  StatusOr<std::vector<PointView>> remote =
      ParsePointViews(Call("POST", "/collections/u/points/query", QueryBody(q)).as_object()["points"]);
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ(Describe(*remote), Describe(*Get("u")->Query(q)));
}

TEST_F(WireCodecApiTest, WritesMatchTheCollection) {
  // "a" receives the encoded bodies, "b" the same structs directly; after each write both hold the same.
  const std::string config =
      R"({"vectors": {"img": {"size": 2, "distance": "Dot"}, "txt": {"size": 2, "distance": "Euclid"}},
                                 "shard_number": 2})";
  std::vector<PointInput> points = MakePoints({{"img", 2}, {"txt", 2}});
  Call("PUT", "/collections/a", *ParseJson(config));
  Call("PUT", "/collections/b", *ParseJson(config));
  Call("PUT", "/collections/a/points", UpsertBody(points));
  std::shared_ptr<Collection> b = Get("b");
  ASSERT_TRUE(b->Upsert(points, true, RequestContext()).ok());

  auto expect_same = [&](const std::string& step) {
    ScrollRequest all;
    all.limit = 1000;
    all.with_vector = {true, {}};
    StatusOr<ScrollResult> got = Get("a")->Scroll(all);
    StatusOr<ScrollResult> want = b->Scroll(all);
    ASSERT_TRUE(got.ok() && want.ok());
    EXPECT_EQ(Describe(got->points), Describe(want->points)) << step;
  };
  expect_same("upsert");

  auto by_ids = [](std::vector<PointId> ids) { return PointSelector{std::move(ids), std::nullopt}; };
  auto by_filter = [](std::string_view text) { return PointSelector{{}, MustParseFilter(text)}; };
  struct Write {
    PayloadUpdate op;
    PointSelector selector;
    Payload payload;
    std::vector<std::string> keys;
    std::optional<std::string> key;
  };
  const Write writes[] = {
      {PayloadUpdate::kSet, by_ids({points[1].id, points[3].id}), Payload{{"extra", 0.1}}, {}, {}},
      {PayloadUpdate::kSet,
       by_filter(R"({"must": {"key": "color", "match": {"value": "red"}}})"),
       Payload{{"deep", json::array{1, 2}}},
       {},
       "nested"},
      {PayloadUpdate::kOverwrite,
       by_filter(R"({"must": {"has_id": [4, 5, 7]}})"),
       Payload{{"only", true}},
       {},
       {}},
      {PayloadUpdate::kOverwrite, by_ids({points[6].id}), Payload{{"x", 1}}, {}, "sub"},
      {PayloadUpdate::kDeleteKeys,
       by_ids({points[9].id, points[10].id}),
       {},
       {"color", "tags", "nested.a"},
       {}},
      {PayloadUpdate::kDeleteKeys,
       by_filter(R"({"must": {"key": "n", "range": {"gte": 40}}})"),
       {},
       {"price"},
       {}},
      {PayloadUpdate::kClear, by_filter(R"({"must": {"key": "n", "range": {"lt": 5}}})"), {}, {}, {}},
      {PayloadUpdate::kClear, by_ids({points[12].id, points[13].id}), {}, {}, {}},
  };
  const char* routes[] = {"POST /points/payload", "PUT /points/payload", "POST /points/payload/delete",
                          "POST /points/payload/clear"};
  for (const Write& w : writes) {
    std::string route = routes[static_cast<int>(w.op)];
    std::string method = route.substr(0, route.find(' '));
    Call(method, "/collections/a" + route.substr(route.find(' ') + 1),
         PayloadBody(w.op, w.selector, w.payload, w.keys, w.key));
    ASSERT_TRUE(b->UpdatePayload(w.op, w.selector, w.payload, w.keys, w.key, true, RequestContext()).ok());
    expect_same(route);
  }

  for (const PointSelector& s : {by_ids({points[2].id, points[3].id, points[15].id, PointId::Num(12345)}),
                                 by_filter(R"({"must": {"key": "color", "match": {"value": "blue"}}})"),
                                 by_filter(std::string(R"({"should": [{"has_id": [")") + kUuid +
                                           R"("]}, {"is_empty": {"key": "color"}}]})")}) {
    Call("POST", "/collections/a/points/delete", SelectorBody(s));
    ASSERT_TRUE(b->Delete(s, true, RequestContext()).ok());
    expect_same("delete");
  }
  EXPECT_LT(*b->Count(std::nullopt, true), points.size());
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

// Sparse vectors travel between nodes in the public shapes: an upsert, a point view and a sparse query
// come back equal (indices sorted, values bit for bit).
TEST(WireCodecSparseTest, UpsertViewAndQueryRoundTrip) {
  std::vector<PointInput> points(2);
  points[0].id = PointId::Num(1);
  points[0].vectors["d"] = {1.0f, 2.0f};
  // 1e18: large, and within the norm a sparse vector may have (core/distance.h, sparse_vector.cc).
  points[0].sparse["text"] = SparseVector{{2, 9, 4294967295u}, {0.5f, -1.0f, 1e18f}};
  points[1].id = PointId::Num(2);
  points[1].sparse["text"] = SparseVector{};
  StatusOr<std::vector<PointInput>> back = ParseUpsertBody(OverTheWire(UpsertBody(points)).as_object());
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].sparse, points[0].sparse);
  EXPECT_EQ((*back)[0].vectors, points[0].vectors);
  EXPECT_EQ((*back)[1].sparse, points[1].sparse);
  EXPECT_TRUE((*back)[1].vectors.empty());

  PointView view;
  view.id = PointId::Num(3);
  view.sparse["text"] = SparseVector{{1, 7}, {3.0f, 0.25f}};
  view.score = 1.5f;
  StatusOr<PointView> view_back = ParsePointView(OverTheWire(PointViewToJson(view)));
  ASSERT_TRUE(view_back.ok()) << view_back.status();
  EXPECT_EQ(view_back->sparse, view.sparse);

  QueryRequest request;
  request.using_vector = "text";
  request.sparse_vector = SparseVector{{4, 8}, {1.0f, 0.5f}};
  request.limit = 7;
  StatusOr<QueryPlan> plan = ParseQueryPlan(OverTheWire(QueryBody(request)).as_object(), RequestLimits{}, "");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto* nearest = std::get_if<NearestOp>(&plan->root.op);
  ASSERT_NE(nearest, nullptr);
  ASSERT_TRUE(nearest->target.sparse.has_value());
  EXPECT_EQ(*nearest->target.sparse, *request.sparse_vector);
  EXPECT_EQ(plan->root.search.using_vector, "text");
  EXPECT_EQ(plan->root.search.limit, 7u);
}

TEST(WireCodecSparseTest, BadSparseVectorsAreInvalidArgumentNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"points": [{"id": 1, "vector": {"t": {"indices": [1, 1], "values": [1, 2]}}}]})", "points[0].vector.t.indices"},
      {R"({"points": [{"id": 1, "vector": {"t": {"indices": [1], "values": [1, 2]}}}]})", "same length"},
      {R"({"points": [{"id": 1, "vector": {"t": {"indices": [-3], "values": [1]}}}]})", "indices[0]"},
      {R"({"points": [{"id": 1, "vector": {"t": {"indices": [4294967296], "values": [1]}}}]})", "4294967295"},
      {R"({"points": [{"id": 1, "vector": {"t": {"indices": [1], "values": [1e300]}}}]})", "values[0]"},
      {R"({"points": [{"id": 1, "vector": {"t": {"indices": [1, 2, 3], "values": [1, 2, 3]}}}]})", "sparse_vector_nnz"},
      {R"({"batch": {"ids": [1], "vectors": {"t": [{"indices": [1]}]}}})", "batch.vectors.t[0].values"},
  };
  for (const auto& [text, expected] : cases) {
    StatusOr<std::vector<PointInput>> parsed = ParseUpsertBody(ParseJson(text)->as_object(), 100, 2);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(expected), std::string_view::npos)
        << text << " -> " << parsed.status().message();
  }
}

}  // namespace
}  // namespace vj

#include "core/payload.h"
#include "core/payload_limits.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vj {
namespace {

namespace json = boost::json;

TEST(PayloadPathTest, ParsesSteps) {
  StatusOr<PayloadPath> p = ParsePayloadPath("a");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].key, "a");
  EXPECT_EQ((*p)[0].index, PathStep::Index::kNone);

  p = ParsePayloadPath("country.cities[].population");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].key, "country");
  EXPECT_EQ((*p)[1].key, "cities");
  EXPECT_EQ((*p)[1].index, PathStep::Index::kAll);
  EXPECT_EQ((*p)[2].key, "population");

  p = ParsePayloadPath("a[12].b_c-d[0]");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].index, PathStep::Index::kOne);
  EXPECT_EQ((*p)[0].position, 12u);
  EXPECT_EQ((*p)[1].key, "b_c-d");
  EXPECT_EQ((*p)[1].index, PathStep::Index::kOne);
  EXPECT_EQ((*p)[1].position, 0u);
}

TEST(PayloadPathTest, RejectsMalformedPaths) {
  for (const char* path : {"", ".", "a.", ".a", "a..b", "a[", "a[1", "a[x]", "a[-1]", "a[1x]", "a[]b",
                           "[0]", "a[0][1]", "a[99999999999999999999999]"}) {
    StatusOr<PayloadPath> p = ParsePayloadPath(path);
    ASSERT_FALSE(p.ok()) << '"' << path << '"';
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << path;
    if (*path != '\0') {
      EXPECT_NE(p.status().message().find(path), std::string_view::npos) << p.status();
    }
  }
}

TEST(PayloadPathTest, QuotedSegmentsNameKeysWithSpecialCharacters) {
  StatusOr<PayloadPath> p = ParsePayloadPath(R"(a."b.c[0]".d[]."")");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 4u);
  EXPECT_EQ((*p)[0].key, "a");
  EXPECT_EQ((*p)[1].key, "b.c[0]");
  EXPECT_EQ((*p)[1].index, PathStep::Index::kNone);
  EXPECT_EQ((*p)[2].key, "d");
  EXPECT_EQ((*p)[2].index, PathStep::Index::kAll);
  EXPECT_EQ((*p)[3].key, "");
  p = ParsePayloadPath(R"("x y"[3])");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)[0].key, "x y");
  EXPECT_EQ((*p)[0].position, 3u);
  for (const char* path : {R"(a."b)", R"(a."b\c")", R"(a"b")", R"(a."b"c)", "a]", "a.b]"}) {
    EXPECT_EQ(ParsePayloadPath(path).status().code(), absl::StatusCode::kInvalidArgument) << path;
  }
}

TEST(PayloadPathTest, FormatReadsBackAsTheSamePath) {
  for (const char* text : {"a", "a.b[].c[7]", R"(a."b.c"."[x]")", R"("".a)", "tag-1_x"}) {
    StatusOr<PayloadPath> p = ParsePayloadPath(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_EQ(FormatPayloadPath(*p), text);
    StatusOr<PayloadPath> again = ParsePayloadPath(FormatPayloadPath(*p));
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(again->size(), p->size());
    for (size_t i = 0; i < p->size(); ++i) EXPECT_EQ((*again)[i].key, (*p)[i].key);
  }
}

TEST(PayloadPathTest, LimitsLengthSegmentsAndIndexes) {
  std::string path = "a";
  for (size_t i = 1; i < kMaxPayloadPathSegments; ++i) path += ".a";
  EXPECT_TRUE(ParsePayloadPath(path).ok());
  path += ".a";
  Status too_many = ParsePayloadPath(path).status();
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.message().find("segments"), std::string_view::npos) << too_many;
  // The attacker's key: 1,030 and 50,000 segments.
  for (size_t segments : {size_t{1030}, size_t{50000}}) {
    std::string key = "k";
    for (size_t i = 1; i < segments; ++i) key += ".k";
    EXPECT_EQ(ParsePayloadPath(key).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ParsePayloadPath(std::string(kMaxPayloadPathBytes, 'x')).ok());
  Status too_long = ParsePayloadPath(std::string(kMaxPayloadPathBytes + 1, 'x')).status();
  EXPECT_NE(too_long.message().find("longer than"), std::string_view::npos) << too_long;
  EXPECT_TRUE(ParsePayloadPath("a[" + std::to_string(kMaxPayloadPathIndex) + "]").ok());
  EXPECT_FALSE(ParsePayloadPath("a[" + std::to_string(kMaxPayloadPathIndex + 1) + "]").ok());
}

class CollectValuesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<json::value> v = ParseJson(R"({
      "city": "Berlin",
      "n": 3,
      "tags": ["x", "y"],
      "matrix": [[1, 2], [3]],
      "country": {"name": "DE", "cities": [
        {"name": "Berlin", "population": 3.7, "sights": ["TV tower"]},
        {"name": "Munich", "population": 1.5},
        "not an object"
      ]},
      "null_field": null
    })");
    ASSERT_TRUE(v.ok()) << v.status();
    payload_ = v->as_object();
  }

  std::vector<std::string> Collect(std::string_view path, bool expand = true) {
    StatusOr<PayloadPath> p = ParsePayloadPath(path);
    EXPECT_TRUE(p.ok()) << p.status();
    std::vector<const json::value*> out;
    CollectValues(payload_, *p, expand, &out);
    std::vector<std::string> text;
    for (const json::value* v : out) text.push_back(json::serialize(*v));
    return text;
  }

  Payload payload_;
};

using Strings = std::vector<std::string>;

TEST_F(CollectValuesTest, WalksNestedObjects) {
  EXPECT_EQ(Collect("city"), Strings{R"("Berlin")"});
  EXPECT_EQ(Collect("country.name"), Strings{R"("DE")"});
  EXPECT_EQ(Collect("null_field"), Strings{"null"});
  EXPECT_TRUE(Collect("missing").empty());
  EXPECT_TRUE(Collect("country.missing").empty());
  EXPECT_TRUE(Collect("city.name").empty());  // a string has no fields
  EXPECT_TRUE(Collect("n[0]").empty());       // nor does a number have elements
}

TEST_F(CollectValuesTest, ArraySteps) {
  EXPECT_EQ(Collect("country.cities[].name"), (Strings{R"("Berlin")", R"("Munich")"}));
  EXPECT_EQ(Collect("country.cities[1].name"), Strings{R"("Munich")"});
  EXPECT_TRUE(Collect("country.cities[7].name").empty());
  EXPECT_EQ(Collect("tags[]"), (Strings{R"("x")", R"("y")"}));
  EXPECT_EQ(Collect("tags[1]"), Strings{R"("y")"});
  EXPECT_EQ(Collect("country.cities[].sights"), Strings{R"("TV tower")"});
  EXPECT_EQ(Collect("country.cities[].sights", false), Strings{R"(["TV tower"])"});
}

TEST_F(CollectValuesTest, ImplicitArrayExpansion) {
  // "a.b" through an array of objects reaches every object's "b"; non-objects are skipped.
  EXPECT_EQ(Collect("country.cities.population"), (Strings{"3.7E0", "1.5E0"}));
  EXPECT_EQ(Collect("tags"), (Strings{R"("x")", R"("y")"}));
  EXPECT_EQ(Collect("tags", /*expand=*/false), Strings{R"(["x","y"])"});
  EXPECT_EQ(Collect("matrix[]"), (Strings{"1", "2", "3"}));
  EXPECT_EQ(Collect("matrix[]", false), (Strings{"[1,2]", "[3]"}));
}

TEST_F(CollectValuesTest, ValuesAreBorrowedFromThePayload) {
  StatusOr<PayloadPath> p = ParsePayloadPath("country.name");
  ASSERT_TRUE(p.ok());
  std::vector<const json::value*> out;
  CollectValues(payload_, *p, true, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], &payload_.at("country").as_object().at("name"));
  CollectValues(payload_, *p, true, &out);  // appends
  EXPECT_EQ(out.size(), 2u);
}

TEST(ParseJsonTest, ParsesValues) {
  for (const char* text : {"{}", "[]", "1", "-2.5e3", "\"s\"", "null", "true", R"({"a":[1,{"b":null}]})",
                           "  {\"a\": 1}  \n", "\"\xc3\xa9\""}) {
    StatusOr<json::value> v = ParseJson(text);
    EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  }
  StatusOr<json::value> v = ParseJson(R"({"a":[1,{"b":null}]})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(json::serialize(*v), R"({"a":[1,{"b":null}]})");
}

TEST(ParseJsonTest, RejectsMalformedText) {
  for (const char* text : {"", "   ", "{", "}", "[1,]", "{\"a\"}", "{'a':1}", "nul", "01", "{} x", "{}{}",
                           "1 2", "[1] ]", "1e400", "[-1e999]", "{\"a\":{\"b\":[2e308]}}", "\"\xff\"", "\"unterminated", "{\"a\":1,}"}) {
    StatusOr<json::value> v = ParseJson(text);
    ASSERT_FALSE(v.ok()) << '"' << text << '"';
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  StatusOr<json::value> v = ParseJson("{} garbage");
  EXPECT_NE(v.status().message().find("byte"), std::string_view::npos) << v.status();
}

TEST(ParseJsonTest, LimitsNestingDepth) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(ParseJson(nested(64)).ok());
  StatusOr<json::value> v = ParseJson(nested(65));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("deeper"), std::string_view::npos) << v.status();
  EXPECT_FALSE(ParseJson(nested(5), /*max_depth=*/4).ok());
  EXPECT_TRUE(ParseJson(nested(4), /*max_depth=*/4).ok());
  // Far deeper than any stack could take recursively: rejected, not a crash.
  EXPECT_FALSE(ParseJson(nested(1'000'000)).ok());
  EXPECT_FALSE(ParseJson(std::string(100'000, '{')).ok());
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST(ParseJsonTest, DoublesAreReadExactly) {
  // Boost.JSON 1.81's own parser reads these one ulp off; ParseJson must give the nearest double.
  for (const char* text : {"51.791000000000004", "951.7909999999999", "0.1", "2.2250738585072014e-308",
                           "1e-400", "-0.0", "1.7976931348623157e308"}) {
    auto v = ParseJson(text);
    ASSERT_TRUE(v.ok()) << text << ": " << v.status();
    double expected = std::strtod(text, nullptr);
    ASSERT_TRUE(v->is_double()) << text;
    EXPECT_EQ(std::memcmp(&expected, &v->get_double(), sizeof(double)), 0) << text;
  }
  EXPECT_FALSE(ParseJson("[1, 2e308]").ok());
  EXPECT_FALSE(ParseJson("-1e309").ok());
}

// Short decimals take a fast path of their own (a mantissa and a power of ten); whatever the path, every
// number must come out as the double nearest to its text, as strtod reads it.
TEST(ParseJsonTest, EveryWayOfWritingANumberReadsAsStrtodDoes) {
  std::mt19937_64 rng(7);
  std::vector<std::string> texts = {"0.0", "-0.0", "1.0", "0.5", "1e22", "1e23", "1e-22", "1e-23", "9007199254740993.0",
                                    "9007199254740992.0", "0.30000000000000004", "123456789012345678901234567890.5",
                                    "4.9e-324", "1E+2", "1e+0", "-2.5E-3", "0.000000000000000000000000001"};
  char buf[64];
  for (int i = 0; i < 20000; ++i) {
    const double value = std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 80) - 60) *
                         ((rng() & 1) ? -1 : 1);
    for (const char* format : {"%.17g", "%.6f", "%.9e", "%.3g", "%.1f"}) {
      std::snprintf(buf, sizeof(buf), format, value);
      texts.push_back(buf);
    }
    const float component = static_cast<float>(value);  // how clients print float32 vectors
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), component);
    texts.emplace_back(buf, end);
  }
  for (const std::string& text : texts) {
    auto v = ParseJson("[" + text + "]");
    ASSERT_TRUE(v.ok()) << text << ": " << v.status();
    const json::value& number = v->as_array()[0];
    const double expected = std::strtod(text.c_str(), nullptr);
    const double got = number.is_double() ? number.get_double() : number.to_number<double>();
    ASSERT_EQ(std::memcmp(&expected, &got, sizeof(double)), 0) << text << " read as " << got;
  }
}

}  // namespace
}  // namespace vj

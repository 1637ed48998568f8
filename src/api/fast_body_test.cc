// The fast body decoder (fast_body.h) against the ordinary one: for a corpus of bodies (valid ones,
// malformed ones, hostile ones, and random mutations of them), /points/query and /points/search answer
// the same status and the same body (less the "time" field) with the fast path on and off, over the
// same collection; and where the fast path takes a body, its tree is ParseJson's with the vector's
// floats in the stand-in's place.
#include "api/fast_body.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "api/rest_api.h"
#include "collection/database.h"
#include "core/payload.h"
#include "core/test_dir.h"

namespace vj {
namespace {

namespace json = boost::json;

std::vector<std::string> Corpus() {
  std::vector<std::string> c = {
      // valid queries and searches
      R"({"query": [1, 2, 3, 4], "limit": 3})",
      R"({"query": [0.1, -2.5e-3, 3E2, 4.000000001], "limit": 2, "with_payload": true})",
      R"({"query": [1, 18446744073709551615, -9223372036854775808, 0.0]})",
      R"({"query": [-0.0, 1e-45, 1e-50, 3.4028234663852886e38]})",
      R"({"query": {"nearest": [4, 3, 2, 1]}, "limit": 2})",
      R"({"query": {"nearest": [4, 3, 2, 1], "mmr": {"diversity": 0.5}}, "limit": 2})",
      R"({"prefetch": {"query": [1, 1, 1, 1], "limit": 5}, "query": [1, 2, 3, 4], "limit": 2})",
      R"({"vector": [1, 2, 3, 4], "limit": 3})",
      R"({"vector": {"name": "", "vector": [1, 2, 3, 4]}, "limit": 3})",
      R"({"q\u0075ery": [1, 2, 3, 4]})",
      R"({"vector": [1, 2, 3, 4], "filter": {"must": [{"key": "n", "match": {"value": 2}}]}})",
      R"({"query": 3})",
      R"({"query": "550e8400-e29b-41d4-a716-446655440000"})",
      R"({"limit": 2})",
      R"({})",
      "  {\"query\": [1,2,3,4]}  ",
      // wrong dimension, empty, wrong types
      R"({"query": [1, 2, 3]})",
      R"({"vector": [1, 2, 3, 4, 5]})",
      R"({"query": []})",
      R"({"vector": []})",
      R"({"query": [1, "2", 3, 4]})",
      R"({"query": [1, null, 3, 4]})",
      R"({"query": [1, true, 3, 4]})",
      R"({"query": [[1, 2], [3, 4]]})",
      R"({"query": [1, [2], 3, 4]})",
      R"({"query": [1, {"a": 2}, 3, 4]})",
      R"({"vector": [1, 2, "x", 4]})",
      R"({"vector": {"name": "", "vector": [1, 2, false, 4]}})",
      R"({"vector": {"vector": [1, 2, 3, 4]}})",
      R"({"query": {"nearest": []}})",
      R"({"query": {"nearest": [1, 2, 3, 4], "recommend": {}}})",
      R"({"query": {"indices": [1], "nearest": [1, 2, 3, 4]}})",
      // out of the float / double range
      R"({"query": [1, 2, 3, 1e39]})",
      R"({"query": [1, -3.5e38, 3, 4]})",
      R"({"vector": [1e400, 2, 3, 4]})",
      R"({"query": [1, 2, 3, 4e-400]})",
      // duplicate keys
      R"({"query": [1, 2, 3, 4], "query": [4, 3, 2, 1]})",
      R"({"query": [1, 2, 3, 4], "query": 7})",
      R"({"query": 7, "query": [1, 2, 3, 4]})",
      R"({"query": {"nearest": [1, 2, 3, 4], "nearest": [0, 0, 0, 1]}})",
      R"({"vector": [1, 2, 3, 4], "vector": {"name": "", "vector": [1, 1, 1, 1]}})",
      R"({"limit": 1, "limit": 2, "query": [1, 2, 3, 4]})",
      // unknown fields, bad fields beside a good vector
      R"({"query": [1, 2, 3, 4], "limit": -1})",
      R"({"query": [1, 2, 3, 4], "bogus": 1})",
      R"({"vector": [1, 2, 3, 4], "limit": "x"})",
      R"({"query": [1, 2, 3, 4], "filter": {"must": 5}})",
      // malformed JSON
      R"({"query": [1, 2, 3, 4])",
      R"({"query": [1, 2, 3, 4],})",
      R"({"query": [1, 2,, 3, 4]})",
      R"({"query": [1, 2, 3, 4]} trailing)",
      R"({"query": [NaN, 2, 3, 4]})",
      R"({"query": [Infinity, 2, 3, 4]})",
      R"({"query": [01, 2, 3, 4]})",
      R"({"query": [1., 2, 3, 4]})",
      R"({"query": [1, 2, 3, 4] /* c */})",
      "{\"query\": [1, 2, 3, 4], \"x\": \"\xff\xfe\"}",
      "[1, 2, 3, 4]",
      "\"query\"",
      "42",
      "null",
      "",
      "   ",
  };
  std::string deep = R"({"query": [1, 2, 3, 4], "filter": )";
  for (int i = 0; i < 80; ++i) deep += "[";
  for (int i = 0; i < 80; ++i) deep += "]";
  c.push_back(deep + "}");
  std::string huge = R"({"query": [)";
  for (int i = 0; i < 200000; ++i) huge += (i ? ",0.5" : "0.5");
  c.push_back(huge + "]}");
  std::string long_key = R"({")" + std::string(5000, 'k') + R"(": 1, "query": [1, 2, 3, 4]})";
  c.push_back(long_key);
  return c;
}

class FastBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.data_dir = dir_.path();
    db_ = std::move(*Database::Open(options));
    ASSERT_TRUE(db_->CreateCollection("c", *ParseCollectionConfig(
                                               *ParseJson(R"({"vectors": {"size": 4, "distance": "Euclid"}})")))
                    .ok());
    std::vector<PointInput> points;
    for (uint64_t i = 1; i <= 20; ++i) {
      const float f = static_cast<float>(i);
      points.push_back({PointId::Num(i), {{"", {f, 1.0f, -f, 0.5f * f}}}, Payload{{"n", i % 4}}});
    }
    ASSERT_TRUE((*db_->Get("c"))->Upsert(std::move(points), true, RequestContext()).ok());
    RestApiOptions slow;
    slow.fast_body = false;
    fast_ = std::make_unique<RestApi>(*db_, RestApiOptions{});
    slow_ = std::make_unique<RestApi>(*db_, slow);
  }

  // The answer without its "time" field (which differs run to run). Textually: an answer may not be
  // JSON (a score of Infinity for vectors near the float range serializes as Infinity).
  static std::string Comparable(const Response& r) {
    return std::to_string(r.status) + " " + std::regex_replace(r.body, std::regex(R"("time":[^,}]*)"), "");
  }

  void ExpectSame(const std::string& path, const std::string& body) {
    const Response a = fast_->Handle(Request{"POST", path, {}, body, {}});
    const Response b = slow_->Handle(Request{"POST", path, {}, body, {}});
    const std::string fa = Comparable(a), fb = Comparable(b);
    EXPECT_EQ(fa, fb) << path << " " << body.substr(0, 200);
    EXPECT_LT(a.status, 500) << path << " " << body.substr(0, 200) << ": " << fa.substr(0, 300);
  }

  TestDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<RestApi> fast_, slow_;
};

TEST_F(FastBodyTest, SameAnswersAsTheOrdinaryPathForTheCorpus) {
  for (const std::string& body : Corpus()) {
    ExpectSame("/collections/c/points/query", body);
    ExpectSame("/collections/c/points/search", body);
  }
}

TEST_F(FastBodyTest, SameAnswersForMutatedBodies) {
  const std::vector<std::string> seeds = {
      R"({"query": [1, 2.5, -3e1, 4], "limit": 3})",  R"({"query": {"nearest": [4, 3, 2, 1]}, "limit": 2})",
      R"({"vector": [1, 2, 3, 4], "limit": 3})",       R"({"vector": {"name": "", "vector": [1, 2, 3, 4]}})",
  };
  const std::string alphabet = "[]{},:\"0123456789.eE-+ natrufl\\";
  std::mt19937 rng(16);
  for (int i = 0; i < 3000; ++i) {
    std::string body = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (body.size() + 1);
      switch (rng() % 3) {
        case 0: body.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (at < body.size()) body.erase(at, 1); break;
        default: if (at < body.size()) body[at] = alphabet[rng() % alphabet.size()]; break;
      }
    }
    ExpectSame("/collections/c/points/query", body);
    ExpectSame("/collections/c/points/search", body);
  }
}

// Where the fast path takes a body, the tree is ParseJson's but for the stand-in, and the floats are the
// ordinary decoder's (the double ParseJson reads, cast to float).
TEST(FastBodyDecode, TreeAndFloatsMatchParseJson) {
  const std::string text = R"({"limit": 5, "query": [0.1, 1e-3, 123456789, -7, 0.30000000000000004], "x": {"y": [1, 2]}})";
  std::optional<FastBody> fast = TryDecodeFastBody(text, 64, BodyVectorSlot::kQuery);
  ASSERT_TRUE(fast.has_value());
  ASSERT_TRUE(fast->vector.has_value());
  json::value ordinary = *ParseJson(text);
  const json::array& numbers = ordinary.at("query").as_array();
  ASSERT_EQ(fast->vector->size(), numbers.size());
  for (size_t i = 0; i < numbers.size(); ++i) {
    EXPECT_EQ((*fast->vector)[i], static_cast<float>(numbers[i].to_number<double>())) << i;
  }
  ordinary.as_object()["query"] = json::array{0.0};
  EXPECT_EQ(json::value(fast->json), ordinary);
  // A body without the slot: the same tree, nothing extracted.
  const std::string other = R"({"vector": [1, 2], "query": {"recommend": {"positive": [[1, 2]]}}})";
  fast = TryDecodeFastBody(other, 64, BodyVectorSlot::kQuery);
  ASSERT_TRUE(fast.has_value());
  EXPECT_FALSE(fast->vector.has_value());
  EXPECT_EQ(json::value(fast->json), *ParseJson(other));
}

TEST(FastBodyDecode, HostileBodiesGoToTheOrdinaryPath) {
  for (const char* text : {R"({"query": [1, "a"]})", R"({"query": []})", R"({"query": [1e39]})",
                           R"({"query": [[1]]})", R"({"query": [1], "query": [2]})", R"({"query": [1])",
                           "[1]", "", R"({"query": [1e999]})"}) {
    EXPECT_FALSE(TryDecodeFastBody(text, 64, BodyVectorSlot::kQuery).has_value()) << text;
  }
  EXPECT_FALSE(TryDecodeFastBody(R"({"a": [[[1]]]})", 2, BodyVectorSlot::kQuery).has_value());
}

}  // namespace
}  // namespace vj

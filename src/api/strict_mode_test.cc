#include "api/strict_mode.h"

#include <gtest/gtest.h>

#include "api/filter_codec.h"
#include "api/rest_api.h"
#include "collection/database.h"
#include "core/json_fields.h"
#include "core/retry_after.h"
#include "core/test_dir.h"

namespace vj {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

Filter FilterOf(const std::string& json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok());
  auto f = ParseFilter(*v);
  EXPECT_TRUE(f.ok()) << StatusMessage(f.status());
  return *f;
}

StrictModeConfig Enabled() {
  StrictModeConfig c;
  c.enabled = true;
  return c;
}

TEST(StrictModeTest, OffWhenNotEnabled) {
  StrictModeConfig c;
  c.max_query_limit = 1;
  c.enabled = false;
  StrictMode strict("c", c, {}, nullptr);
  EXPECT_FALSE(strict.on());
  QueryRequest q;
  q.limit = 100;
  EXPECT_TRUE(strict.AdmitQuery(q).ok());
}

TEST(StrictModeTest, QueryShapeLimitsNameTheField) {
  StrictModeConfig c = Enabled();
  c.max_query_limit = 10;
  c.search_max_hnsw_ef = 64;
  c.search_allow_exact = false;
  StrictMode strict("c", c, {}, nullptr);
  QueryRequest q;
  q.limit = 10;
  EXPECT_TRUE(strict.AdmitQuery(q).ok());
  q.limit = 11;
  Status s = strict.AdmitQuery(q);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(StatusMessage(s).find("limit 11 is over strict_mode_config.max_query_limit (10)"), std::string::npos)
      << StatusMessage(s);
  q.limit = 5;
  q.hnsw_ef = 65;
  EXPECT_NE(StatusMessage(strict.AdmitQuery(q)).find("search_max_hnsw_ef"), std::string::npos);
  q.hnsw_ef = 64;
  q.exact = true;
  EXPECT_NE(StatusMessage(strict.AdmitQuery(q)).find("search_allow_exact"), std::string::npos);
  EXPECT_NE(StatusMessage(strict.AdmitScroll(11, std::nullopt)).find("max_query_limit"), std::string::npos);
}

TEST(StrictModeTest, BatchAndUpsertSizes) {
  StrictModeConfig c = Enabled();
  c.search_max_batchsize = 3;
  c.upsert_max_batchsize = 100;
  StrictMode strict("c", c, {}, nullptr);
  EXPECT_TRUE(strict.CheckBatch(3).ok());
  EXPECT_NE(StatusMessage(strict.CheckBatch(4)).find("search_max_batchsize (3)"), std::string::npos);
  EXPECT_TRUE(strict.AdmitUpsert(100).ok());
  EXPECT_NE(StatusMessage(strict.AdmitUpsert(101)).find("upsert_max_batchsize (100)"), std::string::npos);
}

TEST(StrictModeTest, UnindexedFilterKeysAreRefused) {
  StrictModeConfig c = Enabled();
  c.unindexed_filtering_retrieve = false;
  std::map<std::string, PayloadSchemaType> indexed{{"city", PayloadSchemaType::kKeyword}};
  StrictMode strict("c", c, indexed, nullptr);
  EXPECT_TRUE(strict.CheckReadFilter(FilterOf(R"({"must": [{"key": "city", "match": {"value": "x"}}]})")).ok());
  EXPECT_TRUE(strict.CheckReadFilter(FilterOf(R"({"must": [{"has_id": [1, 2]}]})")).ok());
  Status s = strict.CheckReadFilter(
      FilterOf(R"({"must": [{"key": "city", "match": {"value": "x"}},
                            {"should": [{"is_null": {"key": "price"}}]}]})"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(StatusMessage(s).find("Index required but not found for \"price\""), std::string::npos) << StatusMessage(s);
  EXPECT_NE(StatusMessage(s).find("unindexed_filtering_retrieve"), std::string::npos);
  // Writes follow unindexed_filtering_update, unset here: allowed.
  EXPECT_TRUE(strict.CheckWriteFilter(FilterOf(R"({"must": [{"key": "price", "range": {"gt": 1}}]})")).ok());
}

TEST(StrictModeTest, FilterConditionCountAndSize) {
  StrictModeConfig c = Enabled();
  c.filter_max_conditions = 2;
  c.condition_max_size = 3;
  StrictMode strict("c", c, {}, nullptr);
  EXPECT_TRUE(strict.CheckReadFilter(FilterOf(R"({"must": [{"key": "a", "match": {"any": [1, 2, 3]}}]})")).ok());
  Status s = strict.CheckReadFilter(FilterOf(
      R"({"must": [{"key": "a", "match": {"value": 1}}, {"must": [{"key": "b", "match": {"value": 1}},
          {"key": "c", "match": {"value": 1}}]}]})"));
  EXPECT_NE(StatusMessage(s).find("filter_max_conditions (2)"), std::string::npos) << StatusMessage(s);
  s = strict.CheckWriteFilter(FilterOf(R"({"must": [{"key": "a", "match": {"any": [1, 2, 3, 4]}}]})"));
  EXPECT_NE(StatusMessage(s).find("condition_max_size (3)"), std::string::npos) << StatusMessage(s);
  s = strict.CheckReadFilter(FilterOf(R"({"must": [{"has_id": [1, 2, 3, 4]}]})"));
  EXPECT_NE(StatusMessage(s).find("condition_max_size"), std::string::npos);
}

TEST(StrictModeTest, RateLimitsArePerMinuteWithRetryAfter) {
  TimePoint now = TimePoint() + std::chrono::seconds(100);
  RateLimiter rates(RateLimitSettings{}, [&] { return now; });
  StrictModeConfig c = Enabled();
  c.write_rate_limit = 6;  // one every 10 s, burst 6
  c.read_rate_limit = 60;
  StrictMode strict("c", c, {}, &rates);
  EXPECT_TRUE(strict.AdmitUpsert(4).ok());
  EXPECT_TRUE(strict.AdmitWrite(PointSelector{{PointId::Num(1), PointId::Num(2)}, std::nullopt}).ok());
  Status s = strict.AdmitWrite(PointSelector{{}, FilterOf(R"({"must": [{"has_id": [1]}]})")});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(RetryAfterSeconds(s), 10);
  EXPECT_NE(StatusMessage(s).find("write_rate_limit"), std::string::npos) << StatusMessage(s);
  // More than a minute's worth at once can never pass: 400, not 429.
  s = strict.AdmitUpsert(7);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(StatusMessage(s).find("split"), std::string::npos);
  // Reads have their own bucket.
  EXPECT_TRUE(strict.AdmitRetrieve(60).ok());
  EXPECT_EQ(strict.AdmitCount(std::nullopt).code(), absl::StatusCode::kResourceExhausted);
  now += std::chrono::seconds(10);
  EXPECT_TRUE(strict.AdmitUpsert(1).ok());
  // Another collection has its own buckets.
  EXPECT_TRUE(StrictMode("d", c, {}, &rates).AdmitUpsert(6).ok());
}

TEST(StrictModeTest, ABatchIsAdmittedWholeOrNotAtAll) {
  TimePoint now = TimePoint() + std::chrono::seconds(100);
  RateLimiter rates(RateLimitSettings{}, [&] { return now; });
  StrictModeConfig c = Enabled();
  c.max_query_limit = 10;
  c.read_rate_limit = 5;
  StrictMode strict("c", c, {}, &rates);
  std::vector<QueryRequest> batch(3);
  for (QueryRequest& q : batch) q.limit = 10;
  batch[2].limit = 11;
  // The third query's shape refuses the batch, naming it, and takes no token.
  Status s = strict.AdmitQueries(batch, "searches");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusMessage(s).rfind("searches[2]: ", 0), 0u) << StatusMessage(s);
  EXPECT_NE(StatusMessage(s).find("limit 11 is over strict_mode_config.max_query_limit"), std::string::npos);
  batch[2].limit = 10;
  EXPECT_TRUE(strict.AdmitQueries(batch, "searches").ok());  // 3 of the 5 tokens at once
  s = strict.AdmitQueries(batch, "searches");               // 3 more than the 2 left: refused whole
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(strict.AdmitCount(std::nullopt).ok());        // the 2 left were not taken
  EXPECT_TRUE(strict.AdmitCount(std::nullopt).ok());
  std::vector<QueryPlan> plans(2);
  plans[1].root.prefetch.emplace_back();
  plans[1].root.prefetch[0].search.limit = 11;
  s = strict.AdmitQueryPlans(plans, "query_points");
  EXPECT_EQ(StatusMessage(s).rfind("query_points[1]: ", 0), 0u) << StatusMessage(s);
  EXPECT_NE(StatusMessage(s).find("limit 11"), std::string::npos);
}

TEST(StrictModeTest, MaxPayloadIndexCount) {
  StrictModeConfig c = Enabled();
  c.max_payload_index_count = 1;
  StrictMode strict("c", c, {{"a", PayloadSchemaType::kKeyword}}, nullptr);
  EXPECT_TRUE(strict.CheckNewPayloadIndex("a").ok());  // re-creating an existing one
  EXPECT_NE(StatusMessage(strict.CheckNewPayloadIndex("b")).find("max_payload_index_count (1)"), std::string::npos);
}

TEST(StrictModeConfigTest, ParseValidatesAndRoundTrips) {
  auto v = ParseJson(R"({"enabled": true, "max_query_limit": 10, "read_rate_limit": null,
                         "search_max_oversampling": 1.5, "unindexed_filtering_retrieve": false})");
  auto c = ParseStrictModeConfig(*v, "strict_mode_config");
  ASSERT_TRUE(c.ok()) << StatusMessage(c.status());
  EXPECT_EQ(c->max_query_limit, 10u);
  EXPECT_FALSE(c->read_rate_limit.has_value());
  auto back = ParseStrictModeConfig(StrictModeConfigToJson(*c), "x");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *c);
  for (const char* bad : {R"({"max_query_limit": 0})", R"({"write_rate_limit": -1})", R"({"enabled": 1})",
                          R"({"max_timout": 5})", R"({"multivector_config": {}})", R"([])"}) {
    auto r = ParseStrictModeConfig(*ParseJson(bad), "strict_mode_config");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(StatusMessage(r.status()).find("strict_mode_config"), std::string::npos) << StatusMessage(r.status());
  }
  StrictModeConfig update;
  update.max_query_limit = 5;
  update.enabled = false;
  StrictModeConfig merged = MergeStrictModeConfig(*c, update);
  EXPECT_EQ(merged.max_query_limit, 5u);
  EXPECT_EQ(merged.enabled, false);
  EXPECT_EQ(merged.unindexed_filtering_retrieve, false);
}

// Through the REST API over a real Database: create, GET, PATCH, reopen, and a 429 with Retry-After.
class StrictModeApiTest : public ::testing::Test {
 protected:
  void Open() {
    api_.reset();
    db_.reset();
    DatabaseOptions options;
    options.data_dir = dir_.path();
    db_ = std::move(*Database::Open(options));
    api_ = std::make_unique<RestApi>(*db_, RestApiOptions{});
  }
  Response Send(const std::string& method, const std::string& path, const std::string& body = "") {
    return api_->Handle(Request{method, path, {}, body, {}});
  }
  TestDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<RestApi> api_;
};

TEST_F(StrictModeApiTest, StoredReturnedPatchedAndEnforced) {
  Open();
  ASSERT_EQ(Send("PUT", "/collections/c",
                 R"({"vectors": {"size": 2, "distance": "Dot"},
                     "strict_mode_config": {"enabled": true, "max_query_limit": 5, "write_rate_limit": 2}})")
                .status,
            200);
  Response got = Send("GET", "/collections/c");
  EXPECT_NE(got.body.find(R"("strict_mode_config":{"enabled":true,"max_query_limit":5,"write_rate_limit":2})"),
            std::string::npos)
      << got.body;
  Response q = Send("POST", "/collections/c/points/query", R"({"query": [1, 0], "limit": 6})");
  EXPECT_EQ(q.status, 400);
  EXPECT_NE(q.body.find("max_query_limit"), std::string::npos) << q.body;
  const std::string one = R"({"points": [{"id": 1, "vector": [1, 0]}]})";
  EXPECT_EQ(Send("PUT", "/collections/c/points", one).status, 200);
  EXPECT_EQ(Send("PUT", "/collections/c/points", one).status, 200);
  Response limited = Send("PUT", "/collections/c/points", one);
  EXPECT_EQ(limited.status, 429) << limited.body;
  ASSERT_EQ(limited.headers.size(), 1u);
  EXPECT_EQ(limited.headers[0].first, "Retry-After");
  EXPECT_EQ(limited.headers[0].second, "30");  // 2 a minute: a token every 30 s

  // PATCH merges; other Qdrant fields are refused by name; the change survives a restart.
  EXPECT_EQ(Send("PATCH", "/collections/c", R"({"strict_mode_config": {"max_query_limit": 50}})").status, 200);
  Response bad = Send("PATCH", "/collections/c", R"({"optimizers_config": {"indexing_threshold": 1}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("optimizers_config"), std::string::npos);
  EXPECT_EQ(Send("PATCH", "/collections/c", R"({"strict_mode_config": {"max_query_limit": 0}})").status, 400);
  EXPECT_EQ(Send("PATCH", "/collections/nope", R"({"strict_mode_config": {}})").status, 404);
  Open();
  got = Send("GET", "/collections/c");
  EXPECT_NE(got.body.find(R"("max_query_limit":50,"write_rate_limit":2)"), std::string::npos) << got.body;
  EXPECT_EQ(Send("POST", "/collections/c/points/query", R"({"query": [1, 0], "limit": 6})").status, 200);
  EXPECT_EQ(Send("PATCH", "/collections/c", R"({"strict_mode_config": {"enabled": false}})").status, 200);
  EXPECT_EQ(Send("POST", "/collections/c/points/query", R"({"query": [1, 0], "limit": 60})").status, 200);
}

}  // namespace
}  // namespace vj

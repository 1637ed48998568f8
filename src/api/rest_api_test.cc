#include "api/rest_api.h"

#include "api/error_mapping.h"

#include <gtest/gtest.h>

#include "collection/database.h"
#include "core/test_dir.h"
#include "core/payload.h"

namespace vj {
namespace {

class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.data_dir = dir_.path();
    db_ = std::move(*Database::Open(options));
    api_ = std::make_unique<RestApi>(*db_, RestApiOptions{});
  }

  // Sends a request; returns the status and the parsed body.
  std::pair<int, boost::json::value> Send(const std::string& method, const std::string& path,
                                          const std::string& body = "",
                                          std::map<std::string, std::string> query = {}) {
    Response r = api_->Handle(Request{method, path, std::move(query), body, {}});
    auto parsed = ParseJson(r.body);
    EXPECT_TRUE(parsed.ok()) << r.body;
    return {r.status, parsed.ok() ? *parsed : boost::json::value()};
  }

  std::string Error(const boost::json::value& body) {
    return std::string(body.at("status").at("error").as_string());
  }

  TestDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<RestApi> api_;
};

TEST_F(RestApiTest, CollectionLifecycleAndEnvelope) {
  auto [status, body] = Send("PUT", "/collections/c", R"({"vectors": {"size": 2, "distance": "Euclid"}})");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.at("result").as_bool(), true);
  EXPECT_EQ(body.at("status").as_string(), "ok");
  EXPECT_TRUE(body.at("time").is_double());
  std::tie(status, body) = Send("GET", "/collections/c");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.at("result").at("points_count").to_number<uint64_t>(), 0u);
  EXPECT_EQ(body.at("result").at("config").at("params").at("vectors").at("size").to_number<uint64_t>(), 2u);
  std::tie(status, body) = Send("GET", "/collections/c/exists");
  EXPECT_TRUE(body.at("result").at("exists").as_bool());
  std::tie(status, body) = Send("PUT", "/collections/c", R"({"vectors": {"size": 2, "distance": "Euclid"}})");
  EXPECT_EQ(status, 409);
  std::tie(status, body) = Send("DELETE", "/collections/c");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.at("result").as_bool(), true);
  std::tie(status, body) = Send("GET", "/collections/c");
  EXPECT_EQ(status, 404);
  EXPECT_NE(Error(body).find("`c`"), std::string::npos);
  // As Qdrant: deleting what does not exist is no error (recreateCollection deletes first).
  std::tie(status, body) = Send("DELETE", "/collections/c");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.at("result").as_bool(), false);
}

TEST_F(RestApiTest, UpsertSearchScrollCount) {
  Send("PUT", "/collections/c", R"({"vectors": {"size": 2, "distance": "Euclid"}})");
  auto [status, body] = Send("PUT", "/collections/c/points",
                             R"({"points": [{"id": 1, "vector": [0, 0], "payload": {"k": "a"}},
                                            {"id": 2, "vector": [1, 1], "payload": {"k": "b"}},
                                            {"id": "550e8400-e29b-41d4-a716-446655440000", "vector": [5, 5]}]})",
                             {{"wait", "true"}});
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(body.at("result").at("status").as_string(), "completed");
  std::tie(status, body) = Send("POST", "/collections/c/points/query",
                                R"({"query": [0.9, 0.9], "limit": 2, "with_payload": true})");
  ASSERT_EQ(status, 200) << body;
  const auto& points = body.at("result").at("points").as_array();
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].at("id").to_number<uint64_t>(), 2u);
  EXPECT_NEAR(points[0].at("score").as_double(), 0.1414, 1e-3);  // Euclid score is the distance
  EXPECT_EQ(points[0].at("payload").at("k").as_string(), "b");
  std::tie(status, body) = Send("POST", "/collections/c/points/search",
                                R"({"vector": [0, 0], "limit": 1, "filter": {"must": [{"key": "k", "match": {"value": "b"}}]}})");
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(body.at("result").as_array()[0].at("id").to_number<uint64_t>(), 2u);
  std::tie(status, body) = Send("POST", "/collections/c/points/scroll", R"({"limit": 2})");
  EXPECT_EQ(body.at("result").at("points").as_array().size(), 2u);
  EXPECT_EQ(body.at("result").at("next_page_offset").as_string(), "550e8400-e29b-41d4-a716-446655440000");
  std::tie(status, body) = Send("POST", "/collections/c/points/count",
                                R"({"filter": {"must_not": [{"is_empty": {"key": "k"}}]}})");
  EXPECT_EQ(body.at("result").at("count").to_number<uint64_t>(), 2u);
}

TEST(RestApiRoutesTest, ReadsNeverBlockWritesMay) {
  EXPECT_TRUE(RestApi::NeverBlocks(Port::kPublic, Request{"POST", "/collections/c/points/query", {}, "", {}}));
  EXPECT_TRUE(RestApi::NeverBlocks(Port::kPublic, Request{"POST", "/collections/c/points", {}, "", {}}));  // retrieve
  EXPECT_TRUE(RestApi::NeverBlocks(Port::kPublic, Request{"GET", "/collections", {}, "", {}}));
  EXPECT_FALSE(RestApi::NeverBlocks(Port::kPublic, Request{"PUT", "/collections/c/points", {}, "", {}}));  // upsert
  EXPECT_FALSE(RestApi::NeverBlocks(Port::kPublic, Request{"POST", "/collections/c/points/delete", {}, "", {}}));
  EXPECT_FALSE(RestApi::NeverBlocks(Port::kPublic, Request{"POST", "/no/such/route", {}, "", {}}));
}

TEST_F(RestApiTest, BadInputIsA4xxNamingTheProblemAndChangesNothing) {
  Send("PUT", "/collections/c", R"({"vectors": {"size": 2, "distance": "Dot"}})");
  Send("PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, 2]}]})", {{"wait", "true"}});
  struct Case {
    std::string method, path, body;
    int status;
    std::string message;
  } cases[] = {
      {"PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, 2, 3]}]})", 400, "dimension"},
      {"PUT", "/collections/c/points", R"({"points": [{"id": -1, "vector": [1, 2]}]})", 400, "points[0].id"},
      {"PUT", "/collections/c/points", R"({"points": [{"id": 1.5, "vector": [1, 2]}]})", 400, "points[0].id"},
      {"PUT", "/collections/c/points", R"({"points": [{"id": "nope", "vector": [1, 2]}]})", 400, "UUID"},
      {"PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, 1e999]}]})", 400, "out of range"},
      {"PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, NaN]}]})", 400, "malformed JSON"},
      {"PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, 2], "colour": 1}]})", 400, "colour"},
      {"PUT", "/collections/c/points", R"({"points": )", 400, "malformed JSON"},
      {"PUT", "/collections/nope/points", R"({"points": []})", 404, "nope"},
      {"POST", "/collections/c/points/query", R"({"query": [1]})", 400, "dimension"},
      {"POST", "/collections/c/points/query", R"({"query": [1, 2], "filter": {"must": [{"key": "a", "range": {"gt": "x"}}]}})", 400, "filter.must[0].range.gt"},
      {"POST", "/collections/c/points/query", std::string(100, '[') + std::string(100, ']'), 400, "nesting"},
      {"GET", "/no/such/path", "", 404, "no such endpoint"},
  };
  for (const Case& c : cases) {
    auto [status, body] = Send(c.method, c.path, c.body);
    EXPECT_EQ(status, c.status) << c.body;
    EXPECT_NE(Error(body).find(c.message), std::string::npos) << c.body << " -> " << Error(body);
  }
  auto [status, body] = Send("POST", "/collections/c/points", R"({"ids": [1], "with_vector": true})");
  ASSERT_EQ(status, 200);
  ASSERT_EQ(body.at("result").as_array().size(), 1u);
  // Dot vectors are stored as given.
  EXPECT_EQ(body.at("result").as_array()[0].at("vector").as_array()[1].as_double(), 2.0);
  std::tie(status, body) = Send("POST", "/collections/c/points/count", "{}");
  EXPECT_EQ(body.at("result").at("count").to_number<uint64_t>(), 1u);
}

// Qdrant's ?consistency= (VJVector's earlier name: read_consistency): a standalone node has one copy,
// which every level reads; anything else is a 400 naming the parameter.
TEST_F(RestApiTest, ReadConsistencyLevelsReadTheOneCopyAndGarbageIsA400) {
  Send("PUT", "/collections/c", R"({"vectors": {"size": 2, "distance": "Dot"}})");
  Send("PUT", "/collections/c/points", R"({"points": [{"id": 1, "vector": [1, 2]}]})", {{"wait", "true"}});
  for (const char* param : {"consistency", "read_consistency"}) {
    for (const char* level : {"1", "2", "16", "majority", "quorum", "all", "primary"}) {
      auto [status, body] = Send("POST", "/collections/c/points", R"({"ids": [1]})", {{param, level}});
      ASSERT_EQ(status, 200) << param << "=" << level << ": " << body;
      EXPECT_EQ(body.at("result").as_array().size(), 1u);
      std::tie(status, body) = Send("POST", "/collections/c/points/count", "{}", {{param, level}});
      EXPECT_EQ(body.at("result").at("count").to_number<uint64_t>(), 1u);
      std::tie(status, body) = Send("GET", "/collections/c/points/1", "", {{param, level}});
      EXPECT_EQ(status, 200);
    }
    for (const char* level : {"0", "-1", "", "1.5", "ALL", "most", "+2", "99999999999999999999999"}) {
      auto [status, body] = Send("POST", "/collections/c/points/query", R"({"query": [1, 2]})", {{param, level}});
      EXPECT_EQ(status, 400) << param << "=" << level;
      EXPECT_NE(Error(body).find(std::string("query parameter ") + param + ":"), std::string::npos) << Error(body);
    }
  }
  auto [status, body] = Send("POST", "/collections/c/points/scroll", "{}",
                             {{"consistency", "all"}, {"read_consistency", "all"}});
  EXPECT_EQ(status, 400);
  EXPECT_NE(Error(body).find("give one"), std::string::npos);
  // Writes do not read it.
  std::tie(status, body) = Send("PUT", "/collections/c/points", R"({"points": [{"id": 2, "vector": [1, 2]}]})",
                                {{"consistency", "garbage"}});
  EXPECT_EQ(status, 200);
}

// The internal shard reads a peer asks with ?position=: the replica's position before the read in a
// header, the read refused when the replica's history changed meanwhile or its position is unknown.
TEST(RestApiPositionTest, InternalReadsCarryTheReplicaPosition) {
  TestDir dir;
  DatabaseOptions db_options;
  db_options.data_dir = dir.path();
  std::unique_ptr<Database> db = std::move(*Database::Open(db_options));
  std::vector<StatusOr<ReplicaPosition>> positions;  // answered in turn
  std::vector<bool> asked_primary;
  RestApiOptions options;
  options.shard_collection = [&](const std::string& name, uint32_t, bool, int64_t) { return db->Get(name); };
  options.replica_position = [&](const std::string&, uint32_t, bool primary) -> StatusOr<ReplicaPosition> {
    asked_primary.push_back(primary);
    StatusOr<ReplicaPosition> next = positions.front();
    positions.erase(positions.begin());
    return next;
  };
  RestApi api(*db, options);
  ASSERT_EQ(api.Handle(Request{"PUT", "/collections/c", {}, R"({"vectors": {"size": 2, "distance": "Dot"}})", {}})
                .status,
            200);
  auto send = [&](std::map<std::string, std::string> query) {
    return api.Handle(Request{"POST", "/internal/shards/c/0/points/count", std::move(query), "{}", {}}, Port::kPeer);
  };
  auto header = [](const Response& r) {
    for (const auto& [k, v] : r.headers) {
      if (k == kReplicaPositionHeader) return v;
    }
    return std::string();
  };
  positions = {ReplicaPosition{3, 10}, ReplicaPosition{3, 12}};
  Response r = send({{"position", "replica"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r), "3:10");  // taken before the read
  EXPECT_EQ(asked_primary, (std::vector<bool>{false, false}));
  asked_primary.clear();
  positions = {ReplicaPosition{3, 12}, ReplicaPosition{3, 12}};
  r = send({{"position", "primary"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(asked_primary, (std::vector<bool>{true, true}));
  // A new term's entries, or a snapshot load, during the read: the answer is dropped.
  positions = {ReplicaPosition{3, 12}, ReplicaPosition{4, 13}};
  r = send({{"position", "replica"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("changed history"), std::string::npos);
  EXPECT_EQ(header(r), "");
  // Not the primary (before or after the read): 503 with the reason.
  positions = {absl::UnavailableError("node n1 is not the acting primary")};
  r = send({{"position", "primary"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("not the acting primary"), std::string::npos);
  positions = {ReplicaPosition{3, 12}, absl::UnavailableError("node n1 is not the acting primary")};
  r = send({{"position", "primary"}});
  EXPECT_EQ(r.status, 503);
  // Without ?position nothing is measured; a bad value is a 400.
  r = send({});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r), "");
  r = send({{"position", "newest"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("query parameter position"), std::string::npos);
  EXPECT_TRUE(positions.empty());
}

// Found by fuzz/fuzz_query: a path segment is any bytes once percent-decoded, and the error message that
// quoted it made the body invalid JSON. Invalid UTF-8 is replaced by U+FFFD; valid UTF-8 is kept.
TEST_F(RestApiTest, ErrorBodiesAreValidJsonWhateverTheRequestQuotes) {
  Send("PUT", "/collections/c", R"({"vectors": {"size": 2, "distance": "Euclid"}})");
  for (const std::string id : {"12\xff\xfe", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf"}) {
    auto [status, body] = Send("GET", "/collections/c/points/" + id);
    EXPECT_EQ(status, 400);
    EXPECT_NE(std::string(body.at("status").at("error").as_string()).find("\xEF\xBF\xBD"), std::string::npos);
  }
  auto [status, body] = Send("GET", "/collections/caf\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(status, 404);
  EXPECT_NE(std::string(body.at("status").at("error").as_string()).find("caf\xc3\xa9\xe2\x82\xac"), std::string::npos);
}

TEST_F(RestApiTest, AliasesAndTheRootVersions) {
  auto [status, body] = Send("GET", "/");
  EXPECT_EQ(body.at("version").as_string(), kQdrantApiVersion);
  EXPECT_EQ(body.at("vjvector_version").as_string(), RestApiOptions{}.version);
  ASSERT_EQ(Send("PUT", "/collections/v1", R"({"vectors": {"size": 2, "distance": "Dot"}})").first, 200);
  ASSERT_EQ(Send("PUT", "/collections/v1/points", R"({"points": [{"id": 1, "vector": [1, 0]}]})",
                 {{"wait", "true"}}).first, 200);
  std::tie(status, body) = Send("POST", "/collections/aliases",
                                R"({"actions": [{"create_alias": {"collection_name": "v1", "alias_name": "prod"}}]})");
  ASSERT_EQ(status, 200) << body;
  std::tie(status, body) = Send("POST", "/collections/prod/points/count", R"({"exact": true})");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.at("result").at("count").to_number<uint64_t>(), 1u);
  std::tie(status, body) = Send("GET", "/collections/prod/aliases");
  EXPECT_EQ(boost::json::serialize(body.at("result")),
            R"({"aliases":[{"alias_name":"prod","collection_name":"v1"}]})");
  std::tie(status, body) = Send("POST", "/collections/aliases", R"({"actions": [{"delete_alias": {"alias_name": "x"}}]})");
  EXPECT_EQ(status, 404);
  EXPECT_NE(Error(body).find("actions[0] (delete_alias)"), std::string::npos) << body;
  std::tie(status, body) = Send("DELETE", "/collections/prod");  // an alias's name deletes nothing
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.at("result").as_bool(), false);
  std::tie(status, body) = Send("GET", "/aliases");
  EXPECT_EQ(body.at("result").at("aliases").as_array().size(), 1u);
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST(ErrorResponseTest, UnavailableTellsClientsWhenToRetry) {
  Response full = ErrorResponse(absl::UnavailableError("write queue full"), 0.0);
  EXPECT_EQ(full.status, 503);
  ASSERT_EQ(full.headers.size(), 1u);
  EXPECT_EQ(full.headers[0].first, "Retry-After");
  EXPECT_EQ(full.headers[0].second, "1");
  Response bad = ErrorResponse(absl::InvalidArgumentError("bad"), 0.0);
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(bad.headers.empty());
  EXPECT_EQ(HttpStatusFor(absl::DeadlineExceededError("late")), 504);
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

// Without a SnapshotStore (a cluster node) every snapshot route answers 501 naming what is missing.
TEST_F(RestApiTest, SnapshotRoutesAnswer501WithoutASnapshotStore) {
  ASSERT_EQ(Send("PUT", "/collections/c", R"({"vectors": {"size": 2, "distance": "Dot"}})").first, 200);
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/collections/c/snapshots"},
           {"GET", "/collections/c/snapshots"},
           {"GET", "/collections/c/snapshots/c-1.snapshot"},
           {"DELETE", "/collections/c/snapshots/c-1.snapshot"},
           {"POST", "/snapshots"},
           {"GET", "/snapshots"}}) {
    auto [status, body] = Send(method, path);
    EXPECT_EQ(status, 501) << method << " " << path;
    EXPECT_NE(Error(body).find("cluster mode"), std::string::npos) << Error(body);
  }
  auto [status, body] = Send("PUT", "/collections/c/snapshots/recover", R"({"location": "file:///x"})");
  EXPECT_EQ(status, 501);
}

}  // namespace
}  // namespace vj

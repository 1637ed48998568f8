#include "cluster/peer_client.h"

#include <cstdlib>
#include <mutex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/test_http_server.h"

namespace vj {
namespace {

using ::testing::HasSubstr;

// What the peer saw: the request target of each call.
struct Seen {
  std::mutex mu;
  std::vector<std::string> targets;
};

TEST(PeerClientTest, AQuerysDeadlineTravelsAsWhatIsLeftOfIt) {
  Seen seen;
  TestServer peer([&](const std::string& target, const std::string&) {
    std::lock_guard<std::mutex> lock(seen.mu);
    seen.targets.push_back(target);
    TestServer::Reply r;
    r.body = R"({"result": {"points": []}, "status": "ok", "time": 0})";
    return r;
  });
  HttpClient http;
  PeerClient client(http, {});
  const PeerShard shard{"http://127.0.0.1:" + std::to_string(peer.port()), "c", 1};

  QueryRequest query;
  query.vector = {1.0f, 0.0f};
  query.limit = 3;
  ASSERT_TRUE(client.Query(shard, query).ok());
  query.deadline = Deadline::After(std::chrono::seconds(5));
  ReplicaPosition at;
  PositionRequest position{&at, false};
  (void)client.Query(shard, query, &position);  // the stub sends no position header: an error is fine

  std::lock_guard<std::mutex> lock(seen.mu);
  ASSERT_EQ(seen.targets.size(), 2u);
  EXPECT_EQ(seen.targets[0], "/internal/shards/c/1/points/query");  // no deadline, no timeout
  EXPECT_THAT(seen.targets[1], HasSubstr("/internal/shards/c/1/points/query?position=replica&timeout="));
  const double left = std::atof(seen.targets[1].substr(seen.targets[1].find("timeout=") + 8).c_str());
  EXPECT_GT(left, 3.0);
  EXPECT_LE(left, 5.0);
}

}  // namespace
}  // namespace vj

// The primary side of replication (Replicator) on a real shard, against stand-in replicas served by
// TestServer: one answers like a replica (its last durable sequence), the other hangs, as a paused
// process does (its kernel accepts the connection and the request, nothing ever answers).
#include "cluster/replication.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>

#include "cluster/peer_protocol.h"
#include "cluster/test_http_server.h"
#include "core/test_dir.h"

namespace vj {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::unique_ptr<Shard> ShardWithPoints(const std::string& dir, int points) {
  CollectionConfig config;
  config.vectors[""] = VectorParams{2, Metric::kEuclid, std::nullopt, false, std::nullopt};
  auto shard = Shard::Open("s", dir, config, CollectionOptions{});
  EXPECT_TRUE(shard.ok()) << shard.status();
  std::vector<PointInput> batch;
  for (int i = 1; i <= points; ++i) {
    PointInput p;
    p.id = PointId::Num(static_cast<uint64_t>(i));
    p.vectors[""] = {static_cast<float>(i), 0};
    batch.push_back(std::move(p));
  }
  EXPECT_TRUE((*shard)->Upsert(std::move(batch), /*wait=*/true).ok());
  return std::move(*shard);
}

std::string Url(const TestServer& server) { return "http://127.0.0.1:" + std::to_string(server.port()); }

TEST(ReplicatorTest, AHungReplicaHoldsUpNeitherTheOthersNorSetTargets) {
  TestDir dir;
  std::shared_ptr<Shard> shard = ShardWithPoints(dir.path(), 5);
  const uint64_t head = shard->last_sequence();
  ASSERT_GT(head, 0u);

  HttpClient http;
  Replicator replicator("c", 0, shard, /*term=*/1, /*start_sequence=*/0, http, {});
  // Declared after the replicator, so destroyed first: closing the hung connection ends the request
  // its stream is stuck in, and the replicator's destructor then joins at once.
  std::atomic<uint64_t> durable{0};
  TestServer replica([&](const std::string&, const std::string& body) {
    auto batch = DecodeLogBatch(body);
    TestServer::Reply reply;
    if (batch.ok()) {
      for (const LoggedMutation& e : *batch) durable = std::max<uint64_t>(durable, e.sequence);
    }
    reply.body = "{\"last_sequence\": " + std::to_string(durable.load()) + "}";
    return reply;
  });
  TestServer hung([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.parts = {{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 1h}};  // until the server stops
    return reply;
  });

  // The hung replica first: a replicator that served its replicas in turn would never reach the other.
  replicator.SetTargets({{"hung", Url(hung)}, {"ok", Url(replica)}});
  replicator.Notify();
  EXPECT_TRUE(replicator.WaitForAcks(head, 1, Clock::now() + 10s).ok());
  EXPECT_EQ(durable.load(), head);
  EXPECT_FALSE(replicator.WaitForAcks(head, 2, Clock::now() + 200ms).ok()) << "the hung replica confirmed";

  // Dropping the hung replica does not wait for its stuck stream...
  auto start = Clock::now();
  replicator.SetTargets({{"ok", Url(replica)}});
  EXPECT_LT(Clock::now() - start, 1s);
  // ...and taking it back starts no second stream to it while the first is still in its request.
  replicator.SetTargets({{"hung", Url(hung)}, {"ok", Url(replica)}});
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(hung.accepted(), 1);
  // Writes keep flowing to the healthy replica all the while.
  std::vector<PointInput> more(1);
  more[0].id = PointId::Num(100);
  more[0].vectors[""] = {1, 1};
  ASSERT_TRUE(shard->Upsert(std::move(more), /*wait=*/true).ok());
  replicator.Notify();
  EXPECT_TRUE(replicator.WaitForAcks(shard->last_sequence(), 1, Clock::now() + 10s).ok());
  EXPECT_EQ(durable.load(), shard->last_sequence());
}

// A replica that knows a newer term refuses with Aborted: HTTP 409, which the public mapping shares with
// AlreadyExists, and the peer protocol's envelope, which keeps the code (cluster/peer_protocol.h). The
// primary must read that as "deposed" and stop at once: WaitForAcks returns Aborted well before its
// deadline, and superseded() holds.
TEST(ReplicatorTest, AStaleTermAnswerDeposesThePrimaryAtOnce) {
  TestDir dir;
  std::shared_ptr<Shard> shard = ShardWithPoints(dir.path(), 3);
  HttpClient http;
  Replicator replicator("c", 0, shard, /*term=*/1, /*start_sequence=*/0, http, {});
  TestServer newer([](const std::string&, const std::string&) {
    const std::string body = EncodePeerError(absl::AbortedError("stale term 1 for shard c/0; current is 2"));
    TestServer::Reply reply;
    reply.raw = "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body;
    return reply;
  });
  replicator.SetTargets({{"newer", Url(newer)}});
  replicator.Notify();
  const auto start = Clock::now();
  Status s = replicator.WaitForAcks(shard->last_sequence(), 1, Clock::now() + 10s);
  EXPECT_TRUE(absl::IsAborted(s)) << s;
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(replicator.superseded());
}

}  // namespace
}  // namespace vj

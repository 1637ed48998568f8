// RoutedShard's forwarded writes carry the client's request context: its request id and trace go with
// the copy, and its deadline bounds the forward window, the wait for the primary's answer and the answer.
#include "cluster/routed_shard.h"

#include <cstdlib>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/peer_protocol.h"
#include "cluster/test_http_server.h"
#include "core/wall_clock.h"

namespace vj {
namespace {

using ::testing::HasSubstr;

// A cluster of two nodes seen from the one that is not the shard's primary: every write goes to `primary`.
class ForwardingRouter final : public ShardRouter {
 public:
  explicit ForwardingRouter(uint16_t primary_port)
      : primary_{"http://127.0.0.1:" + std::to_string(primary_port), "c", 0}, peers_(http_, {}) {}

  std::shared_ptr<Shard> LocalReplica(const std::string&, uint32_t) override { return nullptr; }
  StatusOr<std::optional<PeerShard>> WriteTarget(const std::string&, uint32_t) override {
    return std::optional<PeerShard>(primary_);
  }
  Status AfterLocalWrite(const std::string&, uint32_t, uint64_t, bool) override { return absl::OkStatus(); }
  StatusOr<std::optional<PeerShard>> ReadTarget(const std::string&, uint32_t, size_t, ReadConsistency) override {
    return std::optional<PeerShard>(primary_);
  }
  StatusOr<ReadReplicaSet> ReadReplicas(const std::string&, uint32_t) override { return ReadReplicaSet{}; }
  StatusOr<ReplicaPosition> LocalPosition(const std::string&, uint32_t, bool) override {
    return absl::UnavailableError("no local replica");
  }
  std::vector<std::optional<PeerShard>> AllReplicas(const std::string&, uint32_t) override { return {primary_}; }
  PeerClient& peers() override { return peers_; }
  ForwardPolicy forward_policy() const override {
    return ForwardPolicy{std::chrono::milliseconds(3000), std::chrono::milliseconds(200)};
  }

 private:
  const PeerShard primary_;
  HttpClient http_;
  PeerClient peers_;
};

std::vector<PointInput> OnePoint() {
  PointInput p;
  p.id = PointId::Num(7);
  p.vectors[""] = {0.1f, 0.2f};
  return {p};
}

// The value of header `name` (lower-case, as the peer client writes it) in a request head, or "".
std::string HeaderOf(const std::string& head, const std::string& name) {
  const size_t at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  const size_t from = at + name.size() + 4;
  return head.substr(from, head.find("\r\n", from) - from);
}

constexpr char kWriteAnswer[] = R"({"result": {"operation_id": 5, "status": "completed"}, "status": "ok", "time": 0})";

TEST(RoutedShardTest, AForwardedWriteCarriesTheRequestIdAndTheClientsDeadline) {
  TestServer primary([](const std::string&, const std::string&) {
    TestServer::Reply r;
    r.body = kWriteAnswer;
    return r;
  });
  ForwardingRouter router(primary.port());
  RoutedShard shard(router, "c", 0, /*forward=*/true);
  RequestContext context;
  context.request_id = "req-42";
  context.deadline = Deadline::After(std::chrono::seconds(1));
  const int64_t sent = WallClockUnixMs();
  ASSERT_TRUE(shard.Upsert(OnePoint(), true, context).ok());

  const std::vector<std::string> heads = primary.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(HeaderOf(heads[0], "x-request-id"), "req-42") << heads[0];
  // Ordered by the client's deadline less the clock skew (1 s - 200 ms), not the 3 s window.
  const int64_t apply_by = std::atoll(HeaderOf(heads[0], kForwardDeadlineHeader).c_str());
  EXPECT_GT(apply_by, sent) << heads[0];
  EXPECT_LE(apply_by, WallClockUnixMs() + 800) << heads[0];

  // Without a deadline the whole window is given.
  RequestContext no_deadline;
  const int64_t later = WallClockUnixMs();
  ASSERT_TRUE(shard.Upsert(OnePoint(), true, no_deadline).ok());
  const std::string head = primary.heads().at(1);
  EXPECT_EQ(HeaderOf(head, "x-request-id"), "");
  EXPECT_GE(std::atoll(HeaderOf(head, kForwardDeadlineHeader).c_str()), later + 2900) << head;
}

TEST(RoutedShardTest, ADeadlineTooNearToForwardInIsATimeoutAndNothingIsSent) {
  TestServer primary([](const std::string&, const std::string&) {
    TestServer::Reply r;
    r.body = kWriteAnswer;
    return r;
  });
  ForwardingRouter router(primary.port());
  RoutedShard shard(router, "c", 0, /*forward=*/true);
  RequestContext context;
  context.deadline = Deadline::After(std::chrono::milliseconds(100));  // less than the 200 ms skew
  Status status = shard.Delete(PointSelector{{PointId::Num(7)}, std::nullopt}, true, context);
  EXPECT_TRUE(IsRequestTimeout(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("Operation 'Delete' timed out"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("the write was not applied"));
  EXPECT_TRUE(primary.heads().empty());
}

TEST(RoutedShardTest, NoAnswerByTheDeadlineIsATimeoutThatMayHaveApplied) {
  TestServer primary([](const std::string&, const std::string&) {
    TestServer::Reply r;
    r.body = kWriteAnswer;
    r.delay = std::chrono::milliseconds(1500);  // the primary answers after the client's deadline
    return r;
  });
  ForwardingRouter router(primary.port());
  RoutedShard shard(router, "c", 0, /*forward=*/true);
  RequestContext context;
  context.request_id = "req-slow";
  context.deadline = Deadline::After(std::chrono::milliseconds(600));
  Status status = shard.Upsert(OnePoint(), true, context);
  EXPECT_TRUE(IsRequestTimeout(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("Operation 'Upsert' timed out"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("will not be any more"));
  // Answered once the copy's deadline has passed: by then the primary may no longer order it.
  EXPECT_TRUE(context.deadline.Expired());
  const int64_t apply_by = std::atoll(HeaderOf(primary.heads().at(0), kForwardDeadlineHeader).c_str());
  EXPECT_LT(apply_by, WallClockUnixMs());
}

}  // namespace
}  // namespace vj

#include "cluster/membership.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/etcd_test_server.h"

namespace vj {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;


constexpr auto kTtl = 2s;

class MembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdTestServer::Available()) GTEST_SKIP() << "etcd is not installed";
    server_ = std::make_unique<EtcdTestServer>();
    ASSERT_TRUE(server_->Start().ok());
    etcd_ = std::make_unique<EtcdClient>(EtcdClientOptions{.endpoints = {server_->client_url()},
                                                           .request_timeout = 2000ms});
  }

  std::unique_ptr<Membership> NewNode(const std::string& id) {
    MembershipOptions options;
    options.prefix = "/vjtest";
    options.node_id = id;
    options.url = "http://" + id + ":6333";
    options.lease_ttl = kTtl;
    return std::make_unique<Membership>(*etcd_, options);
  }

  static bool Sees(const Membership& m, const std::string& id) { return m.Peers().count(id) > 0; }

  std::unique_ptr<EtcdTestServer> server_;
  std::unique_ptr<EtcdClient> etcd_;
};

TEST_F(MembershipTest, TwoNodesSeeEachOther) {
  auto a = NewNode("a");
  std::atomic<int> changes{0};
  a->OnChange([&](const PeerMap&) { changes++; });
  ASSERT_TRUE(a->Start().ok());
  EXPECT_TRUE(a->has_lease());
  EXPECT_NE(a->lease_id(), 0);
  EXPECT_THAT(a->Peers(), UnorderedElementsAre(Pair("a", "http://a:6333")));

  auto b = NewNode("b");
  ASSERT_TRUE(b->Start().ok());
  EXPECT_THAT(b->Peers(), UnorderedElementsAre(Pair("a", "http://a:6333"), Pair("b", "http://b:6333")));
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "b"); }, 3000ms));
  EXPECT_GE(changes.load(), 1);

  auto kv = etcd_->Get("/vjtest/nodes/a");
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->kvs.size(), 1u);
  EXPECT_EQ(kv->kvs[0].lease, a->lease_id());
  EXPECT_THAT(kv->kvs[0].value, HasSubstr("\"url\":\"http://a:6333\""));

  // Leases are kept alive past their TTL.
  std::this_thread::sleep_for(kTtl + 1s);
  EXPECT_TRUE(a->has_lease());
  EXPECT_TRUE(Sees(*b, "a"));
  EXPECT_EQ(a->reregistrations(), 0);

  // A stopped node leaves at once (its lease is revoked), well within the TTL.
  auto start = std::chrono::steady_clock::now();
  b->Stop();
  ASSERT_TRUE(WaitFor([&] { return !Sees(*a, "b"); }, 3000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, kTtl);
  EXPECT_FALSE(b->has_lease());
}

TEST_F(MembershipTest, DuplicateNodeIdIsRejected) {
  auto a = NewNode("same");
  ASSERT_TRUE(a->Start().ok());
  auto twin = NewNode("same");
  Status s = twin->Start();
  EXPECT_TRUE(absl::IsAlreadyExists(s)) << s;
  EXPECT_TRUE(a->has_lease());
  auto kv = etcd_->Get("/vjtest/nodes/same");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->kvs.at(0).lease, a->lease_id());

  auto bad = NewNode("no/slashes");
  EXPECT_TRUE(absl::IsInvalidArgument(bad->Start()));
}

TEST_F(MembershipTest, RestartedNodeWaitsForItsOldLease) {
  auto a = NewNode("n");
  ASSERT_TRUE(a->Start().ok());
  const int64_t old_lease = a->lease_id();
  a->PauseKeepAlivesForTest(true);  // as if the process died without revoking
  MembershipOptions options;
  options.prefix = "/vjtest";
  options.node_id = "n";
  options.url = "http://n:6333";
  options.lease_ttl = kTtl;
  options.collision_wait = kTtl + 2s;
  Membership again(*etcd_, options);
  Status s = again.Start();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_NE(again.lease_id(), old_lease);
  EXPECT_TRUE(again.has_lease());
}

TEST_F(MembershipTest, RevokedLeaseLeadsToReregistration) {
  auto a = NewNode("a");
  auto b = NewNode("b");
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(b->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "b"); }, 3000ms));
  const int64_t old_lease = b->lease_id();
  ASSERT_TRUE(etcd_->LeaseRevoke(old_lease).ok());
  ASSERT_TRUE(WaitFor([&] { return b->reregistrations() >= 1 && b->has_lease(); }, 5000ms));
  EXPECT_NE(b->lease_id(), old_lease);
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "b"); }, 3000ms));
  auto kv = etcd_->Get("/vjtest/nodes/b");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->kvs.at(0).lease, b->lease_id());
}

TEST_F(MembershipTest, PausedNodeLosesLeaseAndComesBack) {
  auto a = NewNode("a");
  auto b = NewNode("b");
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(b->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "b"); }, 3000ms));

  b->PauseKeepAlivesForTest(true);
  // b knows it may have lost its lease as soon as the TTL passed since its last refresh ...
  ASSERT_TRUE(WaitFor([&] { return !b->has_lease(); }, kTtl + 500ms));
  // ... and etcd expires it (checked every 500 ms), so a sees b leave.
  ASSERT_TRUE(WaitFor([&] { return !Sees(*a, "b"); }, kTtl + 2s));
  EXPECT_TRUE(a->has_lease());

  b->PauseKeepAlivesForTest(false);
  ASSERT_TRUE(WaitFor([&] { return b->has_lease(); }, 3000ms));
  EXPECT_EQ(b->reregistrations(), 1);
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "b"); }, 3000ms));
  EXPECT_TRUE(Sees(*b, "a"));
}

TEST_F(MembershipTest, EtcdRestartKeepsOrRestoresRegistrations) {
  auto a = NewNode("a");
  auto b = NewNode("b");
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(b->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "b"); }, 3000ms));

  // etcd down past the TTL: neither node can claim its lease.
  server_->Kill();
  ASSERT_TRUE(WaitFor([&] { return !a->has_lease() && !b->has_lease(); }, kTtl + 1s));
  ASSERT_TRUE(server_->Start().ok());
  // etcd restores the leases (and extends them) on restart, so the same leases come back.
  ASSERT_TRUE(WaitFor([&] { return a->has_lease() && b->has_lease(); }, 5000ms));
  EXPECT_TRUE(Sees(*a, "b"));
  EXPECT_TRUE(Sees(*b, "a"));

  // etcd restarted with no data: both register again and see each other.
  server_->Kill();
  server_->WipeData();
  ASSERT_TRUE(server_->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a->reregistrations() >= 1 && b->reregistrations() >= 1; }, 6000ms));
  ASSERT_TRUE(WaitFor([&] { return a->has_lease() && b->has_lease(); }, 3000ms));
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "b") && Sees(*b, "a"); }, 5000ms));
  auto nodes = etcd_->GetPrefix("/vjtest/nodes/");
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->kvs.size(), 2u);
}

}  // namespace
}  // namespace vj

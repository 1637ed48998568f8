#include "cluster/etcd_security_backend.h"

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cluster/etcd_test_server.h"
#include "security/security_store.h"

namespace vj {
namespace {

using namespace std::chrono_literals;

constexpr char kPrefix[] = "/vjtest";
constexpr auto kSpread = 2000ms;  // how soon a change must be effective on every node

// Two or more "nodes": each has its own etcd client, backend and store over one real etcd.
class EtcdSecurityBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdTestServer::Available()) GTEST_SKIP() << "etcd is not installed";
    server_ = std::make_unique<EtcdTestServer>();
    ASSERT_TRUE(server_->Start().ok());
  }

  std::unique_ptr<EtcdClient> NewClient() {
    return std::make_unique<EtcdClient>(EtcdClientOptions{.endpoints = {server_->client_url()},
                                                          .request_timeout = 2000ms});
  }

  struct Node {
    std::unique_ptr<EtcdClient> etcd;
    EtcdSecurityStateBackend* backend = nullptr;  // owned by store
    std::unique_ptr<SecurityStore> store;
  };

  StatusOr<Node> TryOpenNode() {
    Node node;
    node.etcd = NewClient();
    auto backend = std::make_unique<EtcdSecurityStateBackend>(*node.etcd, kPrefix);
    node.backend = backend.get();
    VJ_ASSIGN_OR_RETURN(node.store, SecurityStore::Open(std::move(backend)));
    return node;
  }
  Node OpenNode() {
    StatusOr<Node> node = TryOpenNode();
    EXPECT_TRUE(node.ok()) << node.status();
    return node.ok() ? std::move(*node) : Node{};
  }

  static ApiKeySpec WithRole(const std::string& role) {
    ApiKeySpec spec;
    spec.role = role;
    return spec;
  }
  static bool Authenticates(const SecurityStore& store, const std::string& secret) {
    return store.Authenticate(secret).ok();
  }

  std::unique_ptr<EtcdTestServer> server_;
};

TEST_F(EtcdSecurityBackendTest, LoadIsEmptyUntilStoredAndStoreIsReadBack) {
  auto etcd = NewClient();
  EtcdSecurityStateBackend backend(*etcd, kPrefix);
  EXPECT_EQ(backend.key(), "/vjtest/security/state");
  EXPECT_EQ(backend.Describe(), "etcd key /vjtest/security/state");
  StatusOr<std::string> empty = backend.Load();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "");
  ASSERT_TRUE(backend.Store("first").ok());
  ASSERT_TRUE(backend.Store("second").ok());  // its own write does not count as a conflict
  StatusOr<std::string> loaded = backend.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, "second");
}

TEST_F(EtcdSecurityBackendTest, StoreIsRefusedWhenAnotherWriterChangedTheKey) {
  auto etcd = NewClient();
  EtcdSecurityStateBackend a(*etcd, kPrefix);
  EtcdSecurityStateBackend b(*etcd, kPrefix);
  ASSERT_TRUE(a.Load().ok());
  ASSERT_TRUE(b.Load().ok());
  // Both saw no key: only the first creation wins.
  ASSERT_TRUE(b.Store("from b").ok());
  Status lost = a.Store("from a");
  EXPECT_TRUE(absl::IsAborted(lost)) << lost;
  EXPECT_NE(lost.message().find("etcd key /vjtest/security/state"), std::string::npos) << lost;
  // After reading again, a may write; then b's view is stale.
  ASSERT_TRUE(a.Load().ok());
  ASSERT_TRUE(a.Store("from a").ok());
  EXPECT_TRUE(absl::IsAborted(b.Store("from b again")));
  StatusOr<RangeResult> kv = etcd->Get("/vjtest/security/state");
  ASSERT_TRUE(kv.ok() && kv->kvs.size() == 1);
  EXPECT_EQ(kv->kvs[0].value, "from a");
}

TEST_F(EtcdSecurityBackendTest, KeysAndRevocationsReachTheOtherNodes) {
  Node a = OpenNode();
  Node b = OpenNode();
  ASSERT_TRUE(a.store && b.store);
  StatusOr<CreatedApiKey> key = a.store->CreateKey(WithRole("reader"));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(Authenticates(*a.store, key->secret));
  EXPECT_TRUE(WaitFor([&] { return Authenticates(*b.store, key->secret); }, kSpread));
  ASSERT_TRUE(b.store->RevokeKey(key->info.id).ok());
  EXPECT_FALSE(Authenticates(*b.store, key->secret));
  EXPECT_TRUE(WaitFor([&] { return !Authenticates(*a.store, key->secret); }, kSpread));
  EXPECT_EQ(a.store->reload_failures(), 0u);
}

TEST_F(EtcdSecurityBackendTest, RoleCreatedOnOneNodeIsUsableOnAnother) {
  Node a = OpenNode();
  Node b = OpenNode();
  ASSERT_TRUE(b.store->PutRole("team-a", {Grant{"team-a-*", Permission::kWrite}}).ok());
  ASSERT_TRUE(WaitFor([&] { return a.store->ListRoles().back().name == "team-a"; }, kSpread));
  StatusOr<CreatedApiKey> key = a.store->CreateKey(WithRole("team-a"));
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_TRUE(WaitFor([&] { return Authenticates(*b.store, key->secret); }, kSpread));
  StatusOr<Principal> who = b.store->Authenticate(key->secret);
  ASSERT_TRUE(who.ok());
  ASSERT_EQ(who->grants.size(), 1u);
  EXPECT_EQ(who->grants[0].collections, "team-a-*");
  EXPECT_EQ(who->grants[0].level, Permission::kWrite);
}

// Without the compare-and-swap, a node writing a state built before it saw the other's change would
// drop that change: keys would be lost here.
TEST_F(EtcdSecurityBackendTest, ConcurrentCreationsOnTwoNodesAllSurvive) {
  Node a = OpenNode();
  Node b = OpenNode();
  constexpr int kThreadsPerNode = 3;
  constexpr int kKeysPerThread = 5;
  std::mutex mu;
  std::vector<std::string> secrets;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (SecurityStore* store : {a.store.get(), b.store.get()}) {
    for (int t = 0; t < kThreadsPerNode; ++t) {
      threads.emplace_back([&, store] {
        for (int i = 0; i < kKeysPerThread; ++i) {
          StatusOr<CreatedApiKey> key = store->CreateKey(WithRole("reader"));
          if (!key.ok()) {
            ADD_FAILURE() << key.status();
            failures++;
            continue;
          }
          std::lock_guard<std::mutex> lock(mu);
          secrets.push_back(key->secret);
        }
      });
    }
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  const size_t total = 2 * kThreadsPerNode * kKeysPerThread;
  ASSERT_EQ(secrets.size(), total);
  for (const Node* node : {&a, &b}) {
    EXPECT_TRUE(WaitFor([&] { return node->store->ListKeys().size() == total; }, kSpread))
        << node->store->ListKeys().size();
    for (const std::string& secret : secrets) EXPECT_TRUE(Authenticates(*node->store, secret));
  }
  // A third node reading from scratch sees them all too.
  Node c = OpenNode();
  EXPECT_EQ(c.store->ListKeys().size(), total);
}

TEST_F(EtcdSecurityBackendTest, ChangesAfterAnEtcdRestartReachTheOtherNodes) {
  Node a = OpenNode();
  Node b = OpenNode();
  server_->Kill();
  ASSERT_TRUE(server_->Start().ok());
  StatusOr<CreatedApiKey> key = b.store->CreateKey(WithRole("reader"));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(WaitFor([&] { return Authenticates(*a.store, key->secret); }, kSpread + 3000ms))
      << "the watch did not reconnect";
}

TEST_F(EtcdSecurityBackendTest, WatchRereadsAfterEtcdCameBackWithOlderData) {
  Node a = OpenNode();
  Node b = OpenNode();
  // Push etcd's revision well past what a fresh etcd will have, so the watch's next revision is in
  // the "future" of the restarted one.
  auto etcd = NewClient();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(etcd->Put("/vjtest/other", std::to_string(i)).ok());
  StatusOr<CreatedApiKey> before = a.store->CreateKey(WithRole("reader"));
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(WaitFor([&] { return Authenticates(*b.store, before->secret); }, kSpread));
  server_->Kill();
  server_->WipeData();
  ASSERT_TRUE(server_->Start().ok());
  // The key is gone from etcd; b's next write starts from its own state (which still has `before`).
  StatusOr<CreatedApiKey> after = b.store->CreateKey(WithRole("reader"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(WaitFor([&] { return Authenticates(*a.store, after->secret); }, kSpread + 5000ms))
      << "rewatches: " << a.backend->rewatches();
  EXPECT_TRUE(Authenticates(*a.store, before->secret));
}

TEST_F(EtcdSecurityBackendTest, OpenFailsWhenEtcdCannotBeRead) {
  server_->Kill();
  StatusOr<Node> node = TryOpenNode();
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("etcd key /vjtest/security/state"), std::string::npos)
      << node.status();
}

TEST_F(EtcdSecurityBackendTest, DamagedStateIsDataLossNamingTheKey) {
  auto etcd = NewClient();
  ASSERT_TRUE(etcd->Put("/vjtest/security/state", "{\"format\": \"something else\"}").ok());
  StatusOr<Node> node = TryOpenNode();
  ASSERT_FALSE(node.ok());
  EXPECT_TRUE(absl::IsDataLoss(node.status())) << node.status();
  EXPECT_NE(node.status().message().find("etcd key /vjtest/security/state"), std::string::npos)
      << node.status();
}

TEST_F(EtcdSecurityBackendTest, DamagedUpdateKeepsTheCurrentStateAndCountsAFailure) {
  Node a = OpenNode();
  StatusOr<CreatedApiKey> key = a.store->CreateKey(WithRole("reader"));
  ASSERT_TRUE(key.ok());
  auto etcd = NewClient();
  ASSERT_TRUE(etcd->Put("/vjtest/security/state", "not json").ok());
  ASSERT_TRUE(WaitFor([&] { return a.store->reload_failures() > 0; }, kSpread));
  EXPECT_TRUE(Authenticates(*a.store, key->secret));
}

}  // namespace
}  // namespace vj

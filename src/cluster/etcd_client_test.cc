#include "cluster/etcd_client.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/etcd_test_server.h"

namespace vj {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;


// One etcd shared by the tests of the suite that do not restart it; each test uses its own key prefix.
class EtcdClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!EtcdTestServer::Available()) return;
    server_ = new EtcdTestServer();
    Status s = server_->Start();
    if (!s.ok()) {
      ADD_FAILURE() << s;
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!EtcdTestServer::Available()) GTEST_SKIP() << "etcd is not installed";
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<EtcdClient>(EtcdClientOptions{.endpoints = {server_->client_url()}});
    prefix_ = std::string("/test/") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
  }

  static EtcdTestServer* server_;
  std::unique_ptr<EtcdClient> client_;
  std::string prefix_;
};
EtcdTestServer* EtcdClientTest::server_ = nullptr;

TEST_F(EtcdClientTest, KvRoundTripWithBinaryValues) {
  const std::string key = prefix_ + std::string("k\0\xff\n", 4);
  const std::string value = std::string("\0\x01\x02\xfe\xff{\"json\": true}\r\n", 22);
  auto rev = client_->Put(key, value);
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GT(*rev, 0);

  auto got = client_->Get(key);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].key, key);
  EXPECT_EQ(got->kvs[0].value, value);
  EXPECT_EQ(got->kvs[0].create_revision, *rev);
  EXPECT_EQ(got->kvs[0].mod_revision, *rev);
  EXPECT_EQ(got->kvs[0].version, 1);
  EXPECT_EQ(got->revision, *rev);

  auto rev2 = client_->Put(key, "");
  ASSERT_TRUE(rev2.ok());
  got = client_->Get(key);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].value, "");
  EXPECT_EQ(got->kvs[0].version, 2);
  EXPECT_EQ(got->kvs[0].create_revision, *rev);
  EXPECT_EQ(got->kvs[0].mod_revision, *rev2);

  auto deleted = client_->Delete(key);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1);
  got = client_->Get(key);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->kvs.empty());
}

TEST_F(EtcdClientTest, PrefixRangeAndDelete) {
  for (const char* k : {"a/2", "a/1", "a/3", "ab", "b/1"}) {
    ASSERT_TRUE(client_->Put(prefix_ + k, k).ok());
  }
  auto got = client_->GetPrefix(prefix_ + "a/");
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> keys;
  for (const auto& kv : got->kvs) keys.push_back(kv.key.substr(prefix_.size()));
  EXPECT_THAT(keys, ElementsAre("a/1", "a/2", "a/3"));
  EXPECT_EQ(got->kvs[0].value, "a/1");

  auto deleted = client_->DeletePrefix(prefix_ + "a/");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 3);
  got = client_->GetPrefix(prefix_);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 2u);
  EXPECT_EQ(got->kvs[0].key, prefix_ + "ab");
}

TEST_F(EtcdClientTest, TxnSucceedsAndFails) {
  const std::string key = prefix_ + "leader";
  // Create-if-absent succeeds once.
  auto txn = client_->Txn({TxnCompare::CreateRevisionEquals(key, 0)}, {TxnOp::Put(key, "node-a")},
                          {TxnOp::Get(key)});
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_TRUE(txn->succeeded);
  ASSERT_EQ(txn->responses.size(), 1u);
  const int64_t created = txn->revision;

  txn = client_->Txn({TxnCompare::CreateRevisionEquals(key, 0)}, {TxnOp::Put(key, "node-b")},
                     {TxnOp::Get(key)});
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_FALSE(txn->succeeded);
  ASSERT_EQ(txn->responses.size(), 1u);
  ASSERT_EQ(txn->responses[0].kvs.size(), 1u);
  EXPECT_EQ(txn->responses[0].kvs[0].value, "node-a");
  EXPECT_EQ(txn->responses[0].kvs[0].mod_revision, created);

  // Compare-and-swap on mod revision and value; several ops in one branch.
  txn = client_->Txn({TxnCompare::ModRevisionEquals(key, created), TxnCompare::ValueEquals(key, "node-a")},
                     {TxnOp::Put(key, "node-c"), TxnOp::Put(prefix_ + "term", "2"), TxnOp::GetPrefix(prefix_)});
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_TRUE(txn->succeeded);
  ASSERT_EQ(txn->responses.size(), 3u);
  EXPECT_EQ(txn->responses[2].kvs.size(), 2u);

  txn = client_->Txn({TxnCompare::ValueEquals(key, "node-a")}, {TxnOp::Delete(key)},
                     {TxnOp::Get(key), TxnOp::DeletePrefix(prefix_ + "term")});
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_FALSE(txn->succeeded);
  ASSERT_EQ(txn->responses.size(), 2u);
  EXPECT_EQ(txn->responses[0].kvs.at(0).value, "node-c");
  EXPECT_EQ(txn->responses[1].deleted, 1);

  txn = client_->Txn({TxnCompare::VersionEquals(key, 2)}, {TxnOp::Delete(key)});
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_TRUE(txn->succeeded);
  EXPECT_EQ(txn->responses.at(0).deleted, 1);
}

// A decision made from a range read (a count of collections) holds only if nothing was created or
// changed under the prefix since; deletions and keys elsewhere do not matter.
TEST_F(EtcdClientTest, TxnGuardedByAPrefixUnchangedSinceARead) {
  ASSERT_TRUE(client_->Put(prefix_ + "c/a", "1").ok());
  ASSERT_TRUE(client_->Put(prefix_ + "c/b", "1").ok());
  auto read = client_->GetPrefix(prefix_ + "c/");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->kvs.size(), 2u);
  auto guarded = [&](const std::string& key) {
    auto txn = client_->Txn({TxnCompare::NothingChangedUnderPrefixSince(prefix_ + "c/", read->revision)},
                            {TxnOp::Put(key, "1")});
    EXPECT_TRUE(txn.ok()) << txn.status();
    return txn.ok() && txn->succeeded;
  };
  ASSERT_TRUE(client_->Put(prefix_ + "elsewhere", "1").ok());
  ASSERT_TRUE(client_->Delete(prefix_ + "c/b").ok());
  EXPECT_TRUE(guarded(prefix_ + "c/x"));   // only a key outside and a deletion since the read
  EXPECT_FALSE(guarded(prefix_ + "c/y"));  // c/x was created since
  EXPECT_FALSE(client_->Get(prefix_ + "c/y")->kvs.size() > 0);
}

TEST_F(EtcdClientTest, LeaseGrantKeepAliveExpiry) {
  auto lease = client_->LeaseGrant(2);
  ASSERT_TRUE(lease.ok()) << lease.status();
  const std::string key = prefix_ + "node";
  ASSERT_TRUE(client_->Put(key, "v", *lease).ok());
  auto got = client_->Get(key);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].lease, *lease);

  // Kept alive past its TTL, the key stays.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(700ms);
    auto ttl = client_->LeaseKeepAliveOnce(*lease);
    ASSERT_TRUE(ttl.ok()) << ttl.status();
    EXPECT_EQ(*ttl, 2);
  }
  got = client_->Get(key);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kvs.size(), 1u);

  // Left alone, it expires and takes the key with it.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto g = client_->Get(key);
        return g.ok() && g->kvs.empty();
      },
      5000ms));
  EXPECT_TRUE(absl::IsNotFound(client_->LeaseKeepAliveOnce(*lease).status()));
  EXPECT_TRUE(absl::IsNotFound(client_->LeaseRevoke(*lease)));
}

TEST_F(EtcdClientTest, LeaseRevokeDeletesKeys) {
  auto lease = client_->LeaseGrant(30);
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(client_->Put(prefix_ + "x", "1", *lease).ok());
  ASSERT_TRUE(client_->Put(prefix_ + "y", "2", *lease).ok());
  ASSERT_TRUE(client_->LeaseRevoke(*lease).ok());
  auto got = client_->GetPrefix(prefix_);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->kvs.empty());
  EXPECT_TRUE(absl::IsNotFound(client_->LeaseKeepAliveOnce(*lease).status()));
  // A put under a lease that does not exist is refused with etcd's message.
  Status s = client_->Put(prefix_ + "z", "3", *lease).status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("lease not found"));
}

TEST_F(EtcdClientTest, FailsOverToNextEndpoint) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(EtcdTestServer::PickFreePort());
  EtcdClient client(EtcdClientOptions{.endpoints = {dead, server_->client_url()}});
  ASSERT_TRUE(client.Put(prefix_ + "k", "v").ok());
  auto got = client.Get(prefix_ + "k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->kvs.at(0).value, "v");

  EtcdClient only_dead(EtcdClientOptions{.endpoints = {dead}});
  EXPECT_TRUE(absl::IsUnavailable(only_dead.Get("k").status()));
  EtcdClient none(EtcdClientOptions{});
  EXPECT_TRUE(absl::IsFailedPrecondition(none.Get("k").status()));
}

// Collects watch events from a background Watch.
struct WatchRecorder {
  std::mutex mu;
  std::vector<std::string> events;  // "PUT key=value" / "DELETE key"
  std::vector<int64_t> revisions;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  Status result;
  std::thread thread;

  void Start(EtcdClient& client, const std::string& prefix, int64_t from) {
    thread = std::thread([this, &client, prefix, from] {
      WatchOptions options;
      options.initial_backoff = 50ms;
      options.max_backoff = 200ms;
      options.on_error = [this](const Status&) { errors++; };
      result = client.Watch(
          prefix, from,
          [this, prefix](const std::vector<WatchEvent>& batch) {
            std::lock_guard<std::mutex> lock(mu);
            for (const WatchEvent& e : batch) {
              std::string key = e.kv.key.substr(prefix.size());
              events.push_back(e.type == WatchEvent::Type::kPut ? "PUT " + key + "=" + e.kv.value
                                                                : "DELETE " + key);
              revisions.push_back(e.kv.mod_revision);
            }
          },
          stop, options);
    });
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return events.size();
  }
  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(mu);
    return events;
  }
  void Stop() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
  ~WatchRecorder() { Stop(); }
};

TEST_F(EtcdClientTest, WatchSeesPutsAndDeletesInOrder) {
  auto start = client_->Get(prefix_);
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(client_->Put(prefix_ + "before", "0").ok());  // before the watch's start: not seen
  auto now = client_->Get(prefix_);
  ASSERT_TRUE(now.ok());
  WatchRecorder recorder;
  recorder.Start(*client_, prefix_, now->revision + 1);
  ASSERT_TRUE(client_->Put(prefix_ + "a", "1").ok());
  ASSERT_TRUE(client_->Put(prefix_ + "b", "2").ok());
  ASSERT_TRUE(client_->Put("/other/key", "x").ok());  // outside the prefix
  ASSERT_TRUE(client_->Put(prefix_ + "a", "3").ok());
  ASSERT_TRUE(client_->Delete(prefix_ + "b").ok());
  ASSERT_TRUE(client_->Txn({}, {TxnOp::Put(prefix_ + "c", "4"), TxnOp::Delete(prefix_ + "a")}).ok());
  ASSERT_TRUE(WaitFor([&] { return recorder.size() >= 6; }, 5000ms));
  recorder.Stop();
  EXPECT_TRUE(recorder.result.ok()) << recorder.result;
  EXPECT_THAT(recorder.Events(),
              ElementsAre("PUT a=1", "PUT b=2", "PUT a=3", "DELETE b", "PUT c=4", "DELETE a"));
  for (size_t i = 1; i < recorder.revisions.size(); ++i) {
    EXPECT_LE(recorder.revisions[i - 1], recorder.revisions[i]);
  }
}

TEST_F(EtcdClientTest, WatchFromCompactedRevisionIsOutOfRange) {
  ASSERT_TRUE(client_->Put(prefix_ + "a", "1").ok());
  auto rev = client_->Put(prefix_ + "a", "2");
  ASSERT_TRUE(rev.ok());
  HttpClient http;
  auto compact = http.Send("POST", server_->client_url() + "/v3/kv/compaction",
                           "{\"revision\": \"" + std::to_string(*rev) + "\"}");
  ASSERT_TRUE(compact.ok());
  ASSERT_EQ(compact->status, 200) << compact->body;
  std::atomic<bool> stop{false};
  Status s = client_->Watch(prefix_, 1, [](const std::vector<WatchEvent>&) {}, stop);
  EXPECT_TRUE(absl::IsOutOfRange(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("compacted"));
}

// A test with an etcd of its own, for restarts.
TEST(EtcdClientRestartTest, WatchResumesAfterEtcdRestart) {
  if (!EtcdTestServer::Available()) GTEST_SKIP() << "etcd is not installed";
  EtcdTestServer server;
  ASSERT_TRUE(server.Start().ok());
  EtcdClient client(EtcdClientOptions{.endpoints = {server.client_url()}});
  const std::string prefix = "/restart/";
  auto now = client.Get(prefix);
  ASSERT_TRUE(now.ok());
  WatchRecorder recorder;
  recorder.Start(client, prefix, now->revision + 1);
  ASSERT_TRUE(client.Put(prefix + "a", "1").ok());
  ASSERT_TRUE(WaitFor([&] { return recorder.size() >= 1; }, 5000ms));

  server.Kill();
  EXPECT_TRUE(absl::IsUnavailable(client.Get(prefix).status()));
  ASSERT_TRUE(WaitFor([&] { return recorder.errors.load() >= 1; }, 5000ms));
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(client.Put(prefix + "b", "2").ok());
  ASSERT_TRUE(client.Delete(prefix + "a").ok());
  ASSERT_TRUE(WaitFor([&] { return recorder.size() >= 3; }, 8000ms));
  std::this_thread::sleep_for(200ms);  // no duplicates trail in
  recorder.Stop();
  EXPECT_TRUE(recorder.result.ok()) << recorder.result;
  EXPECT_THAT(recorder.Events(), ElementsAre("PUT a=1", "PUT b=2", "DELETE a"));
}

TEST(EtcdClientRestartTest, WatchReportsEtcdThatLostItsData) {
  if (!EtcdTestServer::Available()) GTEST_SKIP() << "etcd is not installed";
  EtcdTestServer server;
  ASSERT_TRUE(server.Start().ok());
  EtcdClient client(EtcdClientOptions{.endpoints = {server.client_url()}});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Put("/lost/k" + std::to_string(i), "v").ok());
  auto now = client.Get("/lost/");
  ASSERT_TRUE(now.ok());
  WatchRecorder recorder;
  recorder.Start(client, "/lost/", now->revision + 1);
  ASSERT_TRUE(client.Put("/lost/seen", "1").ok());
  ASSERT_TRUE(WaitFor([&] { return recorder.size() >= 1; }, 5000ms));
  server.Kill();
  server.WipeData();
  ASSERT_TRUE(server.Start().ok());
  recorder.thread.join();  // returns by itself
  EXPECT_TRUE(absl::IsOutOfRange(recorder.result)) << recorder.result;
  EXPECT_THAT(std::string(recorder.result.message()), HasSubstr("went back"));
}

}  // namespace
}  // namespace vj

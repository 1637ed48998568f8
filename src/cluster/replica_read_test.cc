#include "cluster/replica_read.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace vj {
namespace {

// A replica as ReadNewest sees it: what it answers (a value at a position) or the error it gives.
struct FakeReplica {
  StatusOr<Positioned<std::string>> answer;
};

FakeReplica At(uint64_t term, uint64_t sequence, std::string value) {
  return FakeReplica{Positioned<std::string>{std::move(value), ReplicaPosition{term, sequence}}};
}
FakeReplica Down(std::string why = "peer down") { return FakeReplica{absl::UnavailableError(why)}; }

struct ReadRun {
  StatusOr<std::string> result;
  std::set<size_t> asked;
};

ReadRun ReadFrom(const std::vector<FakeReplica>& replicas, size_t required) {
  std::mutex mu;
  ReadRun run{absl::UnknownError("not run"), {}};
  run.result = ReadNewest<std::string>(
      replicas.size(), required,
      [&](size_t i) {
        std::lock_guard<std::mutex> lock(mu);
        run.asked.insert(i);
        return replicas[i].answer;
      },
      "read consistency all: shard 0 of collection `c`");
  return run;
}

TEST(ReadNewestTest, KeepsTheAnswerOfTheReplicaFurthestAlong) {
  // The same term: the higher sequence wins, wherever it is in the order.
  EXPECT_EQ(*ReadFrom({At(2, 10, "old"), At(2, 12, "new"), At(2, 11, "mid")}, 3).result, "new");
  // A newer term wins over more entries of an older one (a deposed primary's unacknowledged writes).
  EXPECT_EQ(*ReadFrom({At(1, 500, "deposed"), At(2, 40, "current")}, 2).result, "current");
  // A tie keeps the first asked.
  EXPECT_EQ(*ReadFrom({At(3, 7, "first"), At(3, 7, "second")}, 2).result, "first");
}

TEST(ReadNewestTest, AsksOnlyAsManyAsRequiredWhenTheyAnswer) {
  ReadRun run = ReadFrom({At(1, 1, "a"), At(1, 5, "b"), At(1, 9, "c")}, 2);
  EXPECT_EQ(*run.result, "b");  // the third, newer replica was not needed and not asked
  EXPECT_EQ(run.asked, (std::set<size_t>{0, 1}));
}

TEST(ReadNewestTest, ReplacesReplicasThatDoNotAnswer) {
  ReadRun run = ReadFrom({Down(), FakeReplica{absl::DeadlineExceededError("paused")}, At(1, 3, "c"), At(1, 4, "d")}, 2);
  EXPECT_EQ(*run.result, "d");
  EXPECT_EQ(run.asked.size(), 4u);
}

TEST(ReadNewestTest, FewerAnswersThanRequiredIsUnavailableNamingHowManyAnswered) {
  ReadRun run = ReadFrom({At(1, 3, "a"), Down("node n2 is down"), At(1, 2, "c")}, 3);
  ASSERT_TRUE(absl::IsUnavailable(run.result.status()));
  const std::string message(run.result.status().message());
  EXPECT_NE(message.find("needs 3 replicas to answer, 2 answered"), std::string::npos) << message;
  EXPECT_NE(message.find("node n2 is down"), std::string::npos) << message;
  EXPECT_NE(message.find("shard 0 of collection `c`"), std::string::npos) << message;
}

TEST(ReadNewestTest, FewerLiveReplicasThanRequiredAsksNone) {
  ReadRun run = ReadFrom({At(1, 3, "a"), At(1, 2, "b")}, 3);
  ASSERT_TRUE(absl::IsUnavailable(run.result.status()));
  EXPECT_NE(run.result.status().message().find("0 answered: only 2 are on live nodes"), std::string::npos)
      << run.result.status().message();
  EXPECT_TRUE(run.asked.empty());
}

TEST(ReadNewestTest, AnErrorOtherThanNoAnswerIsReturnedAsItIs) {
  ReadRun run = ReadFrom({At(1, 3, "a"), FakeReplica{absl::InvalidArgumentError("filter: bad")}, At(1, 9, "c")}, 2);
  ASSERT_TRUE(absl::IsInvalidArgument(run.result.status()));
  EXPECT_EQ(run.result.status().message(), "filter: bad");
}

TEST(ReadNewestTest, AsksTheReplicasAtTheSameTime) {
  // Each read waits until all three have started: only concurrent calls finish.
  std::atomic<int> started{0};
  auto result = ReadNewest<int>(
      3, 3,
      [&](size_t i) -> StatusOr<Positioned<int>> {
        started.fetch_add(1);
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (started.load() < 3) {
          if (std::chrono::steady_clock::now() > give_up) return absl::DeadlineExceededError("alone");
          std::this_thread::yield();
        }
        return Positioned<int>{static_cast<int>(i), ReplicaPosition{1, i}};
      },
      "test");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 2);
}

}  // namespace
}  // namespace vj

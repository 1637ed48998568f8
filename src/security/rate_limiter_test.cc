#include "security/rate_limiter.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace vj {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = std::chrono::steady_clock::time_point;

Principal Named(std::string id, std::vector<std::string> roles = {}) {
  Principal p;
  p.id = std::move(id);
  p.roles = std::move(roles);
  return p;
}

class RateLimiterTest : public ::testing::Test {
 protected:
  TimePoint now_ = TimePoint() + seconds(1000);
  RateLimiter::Clock clock_ = [this] { return now_; };
};

TEST_F(RateLimiterTest, BurstThenRefusedWithRetryAfter) {
  RateLimitSettings s;
  s.defaults.write = {2, 5};  // 2/s, burst 5
  RateLimiter limiter(s, clock_);
  const Principal p = Named("api-key:main");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Check(p, true).allowed) << i;
  RateDecision refused = limiter.Check(p, true);
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.over_capacity);
  EXPECT_EQ(refused.retry_after_s, 1);  // 1 token at 2/s: 0.5 s, rounded up
  // Reads have their own (unlimited) bucket.
  EXPECT_TRUE(limiter.Check(p, false).allowed);
}

TEST_F(RateLimiterTest, RefillsAtTheRateAndNeverAboveTheBurst) {
  RateLimitSettings s;
  s.defaults.read = {0.5, 2};  // one token every 2 s
  RateLimiter limiter(s, clock_);
  const Principal p = Named("jwt:alice");
  EXPECT_TRUE(limiter.Check(p, false).allowed);
  EXPECT_TRUE(limiter.Check(p, false).allowed);
  RateDecision refused = limiter.Check(p, false);
  ASSERT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 2);
  now_ += milliseconds(1999);
  EXPECT_FALSE(limiter.Check(p, false).allowed);
  now_ += milliseconds(1);
  EXPECT_TRUE(limiter.Check(p, false).allowed);
  // An hour idle refills to the burst (2), not 1800 tokens.
  now_ += seconds(3600);
  EXPECT_TRUE(limiter.Check(p, false).allowed);
  EXPECT_TRUE(limiter.Check(p, false).allowed);
  EXPECT_FALSE(limiter.Check(p, false).allowed);
}

TEST_F(RateLimiterTest, RetryAfterIsRoundedUpAndAtLeastOne) {
  RateLimitSettings s;
  s.defaults.write = {0.3, 1};
  RateLimiter limiter(s, clock_);
  const Principal p = Named("key:k1");
  EXPECT_TRUE(limiter.Check(p, true).allowed);
  EXPECT_EQ(limiter.Check(p, true).retry_after_s, 4);  // 1 / 0.3 = 3.33 s
  now_ += seconds(3);
  EXPECT_EQ(limiter.Check(p, true).retry_after_s, 1);  // 0.1 token missing: 0.33 s -> 1
}

TEST_F(RateLimiterTest, ZeroIsUnlimitedAndKeepsNoBucket) {
  RateLimiter limiter(RateLimitSettings{}, clock_);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Check(Named("anonymous"), i % 2 == 0).allowed);
  EXPECT_EQ(limiter.BucketCount(), 0u);
}

TEST_F(RateLimiterTest, BurstDefaultsToTheRate) {
  RateLimitSettings s;
  s.defaults.read = {3, 0};
  RateLimiter limiter(s, clock_);
  const Principal p = Named("jwt:bob");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Check(p, false).allowed);
  EXPECT_FALSE(limiter.Check(p, false).allowed);
}

TEST_F(RateLimiterTest, KeyOverrideBeatsRolesAndRolesBeatDefaults) {
  RateLimitSettings s;
  s.defaults.read = {1, 1};
  s.roles["reader"].read = {1, 3};
  s.roles["bulk"].read = {0, 0};  // unlimited
  s.roles["slow"].read = {1, 2};
  s.keys["api-key:main"].read = {1, 5};
  RateLimiter limiter(s, clock_);
  EXPECT_EQ(limiter.LimitsFor(Named("jwt:x")).read.capacity(), 1);
  EXPECT_EQ(limiter.LimitsFor(Named("jwt:x", {"reader"})).read.capacity(), 3);
  // Several roles: the most generous per operation class.
  EXPECT_EQ(limiter.LimitsFor(Named("jwt:x", {"slow", "reader"})).read.capacity(), 3);
  EXPECT_TRUE(limiter.LimitsFor(Named("jwt:x", {"slow", "bulk"})).read.unlimited());
  EXPECT_EQ(limiter.LimitsFor(Named("api-key:main", {"bulk"})).read.capacity(), 5);
  // An unknown role falls back to the defaults.
  EXPECT_EQ(limiter.LimitsFor(Named("jwt:x", {"nobody"})).read.capacity(), 1);

  const Principal reader = Named("jwt:r", {"reader"});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Check(reader, false).allowed);
  EXPECT_FALSE(limiter.Check(reader, false).allowed);
  // Principals do not share buckets.
  EXPECT_TRUE(limiter.Check(Named("jwt:other"), false).allowed);
}

TEST_F(RateLimiterTest, CostOverTheBurstIsRefusedAsOverCapacity) {
  RateLimiter limiter(RateLimitSettings{}, clock_);
  const RateLimit limit{1, 10};
  RateDecision d = limiter.CheckKey("collection:a", limit, true, 11);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.over_capacity);
  EXPECT_TRUE(limiter.CheckKey("collection:a", limit, true, 10).allowed);
  d = limiter.CheckKey("collection:a", limit, true, 4);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.over_capacity);
  EXPECT_EQ(d.retry_after_s, 4);
}

TEST_F(RateLimiterTest, ChangedLimitsResizeTheBucket) {
  RateLimiter limiter(RateLimitSettings{}, clock_);
  EXPECT_TRUE(limiter.CheckKey("collection:a", {1, 10}, false, 2).allowed);  // 8 left
  // A smaller burst caps what is left; a larger one does not refill it.
  EXPECT_TRUE(limiter.CheckKey("collection:a", {1, 3}, false, 3).allowed);
  EXPECT_FALSE(limiter.CheckKey("collection:a", {1, 3}, false, 1).allowed);
  EXPECT_FALSE(limiter.CheckKey("collection:a", {1, 100}, false, 1).allowed);
}

TEST_F(RateLimiterTest, FloodOfDistinctPrincipalsIsBounded) {
  RateLimitSettings s;
  s.defaults.read = {1, 2};
  s.max_buckets = 160;  // 10 a shard
  RateLimiter limiter(s, clock_);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(limiter.Check(Named("jwt:flood-" + std::to_string(i)), false).allowed);
    ASSERT_LE(limiter.BucketCount(), 160u);
  }
  EXPECT_GT(limiter.BucketCount(), 100u);
}

TEST_F(RateLimiterTest, EvictionDropsRefilledBucketsFirst) {
  RateLimitSettings s;
  s.defaults.read = {1, 2};
  s.max_buckets = 16;  // one bucket a shard
  RateLimiter limiter(s, clock_);
  const Principal busy = Named("jwt:busy");
  EXPECT_TRUE(limiter.Check(busy, false).allowed);
  EXPECT_TRUE(limiter.Check(busy, false).allowed);
  EXPECT_FALSE(limiter.Check(busy, false).allowed);
  // Others arrive while busy's bucket is empty: it may be evicted (the shard holds one), but only as the
  // oldest; once it has refilled, evicting it changes nothing.
  now_ += seconds(5);
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(limiter.Check(Named("jwt:p" + std::to_string(i)), false).allowed);
  EXPECT_LE(limiter.BucketCount(), 16u);
  EXPECT_TRUE(limiter.Check(busy, false).allowed);
  EXPECT_TRUE(limiter.Check(busy, false).allowed);
  EXPECT_FALSE(limiter.Check(busy, false).allowed);
}

TEST_F(RateLimiterTest, ConcurrentChecksNeverOverspend) {
  RateLimitSettings s;
  s.defaults.write = {0.001, 1000};
  RateLimiter limiter(s, clock_);
  const Principal p = Named("api-key:main");
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) allowed += limiter.Check(p, true).allowed ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

// SIGHUP: new limits apply from the next request, keeping what a bucket spent within the new burst.
TEST(RateLimiterReloadTest, SetSettingsAppliesNewLimits) {
  TimePoint now = TimePoint() + seconds(1000);
  RateLimitSettings s;
  s.defaults.read = {1, 2};
  RateLimiter limiter(s, [&now] { return now; });
  const Principal p = Named("api-key:main");
  EXPECT_TRUE(limiter.Check(p, false).allowed);
  EXPECT_TRUE(limiter.Check(p, false).allowed);
  EXPECT_FALSE(limiter.Check(p, false).allowed);
  s.defaults.read = {0, 0};  // unlimited
  limiter.SetSettings(s);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.Check(p, false).allowed);
  s.defaults.read = {1, 1};
  s.keys["api-key:main"].read = {100, 100};
  limiter.SetSettings(s);
  EXPECT_EQ(limiter.LimitsFor(p).read.per_s, 100);
}

}  // namespace
}  // namespace vj

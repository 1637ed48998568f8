#include "collection/index_snapshotter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace vj {
namespace {

// Waits (on the condition, with a generous bound) until pred holds.
template <typename Pred>
bool Eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST(IndexSnapshotterTest, SnapshotsOnceEnoughMutationsWereApplied) {
  std::atomic<int> saved{0};
  IndexSnapshotter s("t", IndexSnapshotPolicy{100, 0}, [&] {
    ++saved;
    return absl::OkStatus();
  });
  s.Applied(60);
  s.Applied(39);
  s.Applied(1);  // the 100th
  ASSERT_TRUE(Eventually([&] { return s.snapshots() == 1; }));
  EXPECT_EQ(saved.load(), 1);
  s.Applied(99);
  s.Stop();
  EXPECT_EQ(saved.load(), 1);  // 99 since the last one: not due
  s.Applied(1000);             // after Stop: nothing
  EXPECT_EQ(saved.load(), 1);
}

TEST(IndexSnapshotterTest, SnapshotsByTimeOnlyWhenSomethingChanged) {
  std::atomic<int> saved{0};
  IndexSnapshotter s("t", IndexSnapshotPolicy{0, 1}, [&] {
    ++saved;
    return absl::OkStatus();
  });
  s.Applied(1);
  ASSERT_TRUE(Eventually([&] { return s.snapshots() == 1; }));
  // Nothing applied since: a second interval passes without a snapshot... until one mutation.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(s.snapshots(), 1u);
  s.Applied(1);
  ASSERT_TRUE(Eventually([&] { return s.snapshots() == 2; }));
}

TEST(IndexSnapshotterTest, AFailedSnapshotIsCountedAndTriedAgainLater) {
  std::atomic<int> tries{0};
  IndexSnapshotter s("t", IndexSnapshotPolicy{10, 0}, [&] {
    ++tries;
    return absl::UnavailableError("disk full");
  });
  s.Applied(10);
  ASSERT_TRUE(Eventually([&] { return s.failures() == 1; }));
  s.Applied(10);  // due again by count, but within the back-off
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(tries.load(), 1);
  EXPECT_EQ(s.snapshots(), 0u);
}

TEST(IndexSnapshotterTest, DisabledPolicyStartsNoThread) {
  std::atomic<int> saved{0};
  IndexSnapshotter s("t", IndexSnapshotPolicy{0, 0}, [&] {
    ++saved;
    return absl::OkStatus();
  });
  s.Applied(1000000);
  s.Stop();
  EXPECT_EQ(saved.load(), 0);
}

}  // namespace
}  // namespace vj

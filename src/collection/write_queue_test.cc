#include "collection/write_queue.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/write_not_applied.h"

namespace vj {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<WriteRequest> Upserts(size_t n, uint64_t first_id = 0) {
  auto request = std::make_unique<WriteRequest>();
  for (size_t i = 0; i < n; ++i) {
    Mutation m;
    m.record.id = PointId::Num(first_id + i);
    m.record.vectors[""] = std::vector<float>(128, 1.0f);
    m.record.payload["name"] = "point";
    request->mutations.push_back(std::move(m));
  }
  return request;
}

WriteQueueLimits Limits(size_t mutations, milliseconds full_wait) {
  WriteQueueLimits limits;
  limits.max_mutations = mutations;
  limits.full_wait = full_wait;
  return limits;
}

const Clock::time_point kNoDeadline = Clock::time_point::max();

TEST(WriteQueueTest, AsyncWriteIsRefusedWhenFullAndNothingIsQueued) {
  WriteQueue queue(Limits(10, milliseconds(20)));
  ASSERT_TRUE(queue.Push(Upserts(6), false, kNoDeadline).ok());
  ASSERT_TRUE(queue.Push(Upserts(4), false, kNoDeadline).ok());
  auto refused = queue.Push(Upserts(1), false, kNoDeadline);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("write queue full"), std::string_view::npos);
  EXPECT_NE(refused.status().message().find("10 mutations"), std::string_view::npos);
  EXPECT_EQ(queue.queued_mutations(), 10u);
  // Room freed by the writer is given to the next one.
  EXPECT_EQ(queue.Pop(1).size(), 1u);
  EXPECT_EQ(queue.queued_mutations(), 4u);
  EXPECT_TRUE(queue.Push(Upserts(6), false, kNoDeadline).ok());
}

TEST(WriteQueueTest, BytesAreBoundedToo) {
  WriteQueueLimits limits = Limits(1000000, milliseconds(0));
  limits.max_bytes = 3 * QueuedBytes(*Upserts(10));
  WriteQueue queue(limits);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue.Push(Upserts(10), false, kNoDeadline).ok());
  EXPECT_EQ(queue.Push(Upserts(10), false, kNoDeadline).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LE(queue.queued_bytes(), limits.max_bytes);
  // Each point holds at least its 128 floats.
  EXPECT_GE(QueuedBytes(*Upserts(10)), 10 * 128 * sizeof(float));
}

// A payload update carries its patch inside `build`, not in `mutations`: its held bytes count.
TEST(WriteQueueTest, BytesHeldByBuildCount) {
  WriteQueueLimits limits = Limits(1000000, milliseconds(0));
  limits.max_bytes = 1 << 20;
  WriteQueue queue(limits);
  auto patch = [] {
    auto request = std::make_unique<WriteRequest>();
    request->build = [](const ShardState&) -> StatusOr<std::vector<Mutation>> { return std::vector<Mutation>(); };
    request->held_bytes = 600 << 10;
    return request;
  };
  ASSERT_TRUE(queue.Push(patch(), false, kNoDeadline).ok());
  EXPECT_GE(queue.queued_bytes(), size_t{600} << 10);
  EXPECT_EQ(queue.Push(patch(), false, kNoDeadline).status().code(), absl::StatusCode::kUnavailable);
}

// Room freed for a small sync write is not taken ahead of a larger one that came first.
TEST(WriteQueueTest, SyncWritersTakeRoomInArrivalOrder) {
  WriteQueue queue(Limits(10, milliseconds(0)));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.Push(Upserts(2, 10 * i), false, kNoDeadline).ok());
  std::thread large([&] { ASSERT_TRUE(queue.Push(Upserts(8, 100), true, kNoDeadline).ok()); });
  while (queue.sync_waiting() < 1) std::this_thread::yield();
  std::thread small([&] { ASSERT_TRUE(queue.Push(Upserts(2, 200), true, kNoDeadline).ok()); });
  while (queue.sync_waiting() < 2) std::this_thread::yield();
  ASSERT_EQ(queue.Pop(1).size(), 1u);  // room for 2 mutations: enough for the small one only
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(queue.sync_waiting(), 2u) << "the small write took room ahead of the large one";
  EXPECT_EQ(queue.queued_mutations(), 8u);
  ASSERT_EQ(queue.Pop(100).size(), 4u);  // the queue drains: the large one goes in, then the small one
  large.join();
  small.join();
  auto after = queue.Pop(1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]->mutations.front().record.id.num(), 100u);
}

TEST(WriteQueueTest, RequestLargerThanTheLimitIsAdmittedAloneIntoAnEmptyQueue) {
  WriteQueue queue(Limits(10, milliseconds(0)));
  ASSERT_TRUE(queue.Push(Upserts(50), false, kNoDeadline).ok());
  EXPECT_EQ(queue.Push(Upserts(1), false, kNoDeadline).status().code(), absl::StatusCode::kUnavailable);
}

TEST(WriteQueueTest, AsyncWriteWaitsForRoomUpToItsBound) {
  WriteQueue queue(Limits(1, milliseconds(10000)));
  ASSERT_TRUE(queue.Push(Upserts(1), false, kNoDeadline).ok());
  std::thread consumer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    (void)queue.Pop(1);
  });
  EXPECT_TRUE(queue.Push(Upserts(1), false, kNoDeadline).ok());  // admitted once room is freed
  consumer.join();
}

TEST(WriteQueueTest, SyncWriteGoesBeforeAsyncOnes) {
  WriteQueue queue(Limits(2, milliseconds(0)));
  ASSERT_TRUE(queue.Push(Upserts(1, 1), false, kNoDeadline).ok());
  ASSERT_TRUE(queue.Push(Upserts(1, 2), false, kNoDeadline).ok());
  Status sync_status = absl::UnknownError("not run");
  std::thread sync([&] { sync_status = queue.Push(Upserts(1, 3), true, kNoDeadline).status(); });
  while (queue.sync_waiting() == 0) std::this_thread::yield();
  // While the sync write waits, room is not given to async ones, even when there is some.
  auto popped = queue.Pop(1);
  ASSERT_EQ(popped.size(), 1u);
  EXPECT_EQ(queue.Push(Upserts(1, 4), false, kNoDeadline).status().code(),
            absl::StatusCode::kUnavailable);
  sync.join();
  EXPECT_TRUE(sync_status.ok()) << sync_status;
  auto rest = queue.Pop(10);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0]->mutations[0].record.id, PointId::Num(2));
  EXPECT_EQ(rest[1]->mutations[0].record.id, PointId::Num(3));
}

TEST(WriteQueueTest, SyncWriteGivesUpAtItsDeadlineWithNothingQueued) {
  WriteQueue queue(Limits(1, milliseconds(0)));
  ASSERT_TRUE(queue.Push(Upserts(1), false, kNoDeadline).ok());
  auto late = queue.Push(Upserts(1), true, Clock::now() + milliseconds(20));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(late.status().message().find("nothing was written"), std::string_view::npos);
  EXPECT_EQ(queue.queued_mutations(), 1u);
}

TEST(WriteQueueTest, CloseRefusesNewWritesAndDrains) {
  WriteQueue queue(Limits(10, milliseconds(0)));
  ASSERT_TRUE(queue.Push(Upserts(2), false, kNoDeadline).ok());
  queue.Close();
  EXPECT_EQ(queue.Push(Upserts(1), true, kNoDeadline).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(queue.Pop(100).size(), 1u);
  EXPECT_TRUE(queue.Pop(100).empty());
}

// A forwarded write's deadline (apply_by_unix_ms) is checked when it takes its place in the order: one
// past it is refused, unapplied; one before it is queued; none (0) never expires.
TEST(WriteQueueTest, ForwardedWritePastItsDeadlineIsRefusedWhenItWouldBeOrdered) {
  WriteQueue queue(Limits(10, milliseconds(0)));
  auto late = Upserts(1, 1);
  late->apply_by_unix_ms = WallClockUnixMs() - 1;
  auto refused = queue.Push(std::move(late), true, kNoDeadline);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsWriteNotApplied(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("after its deadline"), std::string_view::npos);
  EXPECT_EQ(queue.queued_mutations(), 0u);
  auto timely = Upserts(1, 2);
  timely->apply_by_unix_ms = WallClockUnixMs() + 60000;
  ASSERT_TRUE(queue.Push(std::move(timely), false, kNoDeadline).ok());
  ASSERT_TRUE(queue.Push(Upserts(1, 3), true, kNoDeadline).ok());  // no deadline
  auto taken = queue.Pop(100);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0]->mutations.front().record.id.num(), 2u);
  EXPECT_EQ(taken[1]->mutations.front().record.id.num(), 3u);
  EXPECT_TRUE(WithinApplyBy(0, WallClockUnixMs()));
  EXPECT_TRUE(WithinApplyBy(100, 100));
  EXPECT_FALSE(WithinApplyBy(100, 101));
}

// The check is made when the write enters the queue, not when it started waiting for room: a forwarded
// write that waited behind a full queue past its deadline is refused, and everything queued after the
// deadline is ordered after anything that passed the check.
TEST(WriteQueueTest, ForwardedWriteThatWaitedForRoomPastItsDeadlineIsRefused) {
  WriteQueue queue(Limits(2, milliseconds(0)));
  ASSERT_TRUE(queue.Push(Upserts(2, 10), false, kNoDeadline).ok());  // full
  auto forwarded = Upserts(1, 20);
  forwarded->apply_by_unix_ms = WallClockUnixMs() + 150;
  Status result;
  std::thread waiter([&] { result = queue.Push(std::move(forwarded), true, kNoDeadline).status(); });
  while (queue.sync_waiting() < 1) std::this_thread::yield();
  std::this_thread::sleep_for(milliseconds(300));  // past the deadline while it waits for room
  ASSERT_EQ(queue.Pop(100).size(), 1u);            // room: the waiter enters, and is refused
  waiter.join();
  EXPECT_TRUE(IsWriteNotApplied(result)) << result;
  EXPECT_EQ(queue.queued_mutations(), 0u);
}

}  // namespace
}  // namespace vj

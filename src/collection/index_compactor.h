// IndexCompactor: rebuilds a shard's vector indexes without their tombstones (replaced and deleted
// points) on a background thread of its own (internal to collection/), so that the shard's writer, and
// so every write, never waits for a rebuild. VectorIndex::Compact carries the writes made meanwhile
// over to the new graph and swaps it in under a short lock; searches go on throughout. The rebuild is
// in memory: a crash mid-rebuild leaves the index and its snapshot as they were.
// Thread-safety: all methods may be called from any thread. The shard's vector index map must not
// change while the compactor exists (it is fixed after the shard opens).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "collection/rebuild_slots.h"
#include "collection/shard_state.h"

namespace vj {

class IndexCompactor {
 public:
  // Compacts with `threads` threads (inserting into the new graph), each rebuild in a slot of `slots`
  // (the node-wide cap; null: none).
  IndexCompactor(ShardState& state, size_t threads, std::shared_ptr<RebuildSlots> slots = nullptr);
  ~IndexCompactor();  // Stop()

  // Starts a rebuild of every index whose tombstones exceed a fifth of its live points (at least
  // kMinTombstones), unless one is running; it then checks again when done. Cheap: call after writes.
  void Poke();
  // Blocks until no rebuild runs or is due (tests, benchmarks, before a snapshot).
  void WaitIdle();
  // Cancels a rebuild in progress (the index stays as it was) and joins the thread; Poke then does
  // nothing.
  void Stop();
  // Cancels a rebuild in progress and waits for it to end; no rebuild starts until Resume. For a caller
  // that replaces the vector indexes (Shard::UpdateIndexConfig). Pause and Resume come in pairs, from one
  // thread (the shard's writer).
  void Pause();
  void Resume();
  // Whether a rebuild runs or is due (the shard then reports status "yellow", as Qdrant does while it
  // optimizes).
  bool busy();
  // Rebuilds completed so far.
  uint64_t compactions() const { return compactions_.load(std::memory_order_relaxed); }
  // Rebuilds that failed (an error or an exception; the index stayed as it was), not counting cancels.
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

  static constexpr size_t kMinTombstones = 256;
  // The nice value of the rebuild's threads.
  static constexpr int kRebuildNice = 10;

 private:
  bool Due() const;
  void Run();

  ShardState& state_;
  const size_t threads_;
  const std::shared_ptr<RebuildSlots> slots_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> cancel_{false};
  std::atomic<uint64_t> compactions_{0};
  std::atomic<uint64_t> failures_{0};
  std::thread thread_;
};

}  // namespace vj

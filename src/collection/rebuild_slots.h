// RebuildSlots: a node-wide cap on background index rebuilds running at once. A rebuild holds a second
// copy of its graph until it swaps it in, so a node whose shards all became due together (a bulk
// overwrite) would otherwise double its index memory at once. Every shard's IndexCompactor takes a slot
// before it rebuilds (CollectionOptions::rebuild_slots, `writes.max_concurrent_rebuilds`); the others
// wait, and writes and searches go on meanwhile.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace vj {

class RebuildSlots {
 public:
  explicit RebuildSlots(size_t slots);

  // Takes a slot, waiting while all are taken. Returns false, taking none, once *cancel is set (checked
  // at least every 50 ms while waiting).
  bool Acquire(const std::atomic<bool>& cancel);
  void Release();

  size_t slots() const { return slots_; }
  // Rebuilds waiting for a slot now, and the most slots ever held at once (tests).
  size_t waiting() const;
  size_t peak() const;

 private:
  const size_t slots_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t used_ ABSL_GUARDED_BY(mu_) = 0;
  size_t waiting_ ABSL_GUARDED_BY(mu_) = 0;
  size_t peak_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vj

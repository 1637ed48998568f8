// ShardWriter: the single writer of one shard (internal to collection/). Requests wait in a bounded
// WriteQueue (collection/write_queue.h: backpressure, wait=true before wait=false); the writer thread
// takes what is queued, writes it to the PointStore as one synced batch (group commit: one fsync for
// many requests), then applies it to the in-memory ShardState in sequence order and completes the
// requests. Requests that must read the current state (payload updates, deletes by filter, payload
// index changes) run alone, after everything queued before them is applied. Rebuilding the vector
// indexes without their tombstones is left to the IndexCompactor's thread, never done here.
// Thread-safety: Submit may be called from any thread.
#pragma once

#include <deque>
#include <future>
#include <mutex>
#include <memory>
#include <thread>
#include <vector>

#include "collection/index_compactor.h"
#include "collection/index_snapshotter.h"
#include "collection/shard_state.h"
#include "collection/write_queue.h"
#include "core/status.h"

namespace vj {

class ShardWriter {
 public:
  // `compactor` (which must outlive the writer) is poked after every write, and `snapshotter` (which
  // must outlive it too, when not null) told how many mutations it applied.
  ShardWriter(ShardState& state, size_t max_batch_mutations, size_t insert_threads,
              WriteQueueLimits limits, IndexCompactor& compactor, IndexSnapshotter* snapshotter);
  ~ShardWriter();  // completes everything queued, then stops

  // Queues the request (WriteQueue::Push: `sync` for callers that wait for the result; errors when it
  // found no room); the returned future completes when it is durable and applied (or failed).
  [[nodiscard]] StatusOr<std::future<Status>> Submit(std::unique_ptr<WriteRequest> request, bool sync,
                                                     Clock::time_point deadline);

  const WriteQueue& queue() const { return queue_; }
  // The trace of the first sampled write whose log entries fall in (after, upto], as recorded by the
  // group commit before it wrote them (so a replication stream reading the log always finds it);
  // invalid when none. Remembers the latest kMaxTraced traced commits.
  TraceContext TraceOf(uint64_t after, uint64_t upto) const;

 private:
  void Run();
  void Process(std::vector<std::unique_ptr<WriteRequest>>& requests);
  // Writes the group's mutations in one batch and applies them; completes the group's requests.
  void Commit(std::vector<std::unique_ptr<WriteRequest>>& group);

  ShardState& state_;
  const size_t max_batch_mutations_;
  const size_t insert_threads_;
  IndexCompactor& compactor_;
  IndexSnapshotter* const snapshotter_;

  struct TracedCommit {
    uint64_t first = 0;  // the group's sequences, first..last
    uint64_t last = 0;
    TraceContext trace;
  };
  static constexpr size_t kMaxTraced = 64;
  mutable std::mutex traced_mu_;
  std::deque<TracedCommit> traced_;  // guarded by traced_mu_

  WriteQueue queue_;
  std::thread thread_;
};

}  // namespace vj

// WriteQueue: the bounded queue of one shard's writes (internal to collection/), between the threads
// that submit writes and the shard's writer thread, with backpressure.
//
// The queue holds at most WriteQueueLimits::max_mutations mutations and max_bytes bytes (an estimate of
// the memory the queued requests hold); one request larger than that is admitted alone into an empty
// queue, so the memory held is at most the limits plus one request (whose size the API bounds).
// Two kinds of submitters:
//  * async (wait=false: the client does not wait for the result) waits up to `full_wait` for room and is
//    then refused (Unavailable, with a retry hint), never queued past the limits;
//  * sync (wait=true, and internal writes) waits for room until its deadline, in arrival order (only
//    the oldest waiting sync request may take room, so small ones cannot starve a large one), and while
//    any sync one waits no async one is admitted: a flood of wait=false writes cannot starve a
//    wait=true one, which waits at most for the queue ahead of it to drain.
// Room is freed when the writer takes requests off the queue (its batch is bounded separately, by the
// writer's max_batch_mutations).
// Order: the writer applies requests in the order they entered the queue, and assigns their sequence
// numbers in that order, so the moment a request enters the queue (under mu_) is the moment it is
// ordered against every other write of the shard. A request with apply_by_unix_ms is refused at that
// moment, and only then, when the wall clock has passed it: the check and the ordering are one step,
// so a request that passed the check is ahead of every request queued after it, and one that did not
// is never applied (however long it waited for room before).
// Thread-safety: all methods may be called from any thread; Pop from one consumer at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "collection/shard_state.h"
#include "core/status.h"
#include "core/trace_context.h"
#include "core/wall_clock.h"

namespace vj {

struct WriteRequest {
  // Mutations known when the request is made (upserts, deletes by id).
  std::vector<Mutation> mutations;
  // For upserts: the vectors change (so the point gets new vector-index entries). False for
  // payload-only updates built from the stored record.
  bool vectors_changed = true;
  // Set for requests that read the current state: builds the mutations on the writer thread.
  std::function<StatusOr<std::vector<Mutation>>(const ShardState&)> build;
  // Set for requests that change the shard's configuration rather than its points.
  std::function<Status(ShardState&)> reconfigure;
  // As reconfigure, but called without the state lock, for long work (rebuilding vector indexes) during
  // which searches go on: the writer is the only thread that changes the state, so it may read it
  // unlocked; it takes mu exclusively for the changes readers see.
  std::function<Status(ShardState&)> rebuild;
  // Bytes held by `build`'s captures (a payload patch, replicated log entries), which the queue cannot
  // see in `mutations`: counted against the queue's byte limit all the same.
  size_t held_bytes = 0;
  // When set (> 0): the wall-clock time (unix milliseconds) after which the request must not be applied
  // (a write a peer forwarded to this primary: see WriteQueue::Push and cluster/routed_shard.h).
  int64_t apply_by_unix_ms = 0;
  // The span that queued the request (Shard::Submit's "shard.write"): the group commit that writes it
  // is recorded as its child. Invalid while tracing is off.
  TraceContext trace;
  std::promise<Status> done;
};

// Whether a request with deadline `apply_by_unix_ms` (0 = none) may still be ordered at `now_unix_ms`.
inline bool WithinApplyBy(int64_t apply_by_unix_ms, int64_t now_unix_ms) {
  return apply_by_unix_ms <= 0 || now_unix_ms <= apply_by_unix_ms;
}

// Bytes one mutation holds: its id, vectors and payload (estimated from the JSON values).
size_t QueuedBytes(const Mutation& mutation);
// Bytes a request holds while queued: its mutations and held_bytes.
size_t QueuedBytes(const WriteRequest& request);

struct WriteQueueLimits {
  size_t max_mutations = 16384;
  size_t max_bytes = size_t{64} << 20;
  // How long an async write waits for room before it is refused.
  std::chrono::milliseconds full_wait{500};
};

using Clock = std::chrono::steady_clock;

class WriteQueue {
 public:
  explicit WriteQueue(WriteQueueLimits limits) : limits_(limits) {}

  // Queues the request; the future completes when the writer has applied it (or failed). Errors,
  // with nothing queued: Unavailable when an async request found no room within full_wait (the
  // message says why and that a retry may succeed) or the queue is closed; DeadlineExceeded when a
  // sync one found none before `deadline`; Unavailable marked kWriteNotAppliedPayload when the request's
  // apply_by_unix_ms had passed when it would have been queued.
  [[nodiscard]] StatusOr<std::future<Status>> Push(std::unique_ptr<WriteRequest> request, bool sync,
                                                   Clock::time_point deadline);

  // Blocks until requests are queued or the queue is closed; takes requests in order until they hold
  // at least max_batch_mutations mutations (at least one request). Empty once closed and drained.
  std::vector<std::unique_ptr<WriteRequest>> Pop(size_t max_batch_mutations);

  // Refuses every later Push; Pop drains what is queued, then returns empty.
  void Close();

  // What is queued now (for metrics and tests).
  size_t queued_mutations() const;
  size_t queued_bytes() const;
  // Sync submitters waiting for room now.
  size_t sync_waiting() const;

 private:
  struct Entry {
    std::unique_ptr<WriteRequest> request;
    size_t mutations;
    size_t bytes;
  };
  bool HasRoom(size_t mutations, size_t bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const WriteQueueLimits limits_;

  mutable std::mutex mu_;
  std::condition_variable ready_;  // signalled when something is queued or the queue closes
  std::condition_variable room_;   // signalled when room is freed or the queue closes
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  size_t mutations_ ABSL_GUARDED_BY(mu_) = 0;
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Sync submitters waiting for room, oldest first (each by its ticket).
  std::list<uint64_t> sync_waiters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace vj

// ShardWriter: the single writer of one shard (internal to collection/). Requests are queued; the
// writer thread takes everything queued, writes it to the PointStore as one synced batch (group commit:
// one fsync for many requests), then applies it to the in-memory ShardState in sequence order and
// completes the requests. Requests that must read the current state (payload updates, deletes by filter,
// payload index changes) run alone, after everything queued before them is applied.
// Thread-safety: Submit may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "collection/shard_state.h"
#include "core/status.h"

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
  std::promise<Status> done;
};

class ShardWriter {
 public:
  ShardWriter(ShardState& state, size_t max_batch_mutations, size_t insert_threads);
  ~ShardWriter();  // completes everything queued, then stops

  // Queues the request; the returned future completes when it is durable and applied (or failed).
  std::future<Status> Submit(std::unique_ptr<WriteRequest> request);

 private:
  void Run();
  void Process(std::vector<std::unique_ptr<WriteRequest>>& requests);
  // Writes the group's mutations in one batch and applies them; completes the group's requests.
  void Commit(std::vector<std::unique_ptr<WriteRequest>>& group);
  void Apply(const std::vector<const Mutation*>& mutations, const std::vector<bool>& vectors_changed);
  // Rebuilds a vector index without its tombstones when they exceed a fifth of its live points.
  void CompactIfNeeded();

  static constexpr size_t kMinTombstonesToCompact = 256;

  ShardState& state_;
  const size_t max_batch_mutations_;
  const size_t insert_threads_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<WriteRequest>> queue_;  // guarded by mu_
  bool stopping_ = false;                            // guarded by mu_
  std::thread thread_;
};

}  // namespace vj

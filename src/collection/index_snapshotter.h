// IndexSnapshotter: decides when a shard writes its index snapshot in the background (internal to
// collection/): once `every_mutations` mutations were applied since the last snapshot, or
// `interval_s` seconds after it when at least one was, on a thread of its own, one snapshot at a time.
// A snapshot lets a shard that restarts, after kill -9 too, load its vector indexes and replay only
// the log entries written since (collection/shard_snapshot.h) instead of rebuilding them. A failed
// snapshot is logged and tried again after kRetryAfter at the earliest.
// Thread-safety: all methods may be called from any thread; `save` runs on the snapshotter's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "core/status.h"

namespace vj {

struct IndexSnapshotPolicy {
  uint64_t every_mutations = 50000;  // 0 = no snapshot by count
  uint64_t interval_s = 300;          // 0 = no snapshot by time
  bool enabled() const { return every_mutations > 0 || interval_s > 0; }
};

class IndexSnapshotter {
 public:
  // Starts the thread when the policy is enabled; `save` writes one snapshot.
  IndexSnapshotter(std::string shard_name, IndexSnapshotPolicy policy, std::function<Status()> save);
  ~IndexSnapshotter();  // Stop()

  // Counts `mutations` applied (the writer calls it after every batch). Cheap.
  void Applied(size_t mutations);
  // Waits for a snapshot in progress to end and joins the thread; later Applied calls do nothing.
  void Stop();

  // Background snapshots written, and those that failed, since the shard opened.
  uint64_t snapshots() const;
  uint64_t failures() const;

  static constexpr std::chrono::seconds kRetryAfter{10};

 private:
  bool DueLocked(std::chrono::steady_clock::time_point now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();

  // Never change after construction.
  const std::string shard_name_;
  const IndexSnapshotPolicy policy_;
  const std::function<Status()> save_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t pending_ ABSL_GUARDED_BY(mu_) = 0;  // mutations applied since the last snapshot began
  std::chrono::steady_clock::time_point last_ ABSL_GUARDED_BY(mu_);       // the last snapshot began
  std::chrono::steady_clock::time_point not_before_ ABSL_GUARDED_BY(mu_);  // after a failure
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t snapshots_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace vj

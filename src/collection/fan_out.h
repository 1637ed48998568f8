// FanOut: runs one call per shard at the same time and collects the results in shard order. The first
// call runs on the calling thread, the others on a process-wide pool, so a query over shards on other
// nodes waits for the slowest shard instead of the sum of them. Calls must not themselves fan out
// (the pool's threads would wait on each other).
// Thread-safety: FanOut may be called from any number of threads.
#pragma once

#include <functional>
#include <vector>

#include "core/status.h"

namespace vj {

// Runs fn(i) for i in [0, n) on the shared pool; returns when every task has finished.
void RunOnShardPool(size_t n, const std::function<void(size_t)>& fn);

template <typename T>
std::vector<StatusOr<T>> FanOut(size_t n, const std::function<StatusOr<T>(size_t)>& call) {
  std::vector<StatusOr<T>> results(n, absl::UnknownError("not run"));
  RunOnShardPool(n, [&](size_t i) { results[i] = call(i); });
  return results;
}

}  // namespace vj

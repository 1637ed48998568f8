// WorkerPool: the threads that run request handlers, behind a bounded queue (admission control).
//
// TrySubmit queues a task unless `max_queued` tasks are already waiting for a thread; then it returns
// false and the caller refuses the request (503 with Retry-After) instead of letting a backlog grow
// without bound: a backlog only makes every queued client wait longer, holds their bodies in memory,
// and runs work for clients that have given up by the time a thread is free.
//
// Thread-safety: TrySubmit and the counters from any thread; Join from one controlling thread (also
// called by the destructor). Tasks must not throw.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vj {

class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t max_queued);
  ~WorkerPool() { Join(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (and `task` is dropped) when max_queued tasks already wait or after Join.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);
  // Tasks waiting for a thread (not those running).
  size_t queued() const;
  // Runs every queued task, then stops and joins the threads. Idempotent.
  void Join();

 private:
  void Run();

  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace vj

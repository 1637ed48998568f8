// IoThreads: the threads that run the HTTP server's io_context, with optional busy polling.
//
// Busy polling (opt-in): after the server last ran a handler, its I/O threads keep polling the
// sockets without blocking for `busy_poll` before they sleep in epoll. A request that arrives within
// that window is picked up at once instead of waking a sleeping thread, which costs tens of
// microseconds on virtual machines (an interrupt to an idle vCPU, whose caches others have used
// meanwhile). The price is CPU time: up to `busy_poll` of every I/O thread's time after each burst of
// requests. An idle server does not spin, and a polling thread yields to any other runnable thread.
//
// The window is shared: every thread polls while the server as a whole was busy within it. Once it
// has passed, one thread (the sleeper) blocks in the io_context and the others park on a condition
// variable of ours, not in the io_context: Asio wakes a thread blocked in run_one() whenever another
// one polls, and that thread would take the reactor into a blocking epoll_wait, leaving the polling
// threads blind to the sockets. When the sleeper gets work, it wakes the parked threads to poll again.
//
// Thread-safety: Start and Join from one controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace vj {

class IoThreads {
 public:
  IoThreads(boost::asio::io_context& ioc, size_t count, std::chrono::microseconds busy_poll);
  ~IoThreads() { Join(); }
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  // Starts the threads; each runs until the io_context is stopped or runs out of work.
  void Start();
  void Join();

 private:
  void Run();
  void RunPolling();
  void NoteWork();
  // Past the window: sleeps in the io_context if no other thread does, else parks until it wakes.
  void Idle();

  boost::asio::io_context& ioc_;
  const size_t count_;
  const std::chrono::nanoseconds busy_poll_;
  std::atomic<int64_t> last_work_ns_{0};  // steady_clock, when a thread last ran a handler
  std::vector<std::thread> threads_;

  std::mutex idle_mu_;
  std::condition_variable idle_cv_;  // parked threads
  bool sleeper_ = false;             // guarded by idle_mu_: a thread is blocked in the io_context
  uint64_t wakeups_ = 0;             // guarded by idle_mu_: bumped when the sleeper returns
};

}  // namespace vj

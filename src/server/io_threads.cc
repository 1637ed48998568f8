#include "server/io_threads.h"

#include <exception>

#include <spdlog/spdlog.h>

namespace vj {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

IoThreads::IoThreads(boost::asio::io_context& ioc, size_t count, std::chrono::microseconds busy_poll)
    : ioc_(ioc), count_(std::max<size_t>(1, count)), busy_poll_(busy_poll) {}

void IoThreads::Start() {
  NoteWork();
  for (size_t i = 0; i < count_; ++i) threads_.emplace_back([this] { Run(); });
}

void IoThreads::Join() {
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void IoThreads::NoteWork() { last_work_ns_.store(NowNs(), std::memory_order_relaxed); }

void IoThreads::Run() {
  // A throwing completion handler must not take the thread (and the server) down with it.
  for (;;) {
    try {
      if (busy_poll_.count() > 0) {
        RunPolling();
      } else {
        ioc_.run();
      }
      return;
    } catch (const std::exception& e) {
      spdlog::error("HTTP I/O thread: unexpected exception: {}", e.what());
    } catch (...) {
      spdlog::error("HTTP I/O thread: unexpected exception");
    }
  }
}

void IoThreads::RunPolling() {
  // poll() runs whatever is ready, and the reactor (epoll with a zero timeout) when no other thread
  // holds it.
  while (!ioc_.stopped()) {
    if (ioc_.poll() > 0) {
      NoteWork();
    } else if (NowNs() - last_work_ns_.load(std::memory_order_relaxed) < busy_poll_.count()) {
      std::this_thread::yield();
    } else {
      Idle();
    }
  }
}

void IoThreads::Idle() {
  std::unique_lock<std::mutex> lock(idle_mu_);
  if (sleeper_) {
    const uint64_t seen = wakeups_;
    idle_cv_.wait(lock, [&] { return wakeups_ != seen; });
    return;
  }
  sleeper_ = true;
  lock.unlock();
  // Whatever happens in run_one (a handler may throw), the parked threads must be woken after it.
  struct WakeParked {
    IoThreads& self;
    ~WakeParked() {
      std::lock_guard<std::mutex> lock(self.idle_mu_);
      self.sleeper_ = false;
      ++self.wakeups_;
      self.idle_cv_.notify_all();
    }
  } wake{*this};
  if (ioc_.run_one() > 0) NoteWork();  // returns 0 once the io_context is stopped
}

}  // namespace vj

#include "collection/index_snapshotter.h"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

namespace vj {

IndexSnapshotter::IndexSnapshotter(std::string shard_name, IndexSnapshotPolicy policy,
                                   std::function<Status()> save)
    : shard_name_(std::move(shard_name)), policy_(policy), save_(std::move(save)) {
  last_ = std::chrono::steady_clock::now();
  not_before_ = last_;
  if (policy_.enabled()) thread_ = std::thread([this] { Run(); });
}

IndexSnapshotter::~IndexSnapshotter() { Stop(); }

void IndexSnapshotter::Applied(size_t mutations) {
  if (!policy_.enabled() || mutations == 0) return;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    const uint64_t before = pending_;
    pending_ += mutations;
    // The count trigger wakes the thread when it is crossed; the time trigger when the first mutation
    // arms it (the thread sleeps without a deadline while nothing is pending).
    wake = before == 0 || (policy_.every_mutations > 0 && before < policy_.every_mutations &&
                           pending_ >= policy_.every_mutations);
  }
  if (wake) cv_.notify_all();
}

void IndexSnapshotter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t IndexSnapshotter::snapshots() const {
  std::lock_guard lock(mu_);
  return snapshots_;
}

uint64_t IndexSnapshotter::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

bool IndexSnapshotter::DueLocked(std::chrono::steady_clock::time_point now) const {
  if (pending_ == 0 || now < not_before_) return false;
  if (policy_.every_mutations > 0 && pending_ >= policy_.every_mutations) return true;
  return policy_.interval_s > 0 && now >= last_ + std::chrono::seconds(policy_.interval_s);
}

void IndexSnapshotter::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    if (stopping_) return;  // Stop may have come before this thread first took mu_
    // Sleep until the time trigger or a failure's back-off can fire, or until woken.
    std::chrono::steady_clock::time_point wake = std::chrono::steady_clock::time_point::max();
    if (pending_ > 0) {
      if (policy_.interval_s > 0) wake = last_ + std::chrono::seconds(policy_.interval_s);
      if (policy_.every_mutations > 0 && pending_ >= policy_.every_mutations) wake = not_before_;
      wake = std::max(wake, not_before_);
    }
    if (wake == std::chrono::steady_clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, wake);
    }
    if (stopping_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!DueLocked(now)) continue;
    const uint64_t covered = pending_;
    pending_ = 0;  // mutations applied from now on count towards the next snapshot
    last_ = now;
    lock.unlock();
    Status status;
    try {
      status = save_();
    } catch (const std::exception& e) {  // out of memory: the shard goes on without this snapshot
      status = absl::ResourceExhaustedError(e.what());
    }
    lock.lock();
    if (status.ok()) {
      ++snapshots_;
      continue;
    }
    ++failures_;
    pending_ += covered;
    not_before_ = std::chrono::steady_clock::now() + kRetryAfter;
    spdlog::warn("shard {}: background index snapshot failed (the previous one stays; retrying in {} s): {}",
                 shard_name_, kRetryAfter.count(), StatusMessage(status));
  }
}

}  // namespace vj

#include "collection/index_compactor.h"

#include <sys/resource.h>
#include <unistd.h>

#include <exception>

#include <spdlog/spdlog.h>

namespace vj {

IndexCompactor::IndexCompactor(ShardState& state, size_t threads, std::shared_ptr<RebuildSlots> slots)
    : state_(state), threads_(threads == 0 ? 1 : threads), slots_(std::move(slots)), thread_([this] { Run(); }) {}

IndexCompactor::~IndexCompactor() { Stop(); }

bool IndexCompactor::Due() const {
  for (const auto& [name, index] : state_.vector_indexes) {
    const size_t tombstones = index->tombstone_count();
    if (tombstones >= kMinTombstones && tombstones * 5 > index->live_count()) return true;
  }
  return false;
}

void IndexCompactor::Poke() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || paused_ || running_ || poked_ || !Due()) return;
    poked_ = true;
  }
  cv_.notify_all();
}

bool IndexCompactor::busy() {
  std::lock_guard lock(mu_);
  return running_ || poked_;
}

void IndexCompactor::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || (!running_ && !poked_); });
}

void IndexCompactor::Pause() {
  std::unique_lock lock(mu_);
  paused_ = true;
  cancel_.store(true);
  cv_.wait(lock, [this] { return stopping_ || !running_; });
  cancel_.store(false);
}

void IndexCompactor::Resume() {
  {
    std::lock_guard lock(mu_);
    paused_ = false;
  }
  Poke();
}

void IndexCompactor::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cancel_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void IndexCompactor::Run() {
  // A rebuild is background work: on a busy node the writer's inserts and the searches get the CPU
  // first (Linux: the nice value is per thread, and threads the rebuild starts inherit it). Best effort.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kRebuildNice);
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || (poked_ && !paused_); });
    if (stopping_) return;
    poked_ = false;
    running_ = true;
    lock.unlock();
    bool progressed = false;
    for (auto& [name, index] : state_.vector_indexes) {
      const size_t tombstones = index->tombstone_count();
      if (tombstones < kMinTombstones || tombstones * 5 <= index->live_count()) continue;
      // A failure (the scratch vector file cannot be created, memory runs out) leaves the index as it
      // was; the next write tries again. An exception must not end the process from this thread.
      // One slot per index rebuilt: the node-wide cap counts second copies of graphs.
      if (slots_ != nullptr && !slots_->Acquire(cancel_)) break;
      Status status;
      try {
        status = index->Compact(threads_, &cancel_);
      } catch (const std::exception& e) {
        status = absl::ResourceExhaustedError(e.what());
      }
      if (slots_ != nullptr) slots_->Release();
      if (status.ok()) {
        compactions_.fetch_add(1, std::memory_order_relaxed);
        progressed = true;
      } else if (!absl::IsCancelled(status)) {
        failures_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("rebuilding vector index \"{}\" failed (it stays as it was): {}", name, StatusMessage(status));
      }
      if (cancel_.load()) break;
    }
    lock.lock();
    running_ = false;
    // Writes made during the rebuild may have made another one due.
    if (!stopping_ && progressed && Due()) poked_ = true;
    cv_.notify_all();
  }
}

}  // namespace vj

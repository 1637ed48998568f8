#include "collection/rebuild_slots.h"

#include <algorithm>
#include <chrono>

namespace vj {

RebuildSlots::RebuildSlots(size_t slots) : slots_(std::max<size_t>(1, slots)) {}

bool RebuildSlots::Acquire(const std::atomic<bool>& cancel) {
  std::unique_lock lock(mu_);
  ++waiting_;
  while (used_ >= slots_ && !cancel.load()) cv_.wait_for(lock, std::chrono::milliseconds(50));
  --waiting_;
  if (cancel.load()) return false;
  ++used_;
  peak_ = std::max(peak_, used_);
  return true;
}

void RebuildSlots::Release() {
  {
    std::lock_guard lock(mu_);
    if (used_ > 0) --used_;
  }
  cv_.notify_one();
}

size_t RebuildSlots::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

size_t RebuildSlots::peak() const {
  std::lock_guard lock(mu_);
  return peak_;
}

}  // namespace vj

#include "index/hnsw_upper.h"

#include <algorithm>

#include "core/status.h"

namespace vj::hnsw {

void UpperLinks::Reserve(size_t words) {
  VJ_CHECK(words <= kChunkWords);
  if ((size_ + 1) * 4 > slot_count() * 3) {
    // Double the table (load at most 3/4, so a look-up probes ~2.5 slots) and re-place every entry.
    const size_t count = std::max<size_t>(64, slot_count() * 2);
    std::unique_ptr<uint64_t[]> old = std::move(slots_);
    const size_t old_count = old == nullptr ? 0 : mask_ + 1;
    slots_ = std::make_unique<uint64_t[]>(count);
    std::fill(slots_.get(), slots_.get() + count, kEmpty);
    mask_ = count - 1;
    shift_ = 64 - __builtin_ctzll(count);
    for (size_t i = 0; i < old_count; ++i) {
      if (old[i] != kEmpty) Place(old[i]);
    }
  }
  if (chunks_.empty() || used_ + words > kChunkWords) {
    // Offsets are 32-bit words: 2^20 chunks of 16 KiB, 16 GiB of upper links.
    VJ_CHECK(chunks_.size() < (size_t{1} << 32) / kChunkWords);
    chunks_.push_back(std::make_unique<uint32_t[]>(kChunkWords));  // zeroed: every count starts at 0
    used_ = 0;
  }
}

void UpperLinks::Place(uint64_t slot) {
  size_t i = Hash(static_cast<uint32_t>(slot >> 32));
  while (slots_[i] != kEmpty) i = (i + 1) & mask_;
  std::atomic_ref<uint64_t>(slots_[i]).store(slot, std::memory_order_release);
}

uint32_t* UpperLinks::Add(uint32_t node, size_t words) {
  VJ_CHECK(!NeedsReserve(words));
  const uint32_t at = static_cast<uint32_t>((chunks_.size() - 1) * kChunkWords + used_);
  used_ += words;
  ++size_;
  Place((uint64_t{node} << 32) | at);
  return chunks_.back().get() + at % kChunkWords;
}

}  // namespace vj::hnsw

// UpperLinks: the neighbour lists of HNSW levels 1 and up, which only ~1/(M-1) of the nodes have.
// Each such node owns one block of level * (1 + m) words (per level: the count, then m ids), carved
// from fixed-size chunks and found through an open-addressing table keyed by node. Nodes without upper
// levels cost nothing here: a pointer or offset per node would cost every node 4-8 bytes (plus a
// malloc header per block) for the few that use it.
//
// Thread-safety: Find may run concurrently with Add (a slot is published with one release store of
// node and offset together, after its block is zeroed). Add calls must be serialized by the caller,
// and Reserve (which moves the table and may grow the chunk list) must exclude Find and Add.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace vj::hnsw {

class UpperLinks {
 public:
  // Words in one chunk: at least the largest block (kMaxLevel * (1 + 127) = 3,840 words).
  static constexpr size_t kChunkWords = 4096;

  // Whether Add(node, words) needs Reserve(words) first.
  bool NeedsReserve(size_t words) const {
    return (size_ + 1) * 4 > slot_count() * 3 || chunks_.empty() || used_ + words > kChunkWords;
  }
  // Makes room for one more block of `words` words: grows the table, starts a new chunk.
  void Reserve(size_t words);

  // Adds a zeroed block of `words` words for node and returns it. Preconditions: !NeedsReserve(words),
  // node has no block yet, words <= kChunkWords.
  uint32_t* Add(uint32_t node, size_t words);
  // Add, with Reserve first when needed; for a caller that excludes readers already (loading).
  uint32_t* AddReserving(uint32_t node, size_t words) {
    if (NeedsReserve(words)) Reserve(words);
    return Add(node, words);
  }

  // node's block, or nullptr when it has none.
  uint32_t* Find(uint32_t node) const {
    if (slots_ == nullptr) return nullptr;
    for (size_t i = Hash(node);; i = (i + 1) & mask_) {
      const uint64_t slot = std::atomic_ref<uint64_t>(slots_[i]).load(std::memory_order_acquire);
      if (slot == kEmpty) return nullptr;
      if (static_cast<uint32_t>(slot >> 32) == node) {
        const uint32_t at = static_cast<uint32_t>(slot);
        return chunks_[at / kChunkWords].get() + at % kChunkWords;
      }
    }
  }

  size_t size() const { return size_; }  // nodes with a block
  // Heap bytes held: the table, the chunks and the chunk list.
  size_t memory_bytes() const {
    return slot_count() * sizeof(uint64_t) + chunks_.size() * kChunkWords * sizeof(uint32_t) +
           chunks_.capacity() * sizeof(std::unique_ptr<uint32_t[]>);
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // node kNoNode never has a block
  size_t slot_count() const { return slots_ == nullptr ? 0 : mask_ + 1; }
  size_t Hash(uint32_t node) const { return (uint64_t{node} * 0x9E3779B97F4A7C15ull) >> shift_; }
  void Place(uint64_t slot);

  std::unique_ptr<uint64_t[]> slots_;  // node << 32 | word offset (chunk * kChunkWords + position)
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
  std::vector<std::unique_ptr<uint32_t[]>> chunks_;
  size_t used_ = 0;  // words used in the last chunk
};

}  // namespace vj::hnsw

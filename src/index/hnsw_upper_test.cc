#include "index/hnsw_upper.h"

#include <atomic>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"
#include "index/hnsw_graph.h"

namespace vj::hnsw {
namespace {

// Blocks of random sizes for scattered nodes: each is found again, zeroed when added, and disjoint
// from the others (writing every block's words leaves the others' intact), through table growths.
TEST(UpperLinksTest, BlocksAreFoundZeroedAndDisjoint) {
  UpperLinks upper;
  std::mt19937 rng(7);
  std::unordered_map<uint32_t, size_t> words;
  while (words.size() < 20000) {
    const uint32_t node = rng() % 5000000;
    if (words.count(node)) continue;
    const size_t n = (1 + rng() % 4) * 17;
    words[node] = n;
    uint32_t* block = upper.AddReserving(node, n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(block[i], 0u);
    for (size_t i = 0; i < n; ++i) block[i] = node + static_cast<uint32_t>(i);
  }
  EXPECT_EQ(upper.size(), words.size());
  for (const auto& [node, n] : words) {
    const uint32_t* block = upper.Find(node);
    ASSERT_NE(block, nullptr);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(block[i], node + i);
  }
  EXPECT_EQ(upper.Find(5000001), nullptr);
  // The table stays at most 3/4 full and the chunks are filled but for the tail of each.
  size_t total = 0;
  for (const auto& [node, n] : words) total += n;
  EXPECT_LT(upper.memory_bytes(), total * sizeof(uint32_t) * 5 / 4 + words.size() * 8 * 8 / 3 + 65536);
}

TEST(UpperLinksTest, LargestBlockFitsAChunk) {
  UpperLinks upper;
  const size_t largest = kMaxLevel * (1 + kMaxM);  // the largest block a node can need
  ASSERT_LE(largest, UpperLinks::kChunkWords);  // also a static_assert in hnsw_graph.h
  upper.AddReserving(1, 10);
  uint32_t* block = upper.AddReserving(2, largest);
  EXPECT_EQ(upper.Find(2), block);
  EXPECT_NE(upper.Find(1), nullptr);
}

// Readers look blocks up while one writer adds more, with the index's protocol: Reserve under a lock
// that readers hold shared, Add without it. A reader finds every node published before it looked.
TEST(UpperLinksTest, FindRunsConcurrentlyWithAdd) {
  UpperLinks upper;
  std::shared_mutex resize;
  constexpr uint32_t kNodes = 20000;
  std::atomic<uint32_t> published{0};
  std::thread writer([&] {
    for (uint32_t node = 0; node < kNodes; ++node) {
      const size_t words = 17 * (1 + node % 3);
      if (upper.NeedsReserve(words)) {
        std::unique_lock lock(resize);
        upper.Reserve(words);
      }
      uint32_t* block = upper.Add(node * 7, words);
      std::atomic_ref<uint32_t>(block[words - 1]).store(node, std::memory_order_relaxed);
      published.store(node + 1, std::memory_order_release);
    }
  });
  for (uint32_t n = 0; n < kNodes;) {
    n = published.load(std::memory_order_acquire);
    std::shared_lock lock(resize);
    for (uint32_t node = n % 13; node < n; node += 13) {
      const uint32_t* block = upper.Find(node * 7);
      ASSERT_NE(block, nullptr);
      const size_t words = 17 * (1 + node % 3);
      const uint32_t& last = block[words - 1];
      ASSERT_EQ(std::atomic_ref<uint32_t>(const_cast<uint32_t&>(last)).load(std::memory_order_relaxed), node);
    }
  }
  writer.join();
}

}  // namespace
}  // namespace vj::hnsw

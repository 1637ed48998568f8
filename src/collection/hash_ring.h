// HashRing: maps a point to a shard by consistent hashing, so that changing a collection's shard count
// moves only the points that must move (about 1/(n+1) of them when a shard is added).
//
// Each shard owns `virtual_nodes` tokens on a 64-bit ring (token = xxh64 of "<shard>/<vnode>"); a point
// belongs to the shard owning the first token at or after xxh64(PointId::Key()), wrapping around.
// The mapping depends only on the shard count and virtual_nodes, so every node computes the same one.
// Thread-safety: immutable after construction; all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/point_id.h"

namespace vj {

class HashRing {
 public:
  static constexpr uint32_t kDefaultVirtualNodes = 64;

  // Precondition: shards >= 1, virtual_nodes >= 1.
  explicit HashRing(uint32_t shards, uint32_t virtual_nodes = kDefaultVirtualNodes);

  uint32_t ShardOf(const PointId& id) const;
  uint32_t ShardOfHash(uint64_t hash) const;
  uint32_t shard_count() const { return shards_; }

  static uint64_t HashPointId(const PointId& id);

 private:
  uint32_t shards_;
  std::vector<std::pair<uint64_t, uint32_t>> tokens_;  // sorted by token
};

}  // namespace vj

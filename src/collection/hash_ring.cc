#include "collection/hash_ring.h"

#include <xxhash.h>

#include <algorithm>
#include <string>

#include "core/status.h"

namespace vj {
namespace {
constexpr uint64_t kSeed = 0x766a766563746f72ULL;  // "vjvector"
}  // namespace

HashRing::HashRing(uint32_t shards, uint32_t virtual_nodes) : shards_(shards) {
  VJ_CHECK(shards >= 1 && virtual_nodes >= 1);
  if (shards == 1) return;  // everything is shard 0: no tokens to build or search
  tokens_.reserve(static_cast<size_t>(shards) * virtual_nodes);
  for (uint32_t s = 0; s < shards; ++s) {
    for (uint32_t v = 0; v < virtual_nodes; ++v) {
      const std::string label = std::to_string(s) + "/" + std::to_string(v);
      tokens_.push_back({XXH64(label.data(), label.size(), kSeed), s});
    }
  }
  std::sort(tokens_.begin(), tokens_.end());
}

uint64_t HashRing::HashPointId(const PointId& id) {
  const std::string key = id.Key();
  return XXH64(key.data(), key.size(), kSeed);
}

uint32_t HashRing::ShardOfHash(uint64_t hash) const {
  if (shards_ == 1) return 0;
  auto it = std::lower_bound(tokens_.begin(), tokens_.end(), std::make_pair(hash, uint32_t{0}));
  if (it == tokens_.end()) it = tokens_.begin();
  return it->second;
}

uint32_t HashRing::ShardOf(const PointId& id) const { return ShardOfHash(HashPointId(id)); }

}  // namespace vj

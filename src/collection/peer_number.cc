#include "collection/peer_number.h"

#include <xxhash.h>

namespace vj {

uint64_t PeerNumber(std::string_view node_id) {
  constexpr uint64_t kSeed = 0x7065657269640a;  // any fixed value: the number must not change between releases
  const uint64_t h = XXH64(node_id.data(), node_id.size(), kSeed) & ((uint64_t{1} << 53) - 1);
  return h == 0 ? 1 : h;  // Qdrant's peer ids are never 0
}

}  // namespace vj

// Qdrant's integer peer_id for a VJVector node, whose own id is a name: a stable hash of the name, kept
// below 2^53 so that JSON readers that hold numbers as doubles (JavaScript) read it exactly.
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <string_view>

namespace vj {

uint64_t PeerNumber(std::string_view node_id);

}  // namespace vj

#include "core/payload_limits.h"

#include <array>
#include <string>
#include <utility>
#include <vector>

namespace vj {
namespace json = boost::json;

size_t JsonDepth(const json::value& value) {
  // (value, its depth) pairs still to visit; an explicit stack so that no input can exhaust the
  // thread's stack, whatever built the value.
  std::vector<std::pair<const json::value*, size_t>> pending{{&value, 1}};
  size_t deepest = 0;
  while (!pending.empty()) {
    auto [v, depth] = pending.back();
    pending.pop_back();
    if (const json::object* o = v->if_object()) {
      deepest = std::max(deepest, depth);
      for (const auto& kv : *o) {
        if (kv.value().is_structured()) pending.emplace_back(&kv.value(), depth + 1);
      }
    } else if (const json::array* a = v->if_array()) {
      deepest = std::max(deepest, depth);
      for (const auto& e : *a) {
        if (e.is_structured()) pending.emplace_back(&e, depth + 1);
      }
    }
  }
  return deepest;
}

size_t SerializedPayloadBytes(const Payload& payload) {
  if (payload.empty()) return 0;  // the record stores an empty payload as no text at all
  // Boost.JSON's serializer keeps its own stack (it does not recurse) and writes into our buffer.
  json::serializer serializer;
  serializer.reset(&payload);
  std::array<char, 4096> buffer;
  size_t total = 0;
  while (!serializer.done()) total += serializer.read(buffer.data(), buffer.size()).size();
  return total;
}

Status CheckPayloadLimits(const Payload& payload, std::string_view where) {
  // An object's depth is one more than its deepest member's.
  size_t depth = 1;
  for (const auto& kv : payload) {
    if (kv.value().is_structured()) depth = std::max(depth, 1 + JsonDepth(kv.value()));
  }
  if (depth > kMaxPayloadDepth) {
    return absl::InvalidArgumentError(std::string(where) + ": payload nests " + std::to_string(depth) +
                                      " levels deep, the limit is " + std::to_string(kMaxPayloadDepth));
  }
  const size_t bytes = SerializedPayloadBytes(payload);
  if (bytes > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(std::string(where) + ": payload is " + std::to_string(bytes) +
                                      " bytes as JSON, the limit is " + std::to_string(kMaxPayloadBytes));
  }
  return absl::OkStatus();
}

}  // namespace vj

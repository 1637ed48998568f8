#include "core/point_id.h"

#include <cstring>

#include "core/hex.h"

namespace vj {

PointId PointId::Num(uint64_t n) {
  PointId id;
  id.num_ = n;
  return id;
}

PointId PointId::FromUuidBytes(const std::array<uint8_t, 16>& bytes) {
  PointId id;
  id.is_uuid_ = true;
  id.uuid_ = bytes;
  return id;
}

StatusOr<PointId> PointId::ParseUuid(std::string_view text) {
  const bool dashed = text.size() == 36;
  if (!dashed && text.size() != 32) {
    return absl::InvalidArgumentError("point id must be an unsigned integer or a UUID, got \"" +
                                      std::string(text.substr(0, 64)) + "\"");
  }
  std::array<uint8_t, 16> bytes{};
  size_t nibble = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (text[i] != '-') break;
      continue;
    }
    int v = HexDigitValue(text[i]);
    if (v < 0) break;
    bytes[nibble / 2] = static_cast<uint8_t>(bytes[nibble / 2] | (nibble % 2 ? v : v << 4));
    ++nibble;
  }
  if (nibble != 32) {
    return absl::InvalidArgumentError("point id must be an unsigned integer or a UUID, got \"" +
                                      std::string(text) + "\"");
  }
  return FromUuidBytes(bytes);
}

StatusOr<PointId> PointId::FromKey(std::string_view key) {
  if (key.size() == 9 && key[0] == 'n') {
    uint64_t n = 0;
    for (int i = 1; i < 9; ++i) n = (n << 8) | static_cast<uint8_t>(key[i]);
    return Num(n);
  }
  if (key.size() == 17 && key[0] == 'u') {
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), key.data() + 1, 16);
    return FromUuidBytes(bytes);
  }
  return absl::DataLossError("malformed point key of " + std::to_string(key.size()) + " bytes");
}

std::string PointId::ToString() const {
  if (!is_uuid_) return std::to_string(num_);
  const std::string hex = HexEncode(uuid_.data(), uuid_.size());
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < hex.size(); ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(hex[i]);
  }
  return out;
}

std::string PointId::Key() const {
  std::string key;
  if (!is_uuid_) {
    key.resize(9);
    key[0] = 'n';
    for (int i = 0; i < 8; ++i) key[8 - i] = static_cast<char>((num_ >> (8 * i)) & 0xff);
  } else {
    key.resize(17);
    key[0] = 'u';
    std::memcpy(key.data() + 1, uuid_.data(), 16);
  }
  return key;
}

size_t PointId::Hash() const {
  if (!is_uuid_) return std::hash<uint64_t>()(num_);
  uint64_t a, b;
  std::memcpy(&a, uuid_.data(), 8);
  std::memcpy(&b, uuid_.data() + 8, 8);
  return std::hash<uint64_t>()(a ^ (b * 0x9E3779B97F4A7C15ULL) ^ 1);
}

}  // namespace vj

// PointId: a point's external id, an unsigned 64-bit integer or a UUID (Qdrant's ExtendedPointId).
// Ordering: all integer ids before all UUIDs; integers numerically, UUIDs by their bytes. The storage
// key encoding (Key()) sorts the same way. Thread-safety: a plain value.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

class PointId {
 public:
  PointId() = default;
  static PointId Num(uint64_t n);
  static PointId FromUuidBytes(const std::array<uint8_t, 16>& bytes);
  // Parses "8-4-4-4-12" hex UUID text (case-insensitive) or 32 hex digits. InvalidArgument otherwise.
  static StatusOr<PointId> ParseUuid(std::string_view text);
  // Inverse of Key(). DataLoss on malformed input.
  static StatusOr<PointId> FromKey(std::string_view key);

  bool is_uuid() const { return is_uuid_; }
  uint64_t num() const { return num_; }
  const std::array<uint8_t, 16>& uuid() const { return uuid_; }

  // Decimal for integers, canonical lower-case 8-4-4-4-12 for UUIDs.
  std::string ToString() const;
  // Order-preserving binary key: 'n' + 8 bytes big-endian, or 'u' + 16 bytes.
  std::string Key() const;

  friend bool operator==(const PointId& a, const PointId& b) {
    return a.is_uuid_ == b.is_uuid_ && (a.is_uuid_ ? a.uuid_ == b.uuid_ : a.num_ == b.num_);
  }
  friend bool operator<(const PointId& a, const PointId& b) {
    if (a.is_uuid_ != b.is_uuid_) return !a.is_uuid_;
    return a.is_uuid_ ? a.uuid_ < b.uuid_ : a.num_ < b.num_;
  }
  size_t Hash() const;

 private:
  bool is_uuid_ = false;
  uint64_t num_ = 0;
  std::array<uint8_t, 16> uuid_{};
};

struct PointIdHash {
  size_t operator()(const PointId& id) const { return id.Hash(); }
};

}  // namespace vj

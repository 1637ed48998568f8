// PayloadIndex: an inverted index over one payload key, created through /collections/{c}/index.
// It maps the key's values to the internal ids (uint32) of the points holding them, as Roaring bitmaps,
// so that a filter condition on the key turns into a bitmap without reading any payload.
//
// Schemas (Qdrant's field_schema): keyword (strings), integer, float, bool, uuid (strings parsed as
// UUIDs, matched as keywords), datetime (RFC 3339 strings, kept as microseconds since the epoch; they
// answer datetime ranges). Values of other JSON types under the key are ignored by the index; the
// planner only asks it about conditions it can answer exactly (Answer returns nullopt otherwise).
//
// Thread-safety: none; the owning shard guards it with its own lock (writers exclusive, readers shared).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <roaring/roaring.hh>

// Debian 12's CRoaring (0.2.66) declares Roaring in the global namespace; later releases moved it into
// namespace roaring, which is how this code names it.
namespace roaring {
using ::Roaring;
}  // namespace roaring

#include "core/payload.h"
#include "core/status.h"
#include "index/filter.h"

namespace vj {

enum class PayloadSchemaType { kKeyword, kInteger, kFloat, kBool, kUuid, kDatetime };

// Accepts "keyword", "integer", "float", "bool", "uuid", "datetime" (a string, or {"type": "..."} already unwrapped
// by the caller). InvalidArgument otherwise.
StatusOr<PayloadSchemaType> ParsePayloadSchemaType(std::string_view name);
std::string_view PayloadSchemaTypeName(PayloadSchemaType type);

class PayloadIndex {
 public:
  // key: the payload key as users write it ("a.b", "tags[]"); InvalidArgument if malformed.
  static StatusOr<std::unique_ptr<PayloadIndex>> Create(std::string key, PayloadSchemaType type);

  const std::string& key() const { return key_; }
  PayloadSchemaType type() const { return type_; }

  // Indexes the values the key reaches in payload under id. Call Remove with the same payload before
  // re-adding a changed point.
  void Add(uint32_t id, const Payload& payload);
  void Remove(uint32_t id, const Payload& payload);

  // The exact set of ids whose payload satisfies `condition` (which must be on this index's key), or
  // nullopt when this index cannot answer it exactly (e.g. a text match on a keyword index, a range on
  // a keyword index, match.except - which also matches points without the key).
  std::optional<roaring::Roaring> Answer(const FieldCondition& condition) const;

  // Whether the index keeps its values as numbers (integer, float): what range conditions and order_by
  // need.
  bool range_capable() const {
    return type_ == PayloadSchemaType::kInteger || type_ == PayloadSchemaType::kFloat;
  }
  // Calls fn(value, ids) for each distinct indexed number in ascending order (descending when asked),
  // starting at `from` inclusive when set, until fn returns false. Only range-capable indexes hold
  // numbers; on others it calls nothing.
  void ForEachNumber(bool descending, std::optional<double> from,
                     const std::function<bool(double, const roaring::Roaring&)>& fn) const;
  // Number of ids that hold at least one indexed value.
  uint64_t indexed_points() const { return all_.cardinality(); }
  size_t memory_bytes() const;

 private:
  PayloadIndex(std::string key, PayloadPath path, PayloadSchemaType type)
      : key_(std::move(key)), path_(std::move(path)), type_(type) {}

  // Fields that never change after construction.
  const std::string key_;
  const PayloadPath path_;
  const PayloadSchemaType type_;

  roaring::Roaring all_;
  std::unordered_map<std::string, roaring::Roaring> keywords_;  // keyword, uuid (canonical text)
  std::map<double, roaring::Roaring> numbers_;                  // integer, float
  roaring::Roaring true_, false_;                               // bool
};

}  // namespace vj

// PayloadIndex: an inverted index over one payload key, created through /collections/{c}/index.
// It maps the key's values to the internal ids (uint32) of the points holding them, as Roaring bitmaps,
// so that a filter condition on the key turns into a bitmap without reading any payload.
//
// Schemas (Qdrant's field_schema): keyword (strings), integer, float, bool, uuid (strings parsed as
// UUIDs, matched as keywords), datetime (RFC 3339 strings, kept as microseconds since the epoch; they
// answer datetime ranges), text (full-text: strings tokenized by the schema's params, answering
// match.text, match.text_any and, with phrase_matching, match.phrase: index/text_index.h). Values of other JSON types under the key are ignored by the index; the
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
#include "index/text_index.h"
#include "text/text_params.h"

namespace vj {

enum class PayloadSchemaType { kKeyword, kInteger, kFloat, kBool, kUuid, kDatetime, kText };

// Accepts "keyword", "integer", "float", "bool", "uuid", "datetime", "text" (a string, or {"type": "..."}
// already unwrapped by the caller). InvalidArgument otherwise.
StatusOr<PayloadSchemaType> ParsePayloadSchemaType(std::string_view name);
std::string_view PayloadSchemaTypeName(PayloadSchemaType type);

// A payload index's schema: its type, and for text its tokenizer params.
struct PayloadFieldSchema {
  PayloadFieldSchema() = default;
  PayloadFieldSchema(PayloadSchemaType t) : type(t) {}  // NOLINT: implicit, a plain type is a schema

  PayloadSchemaType type = PayloadSchemaType::kKeyword;
  text::TextIndexParams text;  // kText only

  bool operator==(const PayloadFieldSchema&) const = default;
};

// Qdrant's field_schema: "keyword", or {"type": "keyword"}, or {"type": "text", ...params}. `where`
// prefixes messages. InvalidArgument naming the field otherwise.
StatusOr<PayloadFieldSchema> ParsePayloadFieldSchema(const boost::json::value& v, std::string_view where);
// What ParsePayloadFieldSchema reads back: the type's name, or the text params' object.
boost::json::value PayloadFieldSchemaToJson(const PayloadFieldSchema& schema);
// The "params" of the schema in collection info: the text params' object, or null.
boost::json::value PayloadFieldSchemaParams(const PayloadFieldSchema& schema);

class PayloadIndex {
 public:
  // key: the payload key as users write it ("a.b", "tags[]"); InvalidArgument if malformed.
  // A text schema's params must make a tokenizer (InvalidArgument otherwise).
  static StatusOr<std::unique_ptr<PayloadIndex>> Create(std::string key, const PayloadFieldSchema& schema);

  const std::string& key() const { return key_; }
  PayloadSchemaType type() const { return type_; }
  // A text index's tokenizer when it answers `condition` (a text, text_any, or a phrase with
  // phrase_matching) on this key; nullptr otherwise. Matches uses it for points the index did not select.
  const text::Tokenizer* TextTokenizerFor(const FieldCondition& condition) const;
  // Whether point `id` satisfies a text condition this index answers (TextTokenizerFor is not null),
  // from the index alone (no payload tokenizing): what Answer would say for that point.
  bool TextConditionHolds(const FieldCondition& condition, uint32_t id) const;

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
  void AddText(uint32_t id, const Payload& payload);

  // Fields that never change after construction.
  const std::string key_;
  const PayloadPath path_;
  const PayloadSchemaType type_;

  roaring::Roaring all_;
  std::unordered_map<std::string, roaring::Roaring> keywords_;  // keyword, uuid (canonical text)
  std::map<double, roaring::Roaring> numbers_;                  // integer, float
  roaring::Roaring true_, false_;                               // bool
  std::unique_ptr<TextIndex> text_;                             // text
};

}  // namespace vj

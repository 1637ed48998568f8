// Filter: Qdrant's payload filter as a tree, and its evaluation against one point.
//
// A Filter holds `must` (all hold), `should` (at least one holds, when non-empty), `must_not` (none
// holds) and `min_should` (at least min_count of its conditions hold). A Condition is a field condition
// on a payload key (match value / any / except / text, range), is_empty, is_null, has_id, has_vector, or
// a nested Filter. Semantics follow Qdrant: a field condition holds when ANY value the key reaches (arrays are
// expanded) satisfies it; match.except holds when some value is not in the list (so ["a", "b"] passes
// except ["a"]) and is not null; a key without values (absent, null, []) matches no match condition,
// except included (as in Qdrant);
// values_count bounds the number of values the key holds; is_empty holds when the key is absent, null,
// or an empty array; is_null when the key's value is null.
// Parsing from JSON lives in api/filter_codec.h. Thread-safety: immutable after construction; Matches is
// safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include <functional>

#include <boost/json.hpp>

#include "core/payload.h"
#include "core/point_id.h"

namespace vj {

namespace text {
class Tokenizer;
}  // namespace text

struct Filter;

// A scalar value that match conditions compare with: a string, an integer or a bool (Qdrant's
// ValueVariants). Integers match JSON integers and floats with an integral value.
using MatchValue = std::variant<std::string, int64_t, bool>;

// A match list as hash sets, so that a point's value is looked up in O(1) instead of compared with each
// of thousands of values (an unindexed any of 1M values cost 34 s of CPU per query, scanned linearly).
struct MatchValueSet {
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_set<std::string, StringHash, std::equal_to<>> strings;
  std::unordered_set<int64_t> integers;
  bool has_true = false;
  bool has_false = false;
};

struct MatchCondition {
  // kText, kTextAny, kPhrase: on a key with a full-text index, the tokens of `text` against the tokens
  // of the value (all of them, any of them, consecutively: text/text_match.h); without one, as Qdrant:
  // text and phrase are a case-sensitive substring, text_any holds when any whitespace-separated word
  // of `text` is a substring.
  enum class Kind { kValue, kAny, kExcept, kText, kTextAny, kPhrase };
  Kind kind = Kind::kValue;
  std::vector<MatchValue> values;  // one for kValue; the list for kAny/kExcept
  std::string text;                // kText, kTextAny, kPhrase
};

// Numeric bounds; with `datetime` the bounds are microseconds since the epoch (UTC) of RFC 3339 strings,
// and only string values that parse as date-times are compared (core/datetime.h).
struct RangeCondition {
  std::optional<double> gt, gte, lt, lte;
  bool datetime = false;
};

// Bounds on how many values the key holds (an array counts its elements, null counts none).
struct ValuesCountCondition {
  std::optional<uint64_t> gt, gte, lt, lte;
};

// When several parts are set, all must hold; match and range must hold for the same value.
struct FieldCondition {
  std::string key;  // as the user wrote it, for messages and payload index look-ups
  PayloadPath path;
  std::optional<MatchCondition> match;
  std::optional<RangeCondition> range;
  std::optional<ValuesCountCondition> values_count;
  // match's any/except list as sets, built by IndexMatchValues for lists longer than
  // kLinearMatchValues; without it, matching compares with each value (the same answers, slower for
  // long lists). Rebuild it after changing `match`.
  std::shared_ptr<const MatchValueSet> match_set;
};

// Lists up to this long are compared value by value: faster than hashing for a handful of values.
inline constexpr size_t kLinearMatchValues = 16;
// Builds condition->match_set when its any/except list is longer than kLinearMatchValues. Call once,
// before the condition is shared (decoders do).
void IndexMatchValues(FieldCondition* condition);

struct IsEmptyCondition {
  std::string key;
  PayloadPath path;
};

struct IsNullCondition {
  std::string key;
  PayloadPath path;
};

struct HasIdCondition {
  std::vector<PointId> ids;  // sorted, unique
};

// Qdrant's has_vector: the point holds the named vector ("" = the unnamed one).
struct HasVectorCondition {
  std::string name;
};

using Condition = std::variant<FieldCondition, IsEmptyCondition, IsNullCondition, HasIdCondition,
                               std::shared_ptr<const Filter>, HasVectorCondition>;

struct MinShould {
  std::vector<Condition> conditions;
  size_t min_count = 0;
};

struct Filter {
  std::vector<Condition> must;
  std::vector<Condition> should;
  std::vector<Condition> must_not;
  std::optional<MinShould> min_should;

  bool empty() const { return must.empty() && should.empty() && must_not.empty() && !min_should; }
};

// The vector names a point holds, for has_vector (a shard lists those its vector indexes hold for the
// point). Without it has_vector matches nothing.
using VectorNames = std::vector<std::string>;

// What evaluation needs beyond the point itself.
struct MatchContext {
  const VectorNames* vectors = nullptr;  // for has_vector
  // The tokenizer of the full-text index that answers a text condition (text, text_any, phrase) on its
  // key, or nullptr to match it as a substring (no index; or phrase on an index without phrase_matching).
  std::function<const text::Tokenizer*(const FieldCondition&)> text_tokenizer;
  // Faster, when set: the point's answer to a text condition from a full-text index (nullopt when no
  // index answers it); consulted before text_tokenizer.
  std::function<std::optional<bool>(const FieldCondition&)> indexed_text;
};

// True when the point (id, payload, vectors) satisfies the filter.
bool Matches(const Filter& filter, const PointId& id, const Payload& payload,
             const VectorNames* vectors = nullptr);
bool Matches(const Filter& filter, const PointId& id, const Payload& payload, const MatchContext& context);
bool Matches(const Condition& condition, const PointId& id, const Payload& payload,
             const VectorNames* vectors = nullptr);
// True when one JSON value satisfies a field condition's match/range part (text conditions as
// substrings, or tokenized when a tokenizer is given).
bool ValueMatches(const FieldCondition& condition, const boost::json::value& value,
                  const text::Tokenizer* tokenizer = nullptr);
// What evaluating a filter needs beyond a point's id and payload, found in one walk of the filter
// (nested filters too): worked out once per query, not per point.
struct FilterNeeds {
  bool vectors = false;  // a has_vector condition: the names of the vectors the point holds
  bool text = false;     // a text, text_any or phrase condition: full-text indexes answer it
};
FilterNeeds NeedsOf(const Filter& filter);

}  // namespace vj

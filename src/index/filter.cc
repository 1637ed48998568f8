#include "index/filter.h"

#include "core/datetime.h"
#include "text/text_match.h"
#include "text/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace vj {
namespace json = boost::json;

namespace {

// Equality between a user's match value and one stored JSON value. Integers compare exactly across
// Boost.JSON's int64/uint64/double kinds; a double only equals an integer when it is integral, so that
// {"n": 3.0} matches 3 but {"n": 3.5} does not.
bool ValueEquals(const MatchValue& want, const json::value& got) {
  if (const auto* s = std::get_if<std::string>(&want)) {
    const json::string* gs = got.if_string();
    return gs != nullptr && std::string_view(*gs) == *s;
  }
  if (const auto* b = std::get_if<bool>(&want)) {
    const bool* gb = got.if_bool();
    return gb != nullptr && *gb == *b;
  }
  const int64_t n = std::get<int64_t>(want);
  if (const int64_t* gi = got.if_int64()) return *gi == n;
  if (const uint64_t* gu = got.if_uint64()) return n >= 0 && *gu == static_cast<uint64_t>(n);
  if (const double* gd = got.if_double()) {
    // Doubles at or beyond 2^63 cannot equal any int64; checking first keeps the cast defined.
    if (!std::isfinite(*gd) || std::trunc(*gd) != *gd) return false;
    if (*gd < -9223372036854775808.0 || *gd >= 9223372036854775808.0) return false;
    return static_cast<int64_t>(*gd) == n;
  }
  return false;
}

// ValueEquals(want, got) for some want in the set: the same equality, looked up by the stored value.
bool SetContains(const MatchValueSet& set, const json::value& got) {
  if (const json::string* gs = got.if_string()) return set.strings.find(std::string_view(*gs)) != set.strings.end();
  if (const bool* gb = got.if_bool()) return *gb ? set.has_true : set.has_false;
  if (const int64_t* gi = got.if_int64()) return set.integers.count(*gi) != 0;
  if (const uint64_t* gu = got.if_uint64()) {
    return *gu <= static_cast<uint64_t>(INT64_MAX) && set.integers.count(static_cast<int64_t>(*gu)) != 0;
  }
  if (const double* gd = got.if_double()) {
    if (!std::isfinite(*gd) || std::trunc(*gd) != *gd) return false;
    if (*gd < -9223372036854775808.0 || *gd >= 9223372036854775808.0) return false;
    return set.integers.count(static_cast<int64_t>(*gd)) != 0;
  }
  return false;
}

bool AnyEquals(const FieldCondition& c, const json::value& got) {
  if (c.match_set != nullptr) return SetContains(*c.match_set, got);
  for (const MatchValue& want : c.match->values) {
    if (ValueEquals(want, got)) return true;
  }
  return false;
}

std::optional<double> AsNumber(const json::value& v) {
  if (const int64_t* i = v.if_int64()) return static_cast<double>(*i);
  if (const uint64_t* u = v.if_uint64()) return static_cast<double>(*u);
  if (const double* d = v.if_double()) return *d;
  return std::nullopt;
}

bool InRange(const RangeCondition& r, double x) {
  if (r.gt && !(x > *r.gt)) return false;
  if (r.gte && !(x >= *r.gte)) return false;
  if (r.lt && !(x < *r.lt)) return false;
  if (r.lte && !(x <= *r.lte)) return false;
  return true;
}

bool CountInBounds(const ValuesCountCondition& c, uint64_t n) {
  if (c.gt && !(n > *c.gt)) return false;
  if (c.gte && !(n >= *c.gte)) return false;
  if (c.lt && !(n < *c.lt)) return false;
  if (c.lte && !(n <= *c.lte)) return false;
  return true;
}

uint64_t CountValues(const FieldCondition& c, const Payload& payload) {
  std::vector<const json::value*> values;
  CollectValues(payload, c.path, /*expand_arrays=*/false, &values);
  uint64_t n = 0;
  for (const json::value* v : values) {
    if (const json::array* arr = v->if_array()) {
      n += arr->size();
    } else if (!v->is_null()) {
      ++n;
    }
  }
  return n;
}

bool IsTextKind(MatchCondition::Kind kind) {
  return kind == MatchCondition::Kind::kText || kind == MatchCondition::Kind::kTextAny ||
         kind == MatchCondition::Kind::kPhrase;
}

text::TextQueryKind TextQueryKindOf(MatchCondition::Kind kind) {
  switch (kind) {
    case MatchCondition::Kind::kTextAny: return text::TextQueryKind::kAny;
    case MatchCondition::Kind::kPhrase: return text::TextQueryKind::kPhrase;
    default: return text::TextQueryKind::kAll;
  }
}

// A condition's query tokens, tokenized once per thread for as long as the same condition is evaluated
// (a filter is evaluated point after point).
const std::vector<std::string>& QueryTokens(const FieldCondition& c, const text::Tokenizer& tokenizer) {
  struct Cached {
    const FieldCondition* condition = nullptr;
    const text::Tokenizer* tokenizer = nullptr;
    std::string text;
    std::vector<std::string> tokens;
  };
  thread_local Cached cached;
  if (cached.condition != &c || cached.tokenizer != &tokenizer || cached.text != c.match->text) {
    cached.condition = &c;
    cached.tokenizer = &tokenizer;
    cached.text = c.match->text;
    cached.tokens.clear();
    tokenizer.QueryTokens(c.match->text, &cached.tokens);
  }
  return cached.tokens;
}

bool Contains(const json::string& s, std::string_view needle) {
  // glibc's memmem is linear in the haystack (two-way search); string_view::find is not.
  return needle.empty() || ::memmem(s.data(), s.size(), needle.data(), needle.size()) != nullptr;
}

bool TextMatches(const FieldCondition& c, const json::value& value, const text::Tokenizer* tokenizer) {
  const json::string* s = value.if_string();
  if (s == nullptr) return false;
  const MatchCondition& m = *c.match;
  if (tokenizer != nullptr) {
    const std::vector<std::string>& tokens = QueryTokens(c, *tokenizer);
    if (tokens.empty()) return false;
    thread_local std::vector<std::string> words;
    words.clear();
    tokenizer->Words(std::string_view(*s), &words);
    return text::TokensMatch(*tokenizer, TextQueryKindOf(m.kind), tokens, words);
  }
  if (m.kind != MatchCondition::Kind::kTextAny) return Contains(*s, m.text);
  // Any whitespace-separated word of the query as a substring (Qdrant without an index).
  std::string_view rest = m.text;
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(" \t\n\r\f\v");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find_first_of(" \t\n\r\f\v"), rest.size());
    if (Contains(*s, rest.substr(0, end))) return true;
    rest.remove_prefix(end);
  }
  return false;
}

bool FieldMatches(const FieldCondition& c, const Payload& payload, const MatchContext& context) {
  if (c.values_count && !CountInBounds(*c.values_count, CountValues(c, payload))) return false;
  if (!c.match && !c.range) return true;
  std::vector<const json::value*> values;
  CollectValues(payload, c.path, /*expand_arrays=*/true, &values);
  const text::Tokenizer* tokenizer = nullptr;
  if (c.match && IsTextKind(c.match->kind)) {
    if (context.indexed_text && !c.range) {
      if (std::optional<bool> holds = context.indexed_text(c)) return *holds;
    }
    if (context.text_tokenizer) tokenizer = context.text_tokenizer(c);
  }
  for (const json::value* v : values) {
    if (ValueMatches(c, *v, tokenizer)) return true;
  }
  // A key without values (absent, null, []) matches nothing, except included, as in Qdrant.
  return false;
}

bool IsEmpty(const IsEmptyCondition& c, const Payload& payload) {
  std::vector<const json::value*> values;
  CollectValues(payload, c.path, /*expand_arrays=*/false, &values);
  for (const json::value* v : values) {
    if (v->is_null()) continue;
    if (const json::array* arr = v->if_array(); arr != nullptr && arr->empty()) continue;
    return false;
  }
  return true;
}

bool IsNull(const IsNullCondition& c, const Payload& payload) {
  std::vector<const json::value*> values;
  CollectValues(payload, c.path, /*expand_arrays=*/false, &values);
  for (const json::value* v : values) {
    if (v->is_null()) return true;
  }
  return false;
}

}  // namespace

void IndexMatchValues(FieldCondition* condition) {
  condition->match_set = nullptr;
  if (!condition->match || condition->match->values.size() <= kLinearMatchValues) return;
  auto set = std::make_shared<MatchValueSet>();
  for (const MatchValue& v : condition->match->values) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      set->strings.insert(*s);
    } else if (const auto* b = std::get_if<bool>(&v)) {
      (*b ? set->has_true : set->has_false) = true;
    } else {
      set->integers.insert(std::get<int64_t>(v));
    }
  }
  condition->match_set = std::move(set);
}

bool ValueMatches(const FieldCondition& condition, const json::value& value, const text::Tokenizer* tokenizer) {
  if (condition.range) {
    std::optional<double> x;
    if (!condition.range->datetime) {
      x = AsNumber(value);
    } else if (const json::string* s = value.if_string()) {
      if (std::optional<int64_t> micros = ParseDateTimeMicros(*s)) x = static_cast<double>(*micros);
    }
    if (!x || !InRange(*condition.range, *x)) return false;
  }
  if (condition.match) {
    const MatchCondition& m = *condition.match;
    switch (m.kind) {
      case MatchCondition::Kind::kValue:
      case MatchCondition::Kind::kAny:
        return AnyEquals(condition, value);
      case MatchCondition::Kind::kExcept:
        return !value.is_null() && !AnyEquals(condition, value);
      case MatchCondition::Kind::kText:
      case MatchCondition::Kind::kTextAny:
      case MatchCondition::Kind::kPhrase:
        return TextMatches(condition, value, tokenizer);
    }
  }
  return true;
}

namespace {

bool MatchesIn(const Filter& filter, const PointId& id, const Payload& payload, const MatchContext& context);

bool MatchesIn(const Condition& condition, const PointId& id, const Payload& payload, const MatchContext& context) {
  const VectorNames* vectors = context.vectors;
  if (const auto* f = std::get_if<FieldCondition>(&condition)) return FieldMatches(*f, payload, context);
  if (const auto* e = std::get_if<IsEmptyCondition>(&condition)) return IsEmpty(*e, payload);
  if (const auto* n = std::get_if<IsNullCondition>(&condition)) return IsNull(*n, payload);
  if (const auto* h = std::get_if<HasIdCondition>(&condition)) {
    return std::binary_search(h->ids.begin(), h->ids.end(), id);
  }
  if (const auto* v = std::get_if<HasVectorCondition>(&condition)) {
    return vectors != nullptr && std::find(vectors->begin(), vectors->end(), v->name) != vectors->end();
  }
  const auto& nested = std::get<std::shared_ptr<const Filter>>(condition);
  return nested == nullptr || MatchesIn(*nested, id, payload, context);
}

bool MatchesIn(const Filter& filter, const PointId& id, const Payload& payload, const MatchContext& context) {
  for (const Condition& c : filter.must) {
    if (!MatchesIn(c, id, payload, context)) return false;
  }
  for (const Condition& c : filter.must_not) {
    if (MatchesIn(c, id, payload, context)) return false;
  }
  if (!filter.should.empty()) {
    bool any = false;
    for (const Condition& c : filter.should) {
      if (MatchesIn(c, id, payload, context)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (filter.min_should) {
    size_t hits = 0;
    for (const Condition& c : filter.min_should->conditions) {
      if (hits >= filter.min_should->min_count) break;
      if (MatchesIn(c, id, payload, context)) ++hits;
    }
    if (hits < filter.min_should->min_count) return false;
  }
  return true;
}

}  // namespace

bool Matches(const Condition& condition, const PointId& id, const Payload& payload, const VectorNames* vectors) {
  MatchContext context;
  context.vectors = vectors;
  return MatchesIn(condition, id, payload, context);
}

bool Matches(const Filter& filter, const PointId& id, const Payload& payload, const VectorNames* vectors) {
  MatchContext context;
  context.vectors = vectors;
  return MatchesIn(filter, id, payload, context);
}

bool Matches(const Filter& filter, const PointId& id, const Payload& payload, const MatchContext& context) {
  return MatchesIn(filter, id, payload, context);
}

namespace {

void AddNeeds(const Filter& filter, FilterNeeds* needs);

void AddNeeds(const std::vector<Condition>& conditions, FilterNeeds* needs) {
  for (const Condition& c : conditions) {
    if (const auto* f = std::get_if<FieldCondition>(&c)) {
      if (f->match && IsTextKind(f->match->kind)) needs->text = true;
    } else if (std::holds_alternative<HasVectorCondition>(c)) {
      needs->vectors = true;
    } else if (const auto* nested = std::get_if<std::shared_ptr<const Filter>>(&c)) {
      if (*nested != nullptr) AddNeeds(**nested, needs);
    }
  }
}

void AddNeeds(const Filter& filter, FilterNeeds* needs) {
  AddNeeds(filter.must, needs);
  AddNeeds(filter.should, needs);
  AddNeeds(filter.must_not, needs);
  if (filter.min_should) AddNeeds(filter.min_should->conditions, needs);
}

}  // namespace

FilterNeeds NeedsOf(const Filter& filter) {
  FilterNeeds needs;
  AddNeeds(filter, &needs);
  return needs;
}

}  // namespace vj

#include "index/filter.h"

#include "core/datetime.h"

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

bool FieldMatches(const FieldCondition& c, const Payload& payload) {
  if (c.values_count && !CountInBounds(*c.values_count, CountValues(c, payload))) return false;
  if (!c.match && !c.range) return true;
  std::vector<const json::value*> values;
  CollectValues(payload, c.path, /*expand_arrays=*/true, &values);
  for (const json::value* v : values) {
    if (ValueMatches(c, *v)) return true;
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

bool ValueMatches(const FieldCondition& condition, const json::value& value) {
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
      case MatchCondition::Kind::kText: {
        const json::string* s = value.if_string();
        // glibc's memmem is linear in the haystack (two-way search); string_view::find is not.
        return s != nullptr && (m.text.empty() ||
                                ::memmem(s->data(), s->size(), m.text.data(), m.text.size()) != nullptr);
      }
    }
  }
  return true;
}

bool Matches(const Condition& condition, const PointId& id, const Payload& payload, const VectorNames* vectors) {
  if (const auto* f = std::get_if<FieldCondition>(&condition)) return FieldMatches(*f, payload);
  if (const auto* e = std::get_if<IsEmptyCondition>(&condition)) return IsEmpty(*e, payload);
  if (const auto* n = std::get_if<IsNullCondition>(&condition)) return IsNull(*n, payload);
  if (const auto* h = std::get_if<HasIdCondition>(&condition)) {
    return std::binary_search(h->ids.begin(), h->ids.end(), id);
  }
  if (const auto* v = std::get_if<HasVectorCondition>(&condition)) {
    return vectors != nullptr && std::find(vectors->begin(), vectors->end(), v->name) != vectors->end();
  }
  const auto& nested = std::get<std::shared_ptr<const Filter>>(condition);
  return nested == nullptr || Matches(*nested, id, payload, vectors);
}

bool Matches(const Filter& filter, const PointId& id, const Payload& payload, const VectorNames* vectors) {
  for (const Condition& c : filter.must) {
    if (!Matches(c, id, payload, vectors)) return false;
  }
  for (const Condition& c : filter.must_not) {
    if (Matches(c, id, payload, vectors)) return false;
  }
  if (!filter.should.empty()) {
    bool any = false;
    for (const Condition& c : filter.should) {
      if (Matches(c, id, payload, vectors)) {
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
      if (Matches(c, id, payload, vectors)) ++hits;
    }
    if (hits < filter.min_should->min_count) return false;
  }
  return true;
}

}  // namespace vj

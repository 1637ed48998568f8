#include "api/filter_codec.h"

#include "core/datetime.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>

#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

// The limits of one filter and how many conditions it has so far.
struct FilterBudget {
  const FilterLimits& limits;
  size_t conditions = 0;
};

Status Bad(const std::string& where, std::string_view what) {
  return absl::InvalidArgumentError(where + ": " + std::string(what));
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Qdrant accepts null wherever an optional field may appear, meaning "not set".
const json::value* Field(const json::object& obj, std::string_view name) { return FindField(obj, name); }

// Unlike core's CheckKnownFields, lists what is accepted: filters have many near-miss spellings.
// `also_allowed` names fields accepted but left out of the message (ones that are only valid as null).
Status RejectUnknownFields(const json::object& obj, const std::string& where,
                           std::initializer_list<std::string_view> known,
                           std::initializer_list<std::string_view> also_allowed = {}) {
  for (const auto& kv : obj) {
    if (std::find(known.begin(), known.end(), kv.key()) != known.end()) continue;
    if (std::find(also_allowed.begin(), also_allowed.end(), kv.key()) != also_allowed.end()) continue;
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return Bad(where, "unknown field " + Quoted(kv.key()) + " (expected " + list + ")");
  }
  return absl::OkStatus();
}

std::optional<int64_t> AsInt64(const json::value& v) {
  if (const int64_t* i = v.if_int64()) return *i;
  if (const uint64_t* u = v.if_uint64(); u && *u <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

std::optional<uint64_t> AsUint64(const json::value& v) {
  if (const uint64_t* u = v.if_uint64()) return *u;
  if (const int64_t* i = v.if_int64(); i && *i >= 0) return static_cast<uint64_t>(*i);
  return std::nullopt;
}

StatusOr<PayloadPath> ParseKey(const json::object& obj, const std::string& where, std::string* key) {
  const json::value* v = Field(obj, "key");
  if (v == nullptr) return Bad(where + ".key", "required");
  const json::string* s = v->if_string();
  if (s == nullptr) return Bad(where + ".key", "expected a string");
  *key = std::string(*s);
  StatusOr<PayloadPath> path = ParsePayloadPath(*key);
  if (!path.ok()) return Bad(where + ".key", std::string(path.status().message()));
  return path;
}

StatusOr<MatchValue> ParseMatchValue(const json::value& v, const std::string& where) {
  if (const json::string* s = v.if_string()) return MatchValue(std::string(*s));
  if (const bool* b = v.if_bool()) return MatchValue(*b);
  if (std::optional<int64_t> n = AsInt64(v)) return MatchValue(*n);
  if (v.is_uint64()) return Bad(where, "integer out of the int64 range");
  return Bad(where, "expected a string, an integer or a bool");
}

// any/except lists are all strings or all integers, as Qdrant's AnyVariants.
StatusOr<std::vector<MatchValue>> ParseMatchList(const json::value& v, const std::string& where,
                                                 const FilterLimits& limits) {
  const json::array* arr = v.if_array();
  if (arr == nullptr) return Bad(where, "expected an array of strings or an array of integers");
  if (arr->size() > limits.max_match_values) {
    return OverLimit(where, arr->size(), "values", limits.max_match_values, "filter_match_values");
  }
  std::vector<MatchValue> out;
  out.reserve(arr->size());
  const bool strings = !arr->empty() && (*arr)[0].is_string();
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const json::value& e = (*arr)[i];
    if (strings) {
      const json::string* s = e.if_string();
      if (s == nullptr)
        return Bad(at, "expected a string like the first element (a list holds strings or integers)");
      out.emplace_back(std::string(*s));
    } else {
      std::optional<int64_t> n = AsInt64(e);
      if (!n) {
        return Bad(at, i == 0
                           ? "expected a string or an integer"
                           : "expected an integer like the first element (a list holds strings or integers)");
      }
      out.emplace_back(*n);
    }
  }
  return out;
}

StatusOr<MatchCondition> ParseMatch(const json::value& v, const std::string& where,
                                    const FilterLimits& limits) {
  const json::object* obj = v.if_object();
  constexpr std::string_view kExpected = "expected one of value, any, except, text, text_any, phrase";
  if (obj == nullptr) return Bad(where, "expected an object");
  if (obj->size() != 1) return Bad(where, std::string(kExpected) + ", exactly one");
  const auto& kv = *obj->begin();
  const std::string at = where + "." + std::string(kv.key());
  MatchCondition m;
  if (kv.key() == "value") {
    m.kind = MatchCondition::Kind::kValue;
    VJ_ASSIGN_OR_RETURN(MatchValue value, ParseMatchValue(kv.value(), at));
    m.values.push_back(std::move(value));
  } else if (kv.key() == "any" || kv.key() == "except") {
    m.kind = kv.key() == "any" ? MatchCondition::Kind::kAny : MatchCondition::Kind::kExcept;
    VJ_ASSIGN_OR_RETURN(m.values, ParseMatchList(kv.value(), at, limits));
  } else if (kv.key() == "text" || kv.key() == "text_any" || kv.key() == "phrase") {
    m.kind = kv.key() == "text"       ? MatchCondition::Kind::kText
             : kv.key() == "text_any" ? MatchCondition::Kind::kTextAny
                                      : MatchCondition::Kind::kPhrase;
    const json::string* s = kv.value().if_string();
    if (s == nullptr) return Bad(at, "expected a string");
    if (s->size() > kMaxMatchTextBytes) {
      return Bad(at, std::to_string(s->size()) + " bytes of text is over the limit of " +
                         std::to_string(kMaxMatchTextBytes) + " bytes");
    }
    m.text = std::string(*s);
  } else {
    return Bad(where, std::string(kExpected) + ", got " + Quoted(kv.key()));
  }
  return m;
}

StatusOr<RangeCondition> ParseRange(const json::value& v, const std::string& where) {
  const json::object* obj = v.if_object();
  if (obj == nullptr) return Bad(where, "expected an object");
  VJ_RETURN_IF_ERROR(RejectUnknownFields(*obj, where, {"gt", "gte", "lt", "lte"}));
  RangeCondition r;
  bool numbers = false;
  for (auto [name, slot] :
       {std::pair{"gt", &r.gt}, std::pair{"gte", &r.gte}, std::pair{"lt", &r.lt}, std::pair{"lte", &r.lte}}) {
    const json::value* b = Field(*obj, name);
    if (b == nullptr) continue;
    const std::string at = where + "." + name;
    if (const json::string* s = b->if_string()) {
      // A datetime range (RFC 3339); its bounds are all date-times.
      std::optional<int64_t> micros = ParseDateTimeMicros(*s);
      if (!micros) return Bad(at, "expected a number or an RFC 3339 datetime, got " + Quoted(*s));
      if (numbers) return Bad(at, "a range's bounds are all numbers or all datetimes");
      r.datetime = true;
      *slot = static_cast<double>(*micros);
      continue;
    }
    if (r.datetime) return Bad(at, "a range's bounds are all numbers or all datetimes");
    numbers = true;
    if (const double* d = b->if_double()) {
      *slot = *d;
    } else if (const int64_t* i = b->if_int64()) {
      *slot = static_cast<double>(*i);
    } else if (const uint64_t* u = b->if_uint64()) {
      *slot = static_cast<double>(*u);
    } else {
      return Bad(at, "expected a number");
    }
  }
  return r;
}

StatusOr<ValuesCountCondition> ParseValuesCount(const json::value& v, const std::string& where) {
  const json::object* obj = v.if_object();
  if (obj == nullptr) return Bad(where, "expected an object");
  VJ_RETURN_IF_ERROR(RejectUnknownFields(*obj, where, {"gt", "gte", "lt", "lte"}));
  ValuesCountCondition c;
  for (auto [name, slot] :
       {std::pair{"gt", &c.gt}, std::pair{"gte", &c.gte}, std::pair{"lt", &c.lt}, std::pair{"lte", &c.lte}}) {
    const json::value* b = Field(*obj, name);
    if (b == nullptr) continue;
    std::optional<uint64_t> n = AsUint64(*b);
    if (!n) return Bad(where + "." + name, "expected a non-negative integer");
    *slot = *n;
  }
  return c;
}

StatusOr<Condition> ParseFieldCondition(const json::object& obj, const std::string& where,
                                        const FilterLimits& limits) {
  for (std::string_view geo : {"geo_bounding_box", "geo_radius", "geo_polygon"}) {
    if (Field(obj, geo) != nullptr) {
      return Bad(where + "." + std::string(geo), std::string(geo) + " conditions are not supported");
    }
  }
  for (std::string_view alt : {"is_empty", "is_null"}) {
    if (Field(obj, alt) != nullptr) {
      return Bad(where + "." + std::string(alt), std::string(alt) +
                                                     " inside a field condition is not supported; use {\"" +
                                                     std::string(alt) + "\": {\"key\": ...}}");
    }
  }
  VJ_RETURN_IF_ERROR(
      RejectUnknownFields(obj, where, {"key", "match", "range", "values_count"},
                          {"geo_bounding_box", "geo_radius", "geo_polygon", "is_empty", "is_null"}));
  FieldCondition c;
  VJ_ASSIGN_OR_RETURN(c.path, ParseKey(obj, where, &c.key));
  if (const json::value* m = Field(obj, "match")) {
    VJ_ASSIGN_OR_RETURN(c.match, ParseMatch(*m, where + ".match", limits));
  }
  if (const json::value* r = Field(obj, "range")) {
    VJ_ASSIGN_OR_RETURN(c.range, ParseRange(*r, where + ".range"));
  }
  if (const json::value* n = Field(obj, "values_count")) {
    VJ_ASSIGN_OR_RETURN(c.values_count, ParseValuesCount(*n, where + ".values_count"));
  }
  IndexMatchValues(&c);
  if (!c.match && !c.range && !c.values_count) {
    return Bad(where, "expected one of match, range, values_count next to key");
  }
  return Condition(std::move(c));
}

// {"is_empty": {"key": "k"}} and {"is_null": {"key": "k"}}.
template <typename T>
StatusOr<Condition> ParseKeyOnlyCondition(const json::object& obj, const std::string& where,
                                          std::string_view name) {
  VJ_RETURN_IF_ERROR(RejectUnknownFields(obj, where, {name}));
  const std::string at = where + "." + std::string(name);
  const json::value* v = Field(obj, name);
  const json::object* inner = v == nullptr ? nullptr : v->if_object();
  if (inner == nullptr) return Bad(at, "expected an object {\"key\": ...}");
  VJ_RETURN_IF_ERROR(RejectUnknownFields(*inner, at, {"key"}));
  T c;
  VJ_ASSIGN_OR_RETURN(c.path, ParseKey(*inner, at, &c.key));
  return Condition(std::move(c));
}

StatusOr<Condition> ParseHasId(const json::object& obj, const std::string& where,
                               const FilterLimits& limits) {
  VJ_RETURN_IF_ERROR(RejectUnknownFields(obj, where, {"has_id"}));
  const std::string at = where + ".has_id";
  const json::value* v = Field(obj, "has_id");
  const json::array* arr = v == nullptr ? nullptr : v->if_array();
  if (arr == nullptr) return Bad(at, "expected an array of point ids");
  if (arr->size() > limits.max_has_id) {
    return OverLimit(at, arr->size(), "ids", limits.max_has_id, "filter_has_id");
  }
  HasIdCondition c;
  c.ids.reserve(arr->size());
  for (size_t i = 0; i < arr->size(); ++i) {
    const json::value& e = (*arr)[i];
    const std::string ei = at + "[" + std::to_string(i) + "]";
    if (std::optional<uint64_t> n = AsUint64(e)) {
      c.ids.push_back(PointId::Num(*n));
    } else if (const json::string* s = e.if_string()) {
      StatusOr<PointId> id = PointId::ParseUuid(*s);
      if (!id.ok()) return Bad(ei, "expected a UUID, got " + Quoted(*s));
      c.ids.push_back(*id);
    } else {
      return Bad(ei, "expected a non-negative integer or a UUID string");
    }
  }
  std::sort(c.ids.begin(), c.ids.end());
  c.ids.erase(std::unique(c.ids.begin(), c.ids.end()), c.ids.end());
  return Condition(std::move(c));
}

StatusOr<Filter> ParseFilterAt(const json::value& v, const std::string& where, size_t depth,
                               FilterBudget& budget);

bool IsFilterField(std::string_view k) {
  return k == "must" || k == "should" || k == "must_not" || k == "min_should";
}

StatusOr<Condition> ParseCondition(const json::value& v, const std::string& where, size_t depth,
                                   FilterBudget& budget) {
  if (++budget.conditions > budget.limits.max_conditions) {
    return OverLimit(where, budget.conditions, "conditions in the filter", budget.limits.max_conditions,
                     "filter_conditions");
  }
  const json::object* obj = v.if_object();
  if (obj == nullptr) return Bad(where, "expected a condition object");
  if (obj->contains("key")) return ParseFieldCondition(*obj, where, budget.limits);
  if (obj->contains("is_empty")) return ParseKeyOnlyCondition<IsEmptyCondition>(*obj, where, "is_empty");
  if (obj->contains("is_null")) return ParseKeyOnlyCondition<IsNullCondition>(*obj, where, "is_null");
  if (obj->contains("has_id")) return ParseHasId(*obj, where, budget.limits);
  if (obj->contains("has_vector")) {
    VJ_RETURN_IF_ERROR(RejectUnknownFields(*obj, where, {"has_vector"}));
    const json::value* name = Field(*obj, "has_vector");
    const json::string* s = name == nullptr ? nullptr : name->if_string();
    if (s == nullptr) return Bad(where + ".has_vector", "expected a vector name (a string; \"\" for the unnamed vector)");
    return Condition(HasVectorCondition{std::string(*s)});
  }
  for (std::string_view unsupported : {"nested"}) {
    if (obj->contains(unsupported)) {
      return Bad(where + "." + std::string(unsupported),
                 std::string(unsupported) + " conditions are not supported");
    }
  }
  for (const auto& kv : *obj) {
    if (!IsFilterField(kv.key())) {
      return Bad(where, "unknown condition field " + Quoted(kv.key()) +
                            " (expected key, is_empty, is_null, has_id, has_vector, or a nested filter's must, should, "
                            "must_not, min_should)");
    }
  }
  VJ_ASSIGN_OR_RETURN(Filter nested, ParseFilterAt(v, where, depth + 1, budget));
  return Condition(std::make_shared<const Filter>(std::move(nested)));
}

// must/should/must_not and min_should.conditions: one condition object or an array of them.
Status ParseConditions(const json::value& v, const std::string& where, size_t depth, bool allow_single,
                       FilterBudget& budget, std::vector<Condition>* out) {
  if (const json::array* arr = v.if_array()) {
    if (arr->size() > budget.limits.max_clause_conditions) {
      return OverLimit(where, arr->size(), "conditions", budget.limits.max_clause_conditions,
                       "filter_clause_conditions");
    }
    out->reserve(arr->size());
    for (size_t i = 0; i < arr->size(); ++i) {
      VJ_ASSIGN_OR_RETURN(Condition c,
                          ParseCondition((*arr)[i], where + "[" + std::to_string(i) + "]", depth, budget));
      out->push_back(std::move(c));
    }
    return absl::OkStatus();
  }
  if (allow_single && v.is_object()) {
    VJ_ASSIGN_OR_RETURN(Condition c, ParseCondition(v, where, depth, budget));
    out->push_back(std::move(c));
    return absl::OkStatus();
  }
  return Bad(where, allow_single ? "expected a condition object or an array of conditions"
                                 : "expected an array of conditions");
}

StatusOr<Filter> ParseFilterAt(const json::value& v, const std::string& where, size_t depth,
                               FilterBudget& budget) {
  if (depth > budget.limits.max_depth) {
    return Bad(where, "filters nested deeper than " + std::to_string(budget.limits.max_depth) +
                          " levels (setting limits.filter_depth)");
  }
  const json::object* obj = v.if_object();
  if (obj == nullptr) return Bad(where, "expected a filter object");
  VJ_RETURN_IF_ERROR(RejectUnknownFields(*obj, where, {"must", "should", "must_not", "min_should"}));
  Filter f;
  if (const json::value* c = Field(*obj, "must")) {
    VJ_RETURN_IF_ERROR(ParseConditions(*c, where + ".must", depth, true, budget, &f.must));
  }
  if (const json::value* c = Field(*obj, "should")) {
    VJ_RETURN_IF_ERROR(ParseConditions(*c, where + ".should", depth, true, budget, &f.should));
  }
  if (const json::value* c = Field(*obj, "must_not")) {
    VJ_RETURN_IF_ERROR(ParseConditions(*c, where + ".must_not", depth, true, budget, &f.must_not));
  }
  if (const json::value* ms = Field(*obj, "min_should")) {
    const std::string at = where + ".min_should";
    const json::object* mo = ms->if_object();
    if (mo == nullptr) return Bad(at, "expected an object {\"conditions\": [...], \"min_count\": n}");
    VJ_RETURN_IF_ERROR(RejectUnknownFields(*mo, at, {"conditions", "min_count"}));
    MinShould min_should;
    const json::value* conds = Field(*mo, "conditions");
    if (conds == nullptr) return Bad(at + ".conditions", "required");
    VJ_RETURN_IF_ERROR(ParseConditions(*conds, at + ".conditions", depth, false, budget,
                                       &min_should.conditions));
    const json::value* count = Field(*mo, "min_count");
    if (count == nullptr) return Bad(at + ".min_count", "required");
    std::optional<uint64_t> n = AsUint64(*count);
    if (!n) return Bad(at + ".min_count", "expected a non-negative integer");
    min_should.min_count = static_cast<size_t>(*n);
    f.min_should = std::move(min_should);
  }
  return f;
}

}  // namespace

StatusOr<Filter> ParseFilter(const json::value& json, const std::string& where, const FilterLimits& limits) {
  // "filter": null means no filter, as in Qdrant.
  if (json.is_null()) return Filter{};
  FilterBudget budget{limits};
  return ParseFilterAt(json, where, 1, budget);
}

}  // namespace vj

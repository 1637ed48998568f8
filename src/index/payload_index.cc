#include "index/payload_index.h"

#include <iterator>
#include <vector>

#include "core/datetime.h"
#include "core/point_id.h"

namespace vj {
namespace json = boost::json;

namespace {

// Integers at or beyond 2^53 in magnitude share double keys with their neighbours, so a look-up by
// exact integer value is only exact below it.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

std::optional<double> AsNumber(const json::value& v) {
  if (const int64_t* i = v.if_int64()) return static_cast<double>(*i);
  if (const uint64_t* u = v.if_uint64()) return static_cast<double>(*u);
  if (const double* d = v.if_double()) return *d;
  return std::nullopt;
}

// A datetime index's key for a value: an RFC 3339 string's microseconds since the epoch.
std::optional<double> AsDateTime(const json::value& v) {
  const json::string* s = v.if_string();
  if (s == nullptr) return std::nullopt;
  std::optional<int64_t> micros = ParseDateTimeMicros(*s);
  if (!micros) return std::nullopt;
  return static_cast<double>(*micros);
}

}  // namespace

StatusOr<PayloadSchemaType> ParsePayloadSchemaType(std::string_view name) {
  if (name == "keyword") return PayloadSchemaType::kKeyword;
  if (name == "integer") return PayloadSchemaType::kInteger;
  if (name == "float") return PayloadSchemaType::kFloat;
  if (name == "bool") return PayloadSchemaType::kBool;
  if (name == "uuid") return PayloadSchemaType::kUuid;
  if (name == "datetime") return PayloadSchemaType::kDatetime;
  return absl::InvalidArgumentError("unsupported field_schema \"" + std::string(name) +
                                    "\": expected one of keyword, integer, float, bool, uuid, datetime");
}

std::string_view PayloadSchemaTypeName(PayloadSchemaType type) {
  switch (type) {
    case PayloadSchemaType::kKeyword:
      return "keyword";
    case PayloadSchemaType::kInteger:
      return "integer";
    case PayloadSchemaType::kFloat:
      return "float";
    case PayloadSchemaType::kBool:
      return "bool";
    case PayloadSchemaType::kUuid:
      return "uuid";
    case PayloadSchemaType::kDatetime:
      return "datetime";
  }
  return "unknown";
}

StatusOr<std::unique_ptr<PayloadIndex>> PayloadIndex::Create(std::string key, PayloadSchemaType type) {
  VJ_ASSIGN_OR_RETURN(PayloadPath path, ParsePayloadPath(key));
  return std::unique_ptr<PayloadIndex>(new PayloadIndex(std::move(key), std::move(path), type));
}

namespace {

// The keyword an index stores for a string: uuid indexes store canonical UUID text so that upper- and
// lower-case spellings of one UUID meet; strings that are not UUIDs are kept as written.
std::string KeywordFor(PayloadSchemaType type, std::string_view s) {
  if (type == PayloadSchemaType::kUuid) {
    if (StatusOr<PointId> id = PointId::ParseUuid(s); id.ok()) return id->ToString();
  }
  return std::string(s);
}

}  // namespace

void PayloadIndex::Add(uint32_t id, const Payload& payload) {
  std::vector<const json::value*> values;
  CollectValues(payload, path_, /*expand_arrays=*/true, &values);
  bool indexed = false;
  for (const json::value* v : values) {
    switch (type_) {
      case PayloadSchemaType::kKeyword:
      case PayloadSchemaType::kUuid:
        if (const json::string* s = v->if_string()) {
          keywords_[KeywordFor(type_, *s)].add(id);
          indexed = true;
        }
        break;
      case PayloadSchemaType::kInteger:
      case PayloadSchemaType::kFloat:
        // Both keep every JSON number, not just integers, so that range answers equal what Matches
        // computes on the raw payload.
        if (std::optional<double> x = AsNumber(*v)) {
          numbers_[*x].add(id);
          indexed = true;
        }
        break;
      case PayloadSchemaType::kBool:
        if (const bool* b = v->if_bool()) {
          (*b ? true_ : false_).add(id);
          indexed = true;
        }
        break;
      case PayloadSchemaType::kDatetime:
        if (std::optional<double> x = AsDateTime(*v)) {
          numbers_[*x].add(id);
          indexed = true;
        }
        break;
    }
  }
  if (indexed) all_.add(id);
}

void PayloadIndex::Remove(uint32_t id, const Payload& payload) {
  std::vector<const json::value*> values;
  CollectValues(payload, path_, /*expand_arrays=*/true, &values);
  // Emptied entries are dropped so that memory and range scans track live values only.
  for (const json::value* v : values) {
    switch (type_) {
      case PayloadSchemaType::kKeyword:
      case PayloadSchemaType::kUuid:
        if (const json::string* s = v->if_string()) {
          auto it = keywords_.find(KeywordFor(type_, *s));
          if (it != keywords_.end()) {
            it->second.remove(id);
            if (it->second.isEmpty()) keywords_.erase(it);
          }
        }
        break;
      case PayloadSchemaType::kInteger:
      case PayloadSchemaType::kFloat:
        if (std::optional<double> x = AsNumber(*v)) {
          auto it = numbers_.find(*x);
          if (it != numbers_.end()) {
            it->second.remove(id);
            if (it->second.isEmpty()) numbers_.erase(it);
          }
        }
        break;
      case PayloadSchemaType::kBool:
        if (const bool* b = v->if_bool()) (*b ? true_ : false_).remove(id);
        break;
      case PayloadSchemaType::kDatetime:
        if (std::optional<double> x = AsDateTime(*v)) {
          auto it = numbers_.find(*x);
          if (it != numbers_.end()) {
            it->second.remove(id);
            if (it->second.isEmpty()) numbers_.erase(it);
          }
        }
        break;
    }
  }
  all_.remove(id);
}

std::optional<roaring::Roaring> PayloadIndex::Answer(const FieldCondition& condition) const {
  if (condition.key != key_ || condition.values_count) return std::nullopt;
  if (condition.match && condition.range) return std::nullopt;

  if (condition.range) {
    // Numeric ranges on integer and float indexes, datetime ranges on datetime indexes.
    const bool numeric = type_ == PayloadSchemaType::kInteger || type_ == PayloadSchemaType::kFloat;
    if (condition.range->datetime ? type_ != PayloadSchemaType::kDatetime : !numeric) return std::nullopt;
    const RangeCondition& r = *condition.range;
    // Start at the tighter of the two lower bounds; the loop re-checks every bound, so the answer is
    // exactly Matches' comparison on each stored number.
    auto it = numbers_.begin();
    if (r.gte) it = numbers_.lower_bound(*r.gte);
    if (r.gt) {
      auto after = numbers_.upper_bound(*r.gt);
      if (it != numbers_.end() && (after == numbers_.end() || after->first > it->first)) it = after;
    }
    roaring::Roaring out;
    for (; it != numbers_.end(); ++it) {
      const double x = it->first;
      if (r.gt && !(x > *r.gt)) continue;
      if (r.gte && !(x >= *r.gte)) continue;
      if (r.lt && !(x < *r.lt)) break;
      if (r.lte && !(x <= *r.lte)) break;
      out |= it->second;
    }
    return out;
  }

  if (!condition.match) return std::nullopt;
  const MatchCondition& m = *condition.match;
  if (m.kind != MatchCondition::Kind::kValue && m.kind != MatchCondition::Kind::kAny) return std::nullopt;

  roaring::Roaring out;
  for (const MatchValue& want : m.values) {
    switch (type_) {
      case PayloadSchemaType::kKeyword:
      case PayloadSchemaType::kUuid: {
        const auto* s = std::get_if<std::string>(&want);
        if (s == nullptr) return std::nullopt;
        auto it = keywords_.find(KeywordFor(type_, *s));
        if (it != keywords_.end()) out |= it->second;
        break;
      }
      case PayloadSchemaType::kInteger: {
        const auto* n = std::get_if<int64_t>(&want);
        if (n == nullptr) return std::nullopt;
        const double x = static_cast<double>(*n);
        if (x <= -kMaxExactInteger || x >= kMaxExactInteger) return std::nullopt;
        auto it = numbers_.find(x);
        if (it != numbers_.end()) out |= it->second;
        break;
      }
      case PayloadSchemaType::kBool: {
        const auto* b = std::get_if<bool>(&want);
        if (b == nullptr) return std::nullopt;
        out |= *b ? true_ : false_;
        break;
      }
      case PayloadSchemaType::kFloat:
      case PayloadSchemaType::kDatetime:
        return std::nullopt;
    }
  }
  return out;
}

void PayloadIndex::ForEachNumber(bool descending, std::optional<double> from,
                                 const std::function<bool(double, const roaring::Roaring&)>& fn) const {
  if (!descending) {
    for (auto it = from ? numbers_.lower_bound(*from) : numbers_.begin(); it != numbers_.end(); ++it) {
      if (!fn(it->first, it->second)) return;
    }
    return;
  }
  auto end = from ? numbers_.upper_bound(*from) : numbers_.end();
  for (auto it = std::make_reverse_iterator(end); it != numbers_.rend(); ++it) {
    if (!fn(it->first, it->second)) return;
  }
}

size_t PayloadIndex::memory_bytes() const {
  size_t bytes = sizeof(*this) + all_.getSizeInBytes() + true_.getSizeInBytes() + false_.getSizeInBytes();
  for (const auto& [k, r] : keywords_) bytes += k.capacity() + sizeof(r) + r.getSizeInBytes() + 32;
  for (const auto& [x, r] : numbers_) bytes += sizeof(x) + sizeof(r) + r.getSizeInBytes() + 32;
  return bytes;
}

}  // namespace vj

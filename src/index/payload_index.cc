#include "index/payload_index.h"

#include <iterator>
#include <vector>

#include "core/datetime.h"
#include "core/json_fields.h"
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
  if (name == "text") return PayloadSchemaType::kText;
  return absl::InvalidArgumentError("unsupported field_schema \"" + std::string(name) +
                                    "\": expected one of keyword, integer, float, bool, uuid, datetime, text");
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
    case PayloadSchemaType::kText:
      return "text";
  }
  return "unknown";
}

StatusOr<PayloadFieldSchema> ParsePayloadFieldSchema(const json::value& v, std::string_view where_view) {
  const std::string where(where_view);
  PayloadFieldSchema schema;
  const json::object* obj = v.if_object();
  std::string type_name;
  if (obj != nullptr) {
    const json::value* type = FindField(*obj, "type");
    if (type == nullptr) return absl::InvalidArgumentError(where + ".type: missing");
    VJ_ASSIGN_OR_RETURN(type_name, ReadString(*type, where + ".type"));
  } else {
    VJ_ASSIGN_OR_RETURN(type_name, ReadString(v, where));
  }
  auto type = ParsePayloadSchemaType(type_name);
  if (!type.ok()) return absl::InvalidArgumentError(where + ": " + std::string(type.status().message()));
  schema.type = *type;
  if (schema.type == PayloadSchemaType::kText && obj != nullptr) {
    VJ_ASSIGN_OR_RETURN(schema.text, text::ParseTextIndexParams(*obj, where));
  }
  return schema;
}

json::value PayloadFieldSchemaToJson(const PayloadFieldSchema& schema) {
  if (schema.type == PayloadSchemaType::kText) return text::TextIndexParamsToJson(schema.text);
  return json::value(std::string(PayloadSchemaTypeName(schema.type)));
}

json::value PayloadFieldSchemaParams(const PayloadFieldSchema& schema) {
  if (schema.type == PayloadSchemaType::kText) return text::TextIndexParamsToJson(schema.text);
  return nullptr;
}

StatusOr<std::unique_ptr<PayloadIndex>> PayloadIndex::Create(std::string key, const PayloadFieldSchema& schema) {
  VJ_ASSIGN_OR_RETURN(PayloadPath path, ParsePayloadPath(key));
  std::unique_ptr<PayloadIndex> index(new PayloadIndex(std::move(key), std::move(path), schema.type));
  if (schema.type == PayloadSchemaType::kText) {
    VJ_ASSIGN_OR_RETURN(std::shared_ptr<const text::Tokenizer> tokenizer, text::Tokenizer::Create(schema.text));
    index->text_ = std::make_unique<TextIndex>(std::move(tokenizer));
  }
  return index;
}

namespace {

std::vector<std::string_view> StringValues(const Payload& payload, const PayloadPath& path) {
  std::vector<const json::value*> values;
  CollectValues(payload, path, /*expand_arrays=*/true, &values);
  std::vector<std::string_view> strings;
  for (const json::value* v : values) {
    if (const json::string* s = v->if_string()) strings.emplace_back(s->data(), s->size());
  }
  return strings;
}

bool IsTextMatch(const FieldCondition& c) {
  return c.match && (c.match->kind == MatchCondition::Kind::kText || c.match->kind == MatchCondition::Kind::kTextAny ||
                     c.match->kind == MatchCondition::Kind::kPhrase);
}

}  // namespace

bool PayloadIndex::TextConditionHolds(const FieldCondition& condition, uint32_t id) const {
  // The query's tokens, once per thread while the same condition is evaluated point after point.
  struct Cached {
    const PayloadIndex* index = nullptr;
    const FieldCondition* condition = nullptr;
    std::string text;
    std::vector<std::string> tokens;
  };
  thread_local Cached cached;
  if (cached.index != this || cached.condition != &condition || cached.text != condition.match->text) {
    cached.index = this;
    cached.condition = &condition;
    cached.text = condition.match->text;
    cached.tokens.clear();
    text_->tokenizer().QueryTokens(condition.match->text, &cached.tokens);
  }
  const MatchCondition::Kind k = condition.match->kind;
  const text::TextQueryKind kind = k == MatchCondition::Kind::kText      ? text::TextQueryKind::kAll
                                   : k == MatchCondition::Kind::kTextAny ? text::TextQueryKind::kAny
                                                                         : text::TextQueryKind::kPhrase;
  return text_->Contains(kind, cached.tokens, id);
}

const text::Tokenizer* PayloadIndex::TextTokenizerFor(const FieldCondition& condition) const {
  if (text_ == nullptr || condition.key != key_ || !IsTextMatch(condition)) return nullptr;
  if (condition.match->kind == MatchCondition::Kind::kPhrase && !text_->tokenizer().params().phrase_matching) {
    return nullptr;
  }
  return &text_->tokenizer();
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
  if (text_ != nullptr) {
    std::vector<std::string_view> strings = StringValues(payload, path_);
    if (strings.empty()) return;
    text_->Add(id, strings);
    all_.add(id);
    return;
  }
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
      case PayloadSchemaType::kText:
        break;  // text_ holds them
    }
  }
  if (indexed) all_.add(id);
}

void PayloadIndex::Remove(uint32_t id, const Payload& payload) {
  if (text_ != nullptr) {
    text_->Remove(id, StringValues(payload, path_));
    all_.remove(id);
    return;
  }
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
      case PayloadSchemaType::kText:
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
  if (IsTextMatch(condition)) {
    if (TextTokenizerFor(condition) == nullptr) return std::nullopt;
    const text::TextQueryKind kind = m.kind == MatchCondition::Kind::kText      ? text::TextQueryKind::kAll
                                     : m.kind == MatchCondition::Kind::kTextAny ? text::TextQueryKind::kAny
                                                                                : text::TextQueryKind::kPhrase;
    return text_->Answer(kind, m.text);
  }
  if (text_ != nullptr) return std::nullopt;
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
      case PayloadSchemaType::kText:
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
  if (text_ != nullptr) bytes += text_->memory_bytes();
  return bytes;
}

}  // namespace vj

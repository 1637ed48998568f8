#include "api/wire_codec.h"

#include "api/aggregation_codec.h"
#include "core/datetime.h"

#include <cmath>
#include <limits>
#include <memory>
#include <variant>

#include "api/point_codec.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

// Every float32 converts exactly to a double, and JSON numbers carry doubles without loss (Boost.JSON
// writes the shortest text that parses back to the same double), so the reader's cast gives back the
// same float.
json::array FloatsToJson(const std::vector<float>& values) {
  json::array out;
  out.reserve(values.size());
  for (float f : values) out.emplace_back(static_cast<double>(f));
  return out;
}

json::array IdsToJson(const std::vector<PointId>& ids) {
  json::array out;
  out.reserve(ids.size());
  for (const PointId& id : ids) out.push_back(PointIdToJson(id));
  return out;
}

json::array StringsToJson(const std::vector<std::string>& strings) {
  json::array out;
  out.reserve(strings.size());
  for (const std::string& s : strings) out.emplace_back(s);
  return out;
}

std::string PathToString(const PayloadPath& path) { return FormatPayloadPath(path); }

std::string KeyOf(const std::string& key, const PayloadPath& path) {
  return key.empty() ? PathToString(path) : key;
}

json::value MatchValueToJson(const MatchValue& value) {
  return std::visit([](const auto& v) { return json::value(v); }, value);
}

json::object MatchToJson(const MatchCondition& match) {
  auto list = [&match] {
    json::array out;
    out.reserve(match.values.size());
    for (const MatchValue& v : match.values) out.push_back(MatchValueToJson(v));
    return out;
  };
  switch (match.kind) {
    case MatchCondition::Kind::kValue:
      // A kValue match holds one value; an empty one cannot come from the parser.
      return {{"value", match.values.empty() ? json::value() : MatchValueToJson(match.values[0])}};
    case MatchCondition::Kind::kAny:
      return {{"any", list()}};
    case MatchCondition::Kind::kExcept:
      return {{"except", list()}};
    case MatchCondition::Kind::kText:
      return {{"text", match.text}};
    case MatchCondition::Kind::kTextAny:
      return {{"text_any", match.text}};
    case MatchCondition::Kind::kPhrase:
      return {{"phrase", match.text}};
  }
  return {};
}

template <typename Bounds>
json::object BoundsToJson(const Bounds& b) {
  json::object out;
  if (b.gt) out["gt"] = *b.gt;
  if (b.gte) out["gte"] = *b.gte;
  if (b.lt) out["lt"] = *b.lt;
  if (b.lte) out["lte"] = *b.lte;
  return out;
}

json::value ConditionToJson(const Condition& condition);

json::array ConditionsToJson(const std::vector<Condition>& conditions) {
  json::array out;
  out.reserve(conditions.size());
  for (const Condition& c : conditions) out.push_back(ConditionToJson(c));
  return out;
}

json::object FilterToObject(const Filter& filter) {
  json::object out;
  if (!filter.must.empty()) out["must"] = ConditionsToJson(filter.must);
  if (!filter.should.empty()) out["should"] = ConditionsToJson(filter.should);
  if (!filter.must_not.empty()) out["must_not"] = ConditionsToJson(filter.must_not);
  if (filter.min_should) {
    out["min_should"] = json::object{{"conditions", ConditionsToJson(filter.min_should->conditions)},
                                     {"min_count", static_cast<uint64_t>(filter.min_should->min_count)}};
  }
  return out;
}

json::value ConditionToJson(const Condition& condition) {
  if (const auto* f = std::get_if<FieldCondition>(&condition)) {
    json::object out{{"key", KeyOf(f->key, f->path)}};
    if (f->match) out["match"] = MatchToJson(*f->match);
    if (f->range && f->range->datetime) {
      json::object bounds;
      for (auto [name, slot] : {std::pair{"gt", &f->range->gt}, std::pair{"gte", &f->range->gte},
                                std::pair{"lt", &f->range->lt}, std::pair{"lte", &f->range->lte}}) {
        if (*slot) bounds[name] = FormatDateTimeMicros(static_cast<int64_t>(**slot));
      }
      out["range"] = std::move(bounds);
    } else if (f->range) {
      out["range"] = BoundsToJson(*f->range);
    }
    if (f->values_count) out["values_count"] = BoundsToJson(*f->values_count);
    return out;
  }
  if (const auto* c = std::get_if<IsEmptyCondition>(&condition)) {
    return json::object{{"is_empty", json::object{{"key", KeyOf(c->key, c->path)}}}};
  }
  if (const auto* c = std::get_if<IsNullCondition>(&condition)) {
    return json::object{{"is_null", json::object{{"key", KeyOf(c->key, c->path)}}}};
  }
  if (const auto* c = std::get_if<HasIdCondition>(&condition)) {
    return json::object{{"has_id", IdsToJson(c->ids)}};
  }
  if (const auto* c = std::get_if<HasVectorCondition>(&condition)) {
    return json::object{{"has_vector", c->name}};
  }
  // A nested filter; an empty one ({}) matches every point, as a null pointer would.
  const auto& nested = std::get<std::shared_ptr<const Filter>>(condition);
  return nested ? FilterToObject(*nested) : json::object();
}

void AddSelector(const PointSelector& selector, json::object* body) {
  if (selector.filter) {
    (*body)["filter"] = FilterToJson(*selector.filter);
  } else {
    (*body)["points"] = IdsToJson(selector.ids);
  }
}

StatusOr<PointView> ParsePointViewAt(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  // "version", "shard_key" and "order_value" are fields of Qdrant's answers that a PointView does not
  // keep; accepting them keeps a peer's well-formed answer readable.
  VJ_RETURN_IF_ERROR(CheckKnownFields(
      *obj, {"id", "payload", "vector", "score", "version", "shard_key", "order_value"}, where));
  const std::string at = where.empty() ? "" : where + ".";
  PointView view;
  const json::value* id = FindField(*obj, "id");
  if (id == nullptr) return absl::InvalidArgumentError(at + "id: missing");
  VJ_ASSIGN_OR_RETURN(view.id, ParsePointId(*id, at + "id"));
  if (const json::value* payload = FindField(*obj, "payload")) {
    VJ_ASSIGN_OR_RETURN(const json::object* p, ReadObject(*payload, at + "payload"));
    view.payload = *p;
  }
  if (const json::value* vector = FindField(*obj, "vector")) {
    VJ_RETURN_IF_ERROR(ParsePointVectors(*vector, at + "vector", kMaxSparseNnzHardLimit, &view.vectors, &view.sparse));
  }
  if (const json::value* order_value = FindField(*obj, "order_value")) {
    VJ_ASSIGN_OR_RETURN(view.order_value, ReadNumber(*order_value, at + "order_value"));
  }
  if (const json::value* score = FindField(*obj, "score")) {
    VJ_ASSIGN_OR_RETURN(double s, ReadNumber(*score, at + "score"));
    constexpr double kMax = std::numeric_limits<float>::max();
    if (s > kMax || s < -kMax) {
      return absl::InvalidArgumentError(at + "score: out of float32 range");
    }
    view.score = static_cast<float>(s);
  }
  if (const json::value* version = FindField(*obj, "version")) {
    VJ_RETURN_IF_ERROR(ReadUint(*version, at + "version").status());
  }
  return view;
}

StatusOr<std::vector<PointView>> ParsePointViewsAt(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(v, where));
  std::vector<PointView> out;
  out.reserve(arr->size());
  for (size_t i = 0; i < arr->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(PointView view, ParsePointViewAt((*arr)[i], where + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace

json::value FilterToJson(const Filter& filter) { return FilterToObject(filter); }

json::value PayloadSelectorToJson(const PayloadSelector& selector) {
  switch (selector.mode) {
    case PayloadSelector::Mode::kNone:
      return false;
    case PayloadSelector::Mode::kAll:
      return true;
    case PayloadSelector::Mode::kInclude:
      return json::object{{"include", StringsToJson(selector.keys)}};
    case PayloadSelector::Mode::kExclude:
      return json::object{{"exclude", StringsToJson(selector.keys)}};
  }
  return false;
}

json::value VectorSelectorToJson(const VectorSelector& selector) {
  if (selector.all) return true;
  if (selector.names.empty()) return false;
  return StringsToJson(selector.names);
}

json::object UpsertBody(const std::vector<PointInput>& points) {
  json::array out;
  out.reserve(points.size());
  for (const PointInput& p : points) {
    out.push_back(json::object{
        {"id", PointIdToJson(p.id)}, {"vector", PointVectorsToJson(p.vectors, p.sparse)}, {"payload", p.payload}});
  }
  return {{"points", std::move(out)}};
}

json::object UpdateVectorsBody(const std::vector<PointInput>& points) {
  json::array out;
  out.reserve(points.size());
  for (const PointInput& p : points) {
    out.push_back(json::object{{"id", PointIdToJson(p.id)}, {"vector", PointVectorsToJson(p.vectors, p.sparse)}});
  }
  return {{"points", std::move(out)}};
}

json::object DeleteVectorsBody(const PointSelector& selector, const std::vector<std::string>& names) {
  json::object body{{"vector", StringsToJson(names)}};
  AddSelector(selector, &body);
  return body;
}

json::object SelectorBody(const PointSelector& selector) {
  json::object body;
  AddSelector(selector, &body);
  return body;
}

json::object PayloadBody(PayloadUpdate op, const PointSelector& selector, const Payload& payload,
                         const std::vector<std::string>& keys, const std::optional<std::string>& key) {
  json::object body;
  switch (op) {
    case PayloadUpdate::kSet:
    case PayloadUpdate::kOverwrite:
      body["payload"] = payload;
      if (key) body["key"] = *key;
      break;
    case PayloadUpdate::kDeleteKeys:
      body["keys"] = StringsToJson(keys);
      break;
    case PayloadUpdate::kClear:
      break;
  }
  AddSelector(selector, &body);
  return body;
}

json::object RetrieveBody(const std::vector<PointId>& ids, const PayloadSelector& with_payload,
                          const VectorSelector& with_vector) {
  return {{"ids", IdsToJson(ids)},
          {"with_payload", PayloadSelectorToJson(with_payload)},
          {"with_vector", VectorSelectorToJson(with_vector)}};
}

json::object ScrollBody(const ScrollRequest& request) {
  json::object body{{"limit", static_cast<uint64_t>(request.limit)},
                    {"with_payload", PayloadSelectorToJson(request.with_payload)},
                    {"with_vector", VectorSelectorToJson(request.with_vector)}};
  if (request.offset) body["offset"] = PointIdToJson(*request.offset);
  if (request.filter) body["filter"] = FilterToJson(*request.filter);
  if (request.order_by) body["order_by"] = OrderByToJson(*request.order_by);
  return body;
}

json::object CountBody(const std::optional<Filter>& filter, bool exact) {
  json::object body{{"exact", exact}};
  if (filter) body["filter"] = FilterToJson(*filter);
  return body;
}

namespace {

// The "query" of QueryBody: the vector, or a query over raw example vectors.
json::value QueryToJson(const QueryRequest& request) {
  if (request.sparse_vector) return SparseVectorToJson(*request.sparse_vector);
  if (!request.examples) return FloatsToJson(request.vector);
  const ExampleScoring& r = *request.examples;
  auto vectors = [](const std::vector<std::vector<float>>& vs) {
    json::array out;
    for (const auto& v : vs) out.push_back(FloatsToJson(v));
    return out;
  };
  auto pairs = [&r] {
    json::array out;
    for (size_t i = 0; i < r.positive.size() && i < r.negative.size(); ++i) {
      out.push_back(json::object{{"positive", FloatsToJson(r.positive[i])}, {"negative", FloatsToJson(r.negative[i])}});
    }
    return out;
  };
  switch (r.strategy) {
    case ExampleScoring::Strategy::kDiscover:
      return json::object{{"discover", json::object{{"target", FloatsToJson(r.target)}, {"context", pairs()}}}};
    case ExampleScoring::Strategy::kContext:
      return json::object{{"context", pairs()}};
    case ExampleScoring::Strategy::kBestScore:
    case ExampleScoring::Strategy::kSumScores:
      break;
  }
  return json::object{
      {"recommend",
       json::object{{"positive", vectors(r.positive)},
                    {"negative", vectors(r.negative)},
                    {"strategy", r.strategy == ExampleScoring::Strategy::kBestScore ? "best_score" : "sum_scores"}}}};
}

}  // namespace

json::object QueryBody(const QueryRequest& request) {
  json::object body{{"query", QueryToJson(request)},
                    {"limit", static_cast<uint64_t>(request.limit)},
                    {"offset", static_cast<uint64_t>(request.offset)},
                    {"with_payload", PayloadSelectorToJson(request.with_payload)},
                    {"with_vector", VectorSelectorToJson(request.with_vector)}};
  if (!request.using_vector.empty()) body["using"] = request.using_vector;
  if (request.filter) body["filter"] = FilterToJson(*request.filter);
  if (request.score_threshold) body["score_threshold"] = static_cast<double>(*request.score_threshold);
  json::object params{
      {"exact", request.exact},
      {"quantization", json::object{{"ignore", request.ignore_quantization},
                                    {"rescore", request.rescore},
                                    {"oversampling", static_cast<double>(request.oversampling)}}}};
  if (request.hnsw_ef != 0) params["hnsw_ef"] = static_cast<uint64_t>(request.hnsw_ef);
  body["params"] = std::move(params);
  return body;
}

StatusOr<PointView> ParsePointView(const json::value& v) { return ParsePointViewAt(v, "point"); }

StatusOr<std::vector<PointView>> ParsePointViews(const json::value& v) {
  return ParsePointViewsAt(v, "points");
}

StatusOr<ScrollResult> ParseScrollResult(const json::value& v) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, "scroll result"));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"points", "next_page_offset"}, "scroll result"));
  ScrollResult result;
  const json::value* points = FindField(*obj, "points");
  if (points == nullptr) return absl::InvalidArgumentError("points: missing");
  VJ_ASSIGN_OR_RETURN(result.points, ParsePointViewsAt(*points, "points"));
  if (const json::value* next = FindField(*obj, "next_page_offset")) {
    VJ_ASSIGN_OR_RETURN(result.next_page_offset, ParsePointId(*next, "next_page_offset"));
  }
  return result;
}

}  // namespace vj

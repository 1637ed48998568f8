#include "grpc/proto_codec.h"

#include <cmath>
#include <limits>

#include "core/payload.h"
#include "core/payload_limits.h"

namespace vj {
namespace json = boost::json;

namespace {

Status Bad(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(where + ": " + what);
}

std::string At(const std::string& where, size_t i) { return where + "[" + std::to_string(i) + "]"; }
std::string Dot(const std::string& prefix, const std::string& field) {
  return prefix.empty() ? field : prefix + "." + field;
}

// The JSON path refuses what float32 cannot hold; protobuf floats are float32 already, but may be NaN
// or infinite.
template <typename Floats>
StatusOr<std::vector<float>> FiniteFloats(const Floats& values, const std::string& where) {
  std::vector<float> out(values.begin(), values.end());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return Bad(At(where, i), "expected a finite number");
  }
  return out;
}

StatusOr<SparseVector> SparseFromProto(const google::protobuf::RepeatedField<uint32_t>& indices,
                                       const google::protobuf::RepeatedField<float>& values,
                                       const std::string& where, size_t max_nnz) {
  SparseVector v;
  v.indices.assign(indices.begin(), indices.end());
  VJ_ASSIGN_OR_RETURN(v.values, FiniteFloats(values, where + ".values"));
  VJ_RETURN_IF_ERROR(ValidateSparseVector(v, max_nnz, where));
  CanonicalizeSparseVector(&v);
  return v;
}

StatusOr<json::value> ValueFromProto(const qdrant::Value& v, const std::string& where, size_t depth) {
  if (depth > kMaxPayloadDepth) {
    return Bad(where, "nests deeper than " + std::to_string(kMaxPayloadDepth) + " levels");
  }
  switch (v.kind_case()) {
    case qdrant::Value::kNullValue:
    case qdrant::Value::KIND_NOT_SET:
      return json::value(nullptr);
    case qdrant::Value::kDoubleValue:
      if (!std::isfinite(v.double_value())) return Bad(where, "expected a finite number");
      return json::value(v.double_value());
    case qdrant::Value::kIntegerValue:
      return json::value(v.integer_value());
    case qdrant::Value::kStringValue:
      return json::value(v.string_value());
    case qdrant::Value::kBoolValue:
      return json::value(v.bool_value());
    case qdrant::Value::kStructValue: {
      json::object obj;
      for (const auto& [key, field] : v.struct_value().fields()) {
        VJ_ASSIGN_OR_RETURN(obj[key], ValueFromProto(field, where + "." + key, depth + 1));
      }
      return json::value(std::move(obj));
    }
    case qdrant::Value::kListValue: {
      json::array arr;
      arr.reserve(v.list_value().values_size());
      for (int i = 0; i < v.list_value().values_size(); ++i) {
        VJ_ASSIGN_OR_RETURN(json::value item, ValueFromProto(v.list_value().values(i), At(where, i), depth + 1));
        arr.push_back(std::move(item));
      }
      return json::value(std::move(arr));
    }
  }
  return Bad(where, "unknown value kind");
}

void ValueToProto(const json::value& v, qdrant::Value* out) {
  switch (v.kind()) {
    case json::kind::null: out->set_null_value(qdrant::NULL_VALUE); break;
    case json::kind::bool_: out->set_bool_value(v.get_bool()); break;
    case json::kind::int64: out->set_integer_value(v.get_int64()); break;
    case json::kind::uint64:
      // Qdrant's integers are int64; larger ones are sent as doubles, as its JSON would round them.
      if (v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        out->set_integer_value(static_cast<int64_t>(v.get_uint64()));
      } else {
        out->set_double_value(static_cast<double>(v.get_uint64()));
      }
      break;
    case json::kind::double_: out->set_double_value(v.get_double()); break;
    case json::kind::string: out->set_string_value(std::string(v.get_string())); break;
    case json::kind::array: {
      qdrant::ListValue* list = out->mutable_list_value();
      for (const json::value& item : v.get_array()) ValueToProto(item, list->add_values());
      break;
    }
    case json::kind::object: {
      auto* fields = out->mutable_struct_value()->mutable_fields();
      for (const auto& kv : v.get_object()) ValueToProto(kv.value(), &(*fields)[std::string(kv.key())]);
      break;
    }
  }
}

// The filter's budget: conditions in the whole filter, as the JSON decoder counts them.
struct FilterBudget {
  const FilterLimits& limits;
  size_t conditions = 0;
};

StatusOr<Filter> FilterAt(const qdrant::Filter& f, const std::string& where, size_t depth, FilterBudget& budget);

StatusOr<PayloadPath> KeyPath(const std::string& key, const std::string& where) {
  if (key.empty()) return Bad(where, "required");
  StatusOr<PayloadPath> path = ParsePayloadPath(key);
  if (!path.ok()) return Bad(where, std::string(path.status().message()));
  return path;
}

template <typename Values>
Status CheckMatchCount(const Values& values, const std::string& where, const FilterLimits& limits) {
  if (static_cast<size_t>(values.size()) > limits.max_match_values) {
    return OverLimit(where, values.size(), "values", limits.max_match_values, "filter_match_values");
  }
  return absl::OkStatus();
}

StatusOr<MatchCondition> MatchFromProto(const qdrant::Match& m, const std::string& where, const FilterLimits& limits) {
  MatchCondition c;
  auto text = [&](MatchCondition::Kind kind, const std::string& s, const char* name) -> Status {
    if (s.size() > kMaxMatchTextBytes) {
      return Bad(where + "." + name, std::to_string(s.size()) + " bytes of text is over the limit of " +
                                         std::to_string(kMaxMatchTextBytes) + " bytes");
    }
    c.kind = kind;
    c.text = s;
    return absl::OkStatus();
  };
  switch (m.match_value_case()) {
    case qdrant::Match::kKeyword: c.values.push_back(m.keyword()); break;
    case qdrant::Match::kInteger: c.values.push_back(static_cast<int64_t>(m.integer())); break;
    case qdrant::Match::kBoolean: c.values.push_back(m.boolean()); break;
    case qdrant::Match::kText: VJ_RETURN_IF_ERROR(text(MatchCondition::Kind::kText, m.text(), "text")); break;
    case qdrant::Match::kTextAny:
      VJ_RETURN_IF_ERROR(text(MatchCondition::Kind::kTextAny, m.text_any(), "text_any"));
      break;
    case qdrant::Match::kPhrase: VJ_RETURN_IF_ERROR(text(MatchCondition::Kind::kPhrase, m.phrase(), "phrase")); break;
    case qdrant::Match::kKeywords:
    case qdrant::Match::kExceptKeywords: {
      const bool any = m.match_value_case() == qdrant::Match::kKeywords;
      const auto& list = any ? m.keywords().strings() : m.except_keywords().strings();
      VJ_RETURN_IF_ERROR(CheckMatchCount(list, where + (any ? ".keywords" : ".except_keywords"), limits));
      c.kind = any ? MatchCondition::Kind::kAny : MatchCondition::Kind::kExcept;
      for (const std::string& s : list) c.values.push_back(s);
      break;
    }
    case qdrant::Match::kIntegers:
    case qdrant::Match::kExceptIntegers: {
      const bool any = m.match_value_case() == qdrant::Match::kIntegers;
      const auto& list = any ? m.integers().integers() : m.except_integers().integers();
      VJ_RETURN_IF_ERROR(CheckMatchCount(list, where + (any ? ".integers" : ".except_integers"), limits));
      c.kind = any ? MatchCondition::Kind::kAny : MatchCondition::Kind::kExcept;
      for (int64_t n : list) c.values.push_back(n);
      break;
    }
    case qdrant::Match::MATCH_VALUE_NOT_SET:
      return Bad(where, "expected one of keyword, integer, boolean, text, keywords, integers, except_keywords, "
                        "except_integers, phrase, text_any");
  }
  return c;
}

StatusOr<Condition> FieldFromProto(const qdrant::FieldCondition& f, const std::string& where,
                                   const FilterLimits& limits) {
  FieldCondition c;
  c.key = f.key();
  VJ_ASSIGN_OR_RETURN(c.path, KeyPath(f.key(), where + ".key"));
  if (f.has_match()) {
    VJ_ASSIGN_OR_RETURN(c.match, MatchFromProto(f.match(), where + ".match", limits));
  }
  if (f.has_range()) {
    const qdrant::Range& r = f.range();
    RangeCondition range;
    if (r.has_gt()) range.gt = r.gt();
    if (r.has_gte()) range.gte = r.gte();
    if (r.has_lt()) range.lt = r.lt();
    if (r.has_lte()) range.lte = r.lte();
    for (const auto& bound : {range.gt, range.gte, range.lt, range.lte}) {
      if (bound && !std::isfinite(*bound)) return Bad(where + ".range", "expected finite numbers");
    }
    c.range = range;
  }
  if (f.has_values_count()) {
    const qdrant::ValuesCount& n = f.values_count();
    ValuesCountCondition count;
    if (n.has_gt()) count.gt = n.gt();
    if (n.has_gte()) count.gte = n.gte();
    if (n.has_lt()) count.lt = n.lt();
    if (n.has_lte()) count.lte = n.lte();
    c.values_count = count;
  }
  IndexMatchValues(&c);
  if (!c.match && !c.range && !c.values_count) {
    return Bad(where, "expected one of match, range, values_count next to key");
  }
  return Condition(std::move(c));
}

StatusOr<Condition> ConditionFromProto(const qdrant::Condition& c, const std::string& where, size_t depth,
                                       FilterBudget& budget) {
  if (++budget.conditions > budget.limits.max_conditions) {
    return OverLimit(where, budget.conditions, "conditions in the filter", budget.limits.max_conditions,
                     "filter_conditions");
  }
  switch (c.condition_one_of_case()) {
    case qdrant::Condition::kField:
      return FieldFromProto(c.field(), where + ".field", budget.limits);
    case qdrant::Condition::kIsEmpty: {
      IsEmptyCondition e{c.is_empty().key(), {}};
      VJ_ASSIGN_OR_RETURN(e.path, KeyPath(e.key, where + ".is_empty.key"));
      return Condition(std::move(e));
    }
    case qdrant::Condition::kIsNull: {
      IsNullCondition e{c.is_null().key(), {}};
      VJ_ASSIGN_OR_RETURN(e.path, KeyPath(e.key, where + ".is_null.key"));
      return Condition(std::move(e));
    }
    case qdrant::Condition::kHasId: {
      const auto& ids = c.has_id().has_id();
      if (static_cast<size_t>(ids.size()) > budget.limits.max_has_id) {
        return OverLimit(where + ".has_id", ids.size(), "ids", budget.limits.max_has_id, "filter_has_id");
      }
      HasIdCondition h;
      VJ_ASSIGN_OR_RETURN(h.ids, PointIdsFromProto(ids, where + ".has_id", budget.limits.max_has_id));
      std::sort(h.ids.begin(), h.ids.end());
      h.ids.erase(std::unique(h.ids.begin(), h.ids.end()), h.ids.end());
      return Condition(std::move(h));
    }
    case qdrant::Condition::kHasVector:
      return Condition(HasVectorCondition{c.has_vector().has_vector()});
    case qdrant::Condition::kFilter: {
      VJ_ASSIGN_OR_RETURN(Filter nested, FilterAt(c.filter(), where + ".filter", depth + 1, budget));
      return Condition(std::make_shared<const Filter>(std::move(nested)));
    }
    case qdrant::Condition::CONDITION_ONE_OF_NOT_SET:
      break;
  }
  return Bad(where, "expected one of field, is_empty, is_null, has_id, has_vector, filter");
}

Status ConditionsFromProto(const google::protobuf::RepeatedPtrField<qdrant::Condition>& list, const std::string& where,
                           size_t depth, FilterBudget& budget, std::vector<Condition>* out) {
  if (static_cast<size_t>(list.size()) > budget.limits.max_clause_conditions) {
    return OverLimit(where, list.size(), "conditions", budget.limits.max_clause_conditions, "filter_clause_conditions");
  }
  for (int i = 0; i < list.size(); ++i) {
    VJ_ASSIGN_OR_RETURN(Condition c, ConditionFromProto(list[i], At(where, i), depth, budget));
    out->push_back(std::move(c));
  }
  return absl::OkStatus();
}

StatusOr<Filter> FilterAt(const qdrant::Filter& f, const std::string& where, size_t depth, FilterBudget& budget) {
  if (depth > budget.limits.max_depth) {
    return Bad(where, "filters nested deeper than " + std::to_string(budget.limits.max_depth) +
                          " levels (setting limits.filter_depth)");
  }
  Filter out;
  VJ_RETURN_IF_ERROR(ConditionsFromProto(f.must(), where + ".must", depth, budget, &out.must));
  VJ_RETURN_IF_ERROR(ConditionsFromProto(f.should(), where + ".should", depth, budget, &out.should));
  VJ_RETURN_IF_ERROR(ConditionsFromProto(f.must_not(), where + ".must_not", depth, budget, &out.must_not));
  if (f.has_min_should()) {
    MinShould m;
    m.min_count = f.min_should().min_count();
    VJ_RETURN_IF_ERROR(
        ConditionsFromProto(f.min_should().conditions(), where + ".min_should.conditions", depth, budget, &m.conditions));
    out.min_should = std::move(m);
  }
  return out;
}

StatusOr<std::vector<std::string>> PathList(const google::protobuf::RepeatedPtrField<std::string>& keys,
                                            const std::string& where, size_t max_keys) {
  if (static_cast<size_t>(keys.size()) > max_keys) {
    return OverLimit(where, keys.size(), "keys", max_keys, "payload_keys");
  }
  std::vector<std::string> out(keys.begin(), keys.end());
  for (size_t i = 0; i < out.size(); ++i) VJ_RETURN_IF_ERROR(KeyPath(out[i], At(where, i)).status());
  return out;
}

// One vector of a point: dense, sparse, or the older data (+ indices).
Status VectorFromProto(const qdrant::Vector& v, const std::string& name, const std::string& where, size_t max_nnz,
                       NamedVectors* dense, NamedSparseVectors* sparse) {
  switch (v.vector_case()) {
    case qdrant::Vector::kDense: {
      VJ_ASSIGN_OR_RETURN(std::vector<float> d, FiniteFloats(v.dense().data(), where + ".dense.data"));
      if (d.empty()) return Bad(where, "an empty vector");
      (*dense)[name] = std::move(d);
      return absl::OkStatus();
    }
    case qdrant::Vector::kSparse: {
      VJ_ASSIGN_OR_RETURN((*sparse)[name],
                          SparseFromProto(v.sparse().indices(), v.sparse().values(), where + ".sparse", max_nnz));
      return absl::OkStatus();
    }
    case qdrant::Vector::VECTOR_NOT_SET:
      break;
  }
  if (v.has_indices()) {
    VJ_ASSIGN_OR_RETURN((*sparse)[name], SparseFromProto(v.indices().data(), v.data(), where, max_nnz));
    return absl::OkStatus();
  }
  VJ_ASSIGN_OR_RETURN(std::vector<float> d, FiniteFloats(v.data(), where + ".data"));
  if (d.empty()) return Bad(where, "missing (set dense or sparse)");
  (*dense)[name] = std::move(d);
  return absl::OkStatus();
}

Status SearchParamsFromProto(const qdrant::SearchParams& p, const std::string& where, QueryRequest* request) {
  if (p.has_hnsw_ef()) {
    if (p.hnsw_ef() > 65536) return Bad(where + ".hnsw_ef", "must be at most 65536");
    request->hnsw_ef = p.hnsw_ef();
  }
  if (p.has_exact()) request->exact = p.exact();
  if (p.has_quantization()) {
    const qdrant::QuantizationSearchParams& q = p.quantization();
    if (q.has_ignore()) request->ignore_quantization = q.ignore();
    if (q.has_rescore()) request->rescore = q.rescore();
    if (q.has_oversampling()) {
      if (!(q.oversampling() >= 1.0 && q.oversampling() <= 100.0)) {
        return Bad(where + ".quantization.oversampling", "must be between 1 and 100");
      }
      request->oversampling = static_cast<float>(q.oversampling());
    }
  }
  return absl::OkStatus();
}

Status CheckLimit(uint64_t limit, const std::string& where, const RequestLimits& limits) {
  if (limit > limits.max_limit) return OverLimit(where, limit, "points", limits.max_limit, "limit");
  return absl::OkStatus();
}

StatusOr<VectorInput> VectorInputFromProto(const qdrant::VectorInput& v, const std::string& where, size_t max_nnz) {
  VectorInput input;
  switch (v.variant_case()) {
    case qdrant::VectorInput::kId: {
      VJ_ASSIGN_OR_RETURN(input.id, PointIdFromProto(v.id(), where + ".id"));
      return input;
    }
    case qdrant::VectorInput::kDense: {
      VJ_ASSIGN_OR_RETURN(input.vector, FiniteFloats(v.dense().data(), where + ".dense.data"));
      if (input.vector.empty()) return Bad(where + ".dense", "an empty vector");
      return input;
    }
    case qdrant::VectorInput::kSparse: {
      VJ_ASSIGN_OR_RETURN(input.sparse,
                          SparseFromProto(v.sparse().indices(), v.sparse().values(), where + ".sparse", max_nnz));
      return input;
    }
    case qdrant::VectorInput::VARIANT_NOT_SET:
      break;
  }
  return Bad(where, "expected one of id, dense, sparse");
}

struct PlanBudget {
  size_t prefetches = 0;
  size_t candidates = 0;
};

// One plan node: the fields PrefetchQuery and QueryPoints share.
template <typename Node>
StatusOr<QueryNode> NodeFromProto(const Node& body, const std::string& prefix, size_t depth,
                                  const RequestLimits& limits, PlanBudget& budget) {
  QueryNode node;
  QueryRequest& search = node.search;
  if (body.has_filter()) {
    VJ_ASSIGN_OR_RETURN(search.filter, FilterFromProto(body.filter(), limits.filter, Dot(prefix, "filter")));
  }
  if (body.has_limit()) {
    VJ_RETURN_IF_ERROR(CheckLimit(body.limit(), Dot(prefix, "limit"), limits));
    search.limit = body.limit();
  }
  if (body.has_score_threshold()) search.score_threshold = body.score_threshold();
  if (body.has_using_()) search.using_vector = body.using_();
  if (body.has_params()) VJ_RETURN_IF_ERROR(SearchParamsFromProto(body.params(), Dot(prefix, "params"), &search));
  if (body.prefetch_size() > 0) {
    const std::string at = Dot(prefix, "prefetch");
    if (depth + 1 > limits.max_prefetch_depth) {
      return OverLimit(at, depth + 1, "levels of nesting", limits.max_prefetch_depth, "prefetch_depth");
    }
    for (int i = 0; i < body.prefetch_size(); ++i) {
      if (++budget.prefetches > limits.max_prefetches) {
        return OverLimit(at, budget.prefetches, "prefetches", limits.max_prefetches, "prefetches");
      }
      VJ_ASSIGN_OR_RETURN(QueryNode child, NodeFromProto(body.prefetch(i), At(at, i), depth + 1, limits, budget));
      budget.candidates += child.search.limit;
      if (budget.candidates > limits.max_query_candidates) {
        return OverLimit(At(at, i) + ".limit", budget.candidates, "candidate points", limits.max_query_candidates,
                         "query_candidates");
      }
      node.prefetch.push_back(std::move(child));
    }
  }
  const std::string query_at = Dot(prefix, "query");
  if (body.has_query()) {
    const qdrant::Query& q = body.query();
    switch (q.variant_case()) {
      case qdrant::Query::kNearest: {
        VJ_ASSIGN_OR_RETURN(VectorInput target,
                            VectorInputFromProto(q.nearest(), query_at + ".nearest", limits.max_sparse_nnz));
        node.op = NearestOp{std::move(target), std::nullopt};
        break;
      }
      case qdrant::Query::kFusion: {
        FusionOp op;
        if (q.fusion() == qdrant::DBSF) {
          op.kind = FusionOp::Kind::kDbsf;
        } else if (q.fusion() != qdrant::RRF) {
          return Bad(query_at + ".fusion", "unknown fusion " + std::to_string(q.fusion()));
        }
        node.op = std::move(op);
        break;
      }
      case qdrant::Query::kRrf: {
        FusionOp op;
        if (q.rrf().has_k()) {
          if (q.rrf().k() < 1 || q.rrf().k() > 1000000) return Bad(query_at + ".rrf.k", "must be between 1 and 1000000");
          op.k = q.rrf().k();
        }
        for (int i = 0; i < q.rrf().weights_size(); ++i) {
          const float w = q.rrf().weights(i);
          if (!(w >= 0 && w <= 1e6)) return Bad(At(query_at + ".rrf.weights", i), "must be between 0 and 1000000");
          op.weights.push_back(w);
        }
        node.op = std::move(op);
        break;
      }
      case qdrant::Query::VARIANT_NOT_SET:
        return Bad(query_at, "expected one of nearest, fusion, rrf");
    }
  }
  if (const auto* fusion = std::get_if<FusionOp>(&node.op)) {
    if (node.prefetch.empty()) return Bad(query_at, "fusion needs prefetches whose results it fuses");
    if (!fusion->weights.empty() && fusion->weights.size() != node.prefetch.size()) {
      return Bad(query_at + ".rrf.weights", "has " + std::to_string(fusion->weights.size()) + " weights for " +
                                                std::to_string(node.prefetch.size()) +
                                                " prefetches (one weight per prefetch)");
    }
  }
  if (std::holds_alternative<std::monostate>(node.op) && node.prefetch.size() > 1) {
    return Bad(query_at, "missing: several prefetches need a query that combines them (fusion, or a vector to "
                         "re-score them with)");
  }
  return node;
}

void VectorToProto(const std::vector<float>& v, qdrant::VectorOutput* out) {
  // Both the current `dense` and the older `data`: clients of either generation read it.
  out->mutable_dense()->mutable_data()->Add(v.begin(), v.end());
  out->mutable_data()->Add(v.begin(), v.end());
}

void SparseToProto(const SparseVector& v, qdrant::VectorOutput* out) {
  out->mutable_sparse()->mutable_indices()->Add(v.indices.begin(), v.indices.end());
  out->mutable_sparse()->mutable_values()->Add(v.values.begin(), v.values.end());
}

void VectorsToProto(const PointView& view, qdrant::VectorsOutput* out) {
  if (view.sparse.empty() && view.vectors.size() == 1 && view.vectors.begin()->first.empty()) {
    VectorToProto(view.vectors.begin()->second, out->mutable_vector());
    return;
  }
  auto* named = out->mutable_vectors()->mutable_vectors();
  for (const auto& [name, v] : view.vectors) VectorToProto(v, &(*named)[name]);
  for (const auto& [name, v] : view.sparse) SparseToProto(v, &(*named)[name]);
}

}  // namespace

StatusOr<PointId> PointIdFromProto(const qdrant::PointId& id, const std::string& where) {
  switch (id.point_id_options_case()) {
    case qdrant::PointId::kNum:
      return PointId::Num(id.num());
    case qdrant::PointId::kUuid: {
      StatusOr<PointId> parsed = PointId::ParseUuid(id.uuid());
      if (!parsed.ok()) return Bad(where + ".uuid", "not a UUID: \"" + id.uuid().substr(0, 64) + "\"");
      return parsed;
    }
    case qdrant::PointId::POINT_ID_OPTIONS_NOT_SET:
      break;
  }
  return Bad(where, "missing (set num or uuid)");
}

void PointIdToProto(const PointId& id, qdrant::PointId* out) {
  if (id.is_uuid()) {
    out->set_uuid(id.ToString());
  } else {
    out->set_num(id.num());
  }
}

StatusOr<std::vector<PointId>> PointIdsFromProto(const google::protobuf::RepeatedPtrField<qdrant::PointId>& ids,
                                                 const std::string& where, size_t max_count) {
  if (static_cast<size_t>(ids.size()) > max_count) {
    return OverLimit(where, ids.size(), "ids", max_count, "points_per_request");
  }
  std::vector<PointId> out;
  out.reserve(ids.size());
  for (int i = 0; i < ids.size(); ++i) {
    VJ_ASSIGN_OR_RETURN(PointId id, PointIdFromProto(ids[i], At(where, i)));
    out.push_back(id);
  }
  return out;
}

StatusOr<Payload> PayloadFromProto(const ProtoPayload& payload, const std::string& where) {
  Payload out;
  for (const auto& [key, value] : payload) {
    VJ_ASSIGN_OR_RETURN(out[key], ValueFromProto(value, where + "." + key, 1));
  }
  VJ_RETURN_IF_ERROR(CheckPayloadLimits(out, where));
  return out;
}

void PayloadToProto(const Payload& payload, ProtoPayload* out) {
  for (const auto& kv : payload) ValueToProto(kv.value(), &(*out)[std::string(kv.key())]);
}

StatusOr<Filter> FilterFromProto(const qdrant::Filter& filter, const FilterLimits& limits, const std::string& where) {
  FilterBudget budget{limits};
  return FilterAt(filter, where, 1, budget);
}

StatusOr<PayloadSelector> PayloadSelectorFromProto(const qdrant::WithPayloadSelector* selector,
                                                   PayloadSelector fallback, size_t max_keys) {
  if (selector == nullptr) return fallback;
  PayloadSelector out;
  switch (selector->selector_options_case()) {
    case qdrant::WithPayloadSelector::kEnable:
      out.mode = selector->enable() ? PayloadSelector::Mode::kAll : PayloadSelector::Mode::kNone;
      return out;
    case qdrant::WithPayloadSelector::kInclude: {
      out.mode = PayloadSelector::Mode::kInclude;
      VJ_ASSIGN_OR_RETURN(out.keys, PathList(selector->include().fields(), "with_payload.include", max_keys));
      return out;
    }
    case qdrant::WithPayloadSelector::kExclude: {
      out.mode = PayloadSelector::Mode::kExclude;
      VJ_ASSIGN_OR_RETURN(out.keys, PathList(selector->exclude().fields(), "with_payload.exclude", max_keys));
      return out;
    }
    case qdrant::WithPayloadSelector::SELECTOR_OPTIONS_NOT_SET:
      break;
  }
  return fallback;
}

VectorSelector VectorSelectorFromProto(const qdrant::WithVectorsSelector* selector) {
  VectorSelector out;
  if (selector == nullptr) return out;
  if (selector->has_enable()) out.all = selector->enable();
  if (selector->has_include()) out.names.assign(selector->include().names().begin(), selector->include().names().end());
  return out;
}

Status PointVectorsFromProto(const qdrant::Vectors& vectors, const std::string& where, size_t max_nnz,
                             NamedVectors* dense, NamedSparseVectors* sparse) {
  switch (vectors.vectors_options_case()) {
    case qdrant::Vectors::kVector:
      return VectorFromProto(vectors.vector(), "", where, max_nnz, dense, sparse);
    case qdrant::Vectors::kVectors:
      for (const auto& [name, v] : vectors.vectors().vectors()) {
        if (name.empty()) return Bad(where + ".vectors", "a vector name is empty");
        VJ_RETURN_IF_ERROR(VectorFromProto(v, name, where + ".vectors." + name, max_nnz, dense, sparse));
      }
      return absl::OkStatus();
    case qdrant::Vectors::VECTORS_OPTIONS_NOT_SET:
      break;
  }
  return Bad(where, "missing");
}

StatusOr<std::vector<PointInput>> PointsFromProto(const google::protobuf::RepeatedPtrField<qdrant::PointStruct>& points,
                                                  const RequestLimits& limits) {
  if (static_cast<size_t>(points.size()) > limits.max_points_per_request) {
    return OverLimit("points", points.size(), "points", limits.max_points_per_request, "points_per_request");
  }
  std::vector<PointInput> out;
  out.reserve(points.size());
  for (int i = 0; i < points.size(); ++i) {
    const std::string where = At("points", i);
    const qdrant::PointStruct& p = points[i];
    PointInput input;
    if (!p.has_id()) return Bad(where + ".id", "missing");
    VJ_ASSIGN_OR_RETURN(input.id, PointIdFromProto(p.id(), where + ".id"));
    if (!p.has_vectors()) return Bad(where + ".vectors", "missing");
    VJ_RETURN_IF_ERROR(
        PointVectorsFromProto(p.vectors(), where + ".vectors", limits.max_sparse_nnz, &input.vectors, &input.sparse));
    VJ_ASSIGN_OR_RETURN(input.payload, PayloadFromProto(p.payload(), where + ".payload"));
    out.push_back(std::move(input));
  }
  return out;
}

StatusOr<QueryRequest> SearchFromProto(const qdrant::SearchPoints& s, const RequestLimits& limits,
                                       const std::string& where) {
  QueryRequest request;
  if (s.has_filter()) {
    VJ_ASSIGN_OR_RETURN(request.filter, FilterFromProto(s.filter(), limits.filter, Dot(where, "filter")));
  }
  // Qdrant's gRPC limit is a plain uint64 without a default: 0 asks for none.
  VJ_RETURN_IF_ERROR(CheckLimit(s.limit(), Dot(where, "limit"), limits));
  request.limit = s.limit();
  if (s.has_offset()) {
    if (s.offset() > limits.max_offset) {
      return OverLimit(Dot(where, "offset"), s.offset(), "points", limits.max_offset, "offset");
    }
    request.offset = s.offset();
  }
  if (s.has_score_threshold()) request.score_threshold = s.score_threshold();
  VJ_ASSIGN_OR_RETURN(request.with_payload,
                      PayloadSelectorFromProto(s.has_with_payload() ? &s.with_payload() : nullptr, PayloadSelector{},
                                               limits.max_payload_keys));
  request.with_vector = VectorSelectorFromProto(s.has_with_vectors() ? &s.with_vectors() : nullptr);
  if (s.has_params()) VJ_RETURN_IF_ERROR(SearchParamsFromProto(s.params(), Dot(where, "params"), &request));
  if (s.has_vector_name()) request.using_vector = s.vector_name();
  if (s.has_sparse_indices()) {
    VJ_ASSIGN_OR_RETURN(request.sparse_vector, SparseFromProto(s.sparse_indices().data(), s.vector(),
                                                               Dot(where, "vector"), limits.max_sparse_nnz));
  } else {
    VJ_ASSIGN_OR_RETURN(request.vector, FiniteFloats(s.vector(), Dot(where, "vector")));
    if (request.vector.empty()) return Bad(Dot(where, "vector"), "missing");
  }
  return request;
}

StatusOr<QueryPlan> QueryPlanFromProto(const qdrant::QueryPoints& q, const RequestLimits& limits,
                                       const std::string& where) {
  QueryPlan plan;
  if (q.has_offset()) {
    if (q.offset() > limits.max_offset) {
      return OverLimit(Dot(where, "offset"), q.offset(), "points", limits.max_offset, "offset");
    }
    plan.offset = q.offset();
  }
  VJ_ASSIGN_OR_RETURN(plan.with_payload,
                      PayloadSelectorFromProto(q.has_with_payload() ? &q.with_payload() : nullptr, PayloadSelector{},
                                               limits.max_payload_keys));
  plan.with_vector = VectorSelectorFromProto(q.has_with_vectors() ? &q.with_vectors() : nullptr);
  PlanBudget budget;
  VJ_ASSIGN_OR_RETURN(plan.root, NodeFromProto(q, where, 0, limits, budget));
  return plan;
}

void PointViewToProto(const PointView& view, qdrant::ScoredPoint* out) {
  PointIdToProto(view.id, out->mutable_id());
  if (view.payload) PayloadToProto(*view.payload, out->mutable_payload());
  out->set_score(view.score.value_or(0.0f));
  if (!view.vectors.empty() || !view.sparse.empty()) VectorsToProto(view, out->mutable_vectors());
}

void PointViewToProto(const PointView& view, qdrant::RetrievedPoint* out) {
  PointIdToProto(view.id, out->mutable_id());
  if (view.payload) PayloadToProto(*view.payload, out->mutable_payload());
  if (!view.vectors.empty() || !view.sparse.empty()) VectorsToProto(view, out->mutable_vectors());
}

}  // namespace vj

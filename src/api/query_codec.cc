#include "api/query_codec.h"

#include "api/filter_codec.h"
#include "api/point_codec.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

std::string At(const std::string& prefix, const std::string& field) {
  return prefix.empty() ? field : prefix + "." + field;
}

Status Invalid(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(where.empty() ? what : where + ": " + what);
}

// `prefix` is "" at the top level, "prefetch[0]" etc. inside a plan.
Status ParseSearchParams(const json::object& body, const std::string& prefix, QueryRequest* request) {
  const json::value* params = FindField(body, "params");
  if (params == nullptr) return absl::OkStatus();
  const std::string at = At(prefix, "params");
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*params, at));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"hnsw_ef", "exact", "quantization", "indexed_only"}, at));
  if (const json::value* ef = FindField(*obj, "hnsw_ef")) {
    VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*ef, at + ".hnsw_ef"));
    if (n > 65536) return Invalid(at + ".hnsw_ef", "must be at most 65536");
    request->hnsw_ef = n;
  }
  if (const json::value* exact = FindField(*obj, "exact")) {
    VJ_ASSIGN_OR_RETURN(request->exact, ReadBool(*exact, at + ".exact"));
  }
  if (const json::value* q = FindField(*obj, "quantization")) {
    const std::string qat = at + ".quantization";
    VJ_ASSIGN_OR_RETURN(const json::object* qobj, ReadObject(*q, qat));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*qobj, {"ignore", "rescore", "oversampling"}, qat));
    if (const json::value* v = FindField(*qobj, "ignore")) {
      VJ_ASSIGN_OR_RETURN(request->ignore_quantization, ReadBool(*v, qat + ".ignore"));
    }
    if (const json::value* v = FindField(*qobj, "rescore")) {
      VJ_ASSIGN_OR_RETURN(request->rescore, ReadBool(*v, qat + ".rescore"));
    }
    if (const json::value* v = FindField(*qobj, "oversampling")) {
      VJ_ASSIGN_OR_RETURN(double o, ReadNumber(*v, qat + ".oversampling"));
      if (o < 1.0 || o > 100.0) return Invalid(qat + ".oversampling", "must be between 1 and 100");
      request->oversampling = static_cast<float>(o);
    }
  }
  if (const json::value* indexed = FindField(*obj, "indexed_only")) {
    VJ_RETURN_IF_ERROR(ReadBool(*indexed, at + ".indexed_only").status());
  }
  return absl::OkStatus();
}

// using, filter, limit, score_threshold and params of one plan node (the top level or a prefetch).
Status ParseNodeSearch(const json::object& body, const std::string& prefix, const RequestLimits& limits,
                       QueryRequest* request) {
  if (const json::value* filter = FindField(body, "filter")) {
    VJ_ASSIGN_OR_RETURN(request->filter, ParseFilter(*filter, At(prefix, "filter"), limits.filter));
  }
  if (const json::value* limit = FindField(body, "limit")) {
    VJ_ASSIGN_OR_RETURN(request->limit, ReadUint(*limit, At(prefix, "limit")));
    if (request->limit > limits.max_limit) {
      return OverLimit(At(prefix, "limit"), request->limit, "points", limits.max_limit, "limit");
    }
  }
  if (const json::value* t = FindField(body, "score_threshold")) {
    VJ_ASSIGN_OR_RETURN(double threshold, ReadNumber(*t, At(prefix, "score_threshold")));
    request->score_threshold = static_cast<float>(threshold);
  }
  if (const json::value* u = FindField(body, "using")) {
    VJ_ASSIGN_OR_RETURN(request->using_vector, ReadString(*u, At(prefix, "using")));
  }
  return ParseSearchParams(body, prefix, request);
}

// A vector (array of numbers) or a point id, as the nearest target or a recommend example; a sparse
// vector ({"indices", "values"}, at most max_nnz entries) only where `sparse_ok` (a nearest target).
StatusOr<VectorInput> ParseVectorInput(const json::value& v, const std::string& where, bool sparse_ok = false,
                                       size_t max_nnz = 0) {
  VectorInput input;
  if (const json::array* arr = v.if_array()) {
    if (!arr->empty() && (*arr)[0].is_array()) return Invalid(where, "multi-vectors are not supported");
    VJ_ASSIGN_OR_RETURN(input.vector, ParseFloatVector(v, where));
    if (input.vector.empty()) return Invalid(where, "an empty vector");
    return input;
  }
  if (const json::object* obj = v.if_object()) {
    if (obj->contains("indices") || obj->contains("values") || IsInferenceDocument(*obj)) {
      if (!sparse_ok) return Invalid(where, "sparse vectors are supported only as the query of a nearest search");
      VJ_ASSIGN_OR_RETURN(input.sparse, ParseSparseVector(v, where, max_nnz, InferenceSide::kQuery));
      return input;
    }
    return Invalid(where, "expected a vector or a point id, got an object");
  }
  VJ_ASSIGN_OR_RETURN(input.id, ParsePointId(v, where));
  return input;
}

StatusOr<std::vector<VectorInput>> ParseExamples(const json::object& obj, const char* key,
                                                 const std::string& where, size_t max) {
  std::vector<VectorInput> out;
  const json::value* list = FindField(obj, key);
  if (list == nullptr) return out;
  const std::string at = At(where, key);
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*list, at));
  if (arr->size() > max) return OverLimit(at, arr->size(), "examples", max, "recommend_examples");
  for (size_t i = 0; i < arr->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(VectorInput in, ParseVectorInput((*arr)[i], at + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(in));
  }
  return out;
}

StatusOr<RecommendStrategy> ParseStrategy(const json::object& obj, const std::string& where) {
  const json::value* v = FindField(obj, "strategy");
  if (v == nullptr) return RecommendStrategy::kAverageVector;
  VJ_ASSIGN_OR_RETURN(std::string name, ReadString(*v, At(where, "strategy")));
  if (name == "average_vector") return RecommendStrategy::kAverageVector;
  if (name == "best_score") return RecommendStrategy::kBestScore;
  if (name == "sum_scores") return RecommendStrategy::kSumScores;
  return Invalid(At(where, "strategy"),
                 "unknown strategy \"" + name + "\" (expected average_vector, best_score or sum_scores)");
}

// The examples and strategy of a recommend query (the fields of /points/query's query.recommend and of
// /points/recommend's top level).
StatusOr<RecommendOp> ParseRecommend(const json::object& obj, const std::string& where,
                                     const RequestLimits& limits) {
  RecommendOp op;
  VJ_ASSIGN_OR_RETURN(op.positive, ParseExamples(obj, "positive", where, limits.max_recommend_examples));
  VJ_ASSIGN_OR_RETURN(op.negative, ParseExamples(obj, "negative", where, limits.max_recommend_examples));
  const size_t examples = op.positive.size() + op.negative.size();
  if (examples > limits.max_recommend_examples) {
    return OverLimit(where, examples, "examples", limits.max_recommend_examples, "recommend_examples");
  }
  VJ_ASSIGN_OR_RETURN(op.strategy, ParseStrategy(obj, where));
  if (op.strategy == RecommendStrategy::kAverageVector && op.positive.empty()) {
    return Invalid(At(where, "positive"), "the average_vector strategy needs at least one positive example");
  }
  if (examples == 0) return Invalid(where, "needs at least one positive or negative example");
  return op;
}

StatusOr<MmrOp> ParseMmr(const json::value& v, const std::string& where, const RequestLimits& limits) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"diversity", "candidates_limit"}, where));
  MmrOp mmr;
  if (const json::value* d = FindField(*obj, "diversity")) {
    VJ_ASSIGN_OR_RETURN(double diversity, ReadNumber(*d, where + ".diversity"));
    if (diversity < 0 || diversity > 1) return Invalid(where + ".diversity", "must be between 0 and 1");
    mmr.diversity = static_cast<float>(diversity);
  }
  if (const json::value* c = FindField(*obj, "candidates_limit")) {
    VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*c, where + ".candidates_limit"));
    if (n > limits.max_limit)
      return OverLimit(where + ".candidates_limit", n, "points", limits.max_limit, "limit");
    mmr.candidates_limit = n;
  }
  return mmr;
}

StatusOr<FusionOp> ParseRrf(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"k", "weights"}, where));
  FusionOp op;
  if (const json::value* k = FindField(*obj, "k")) {
    VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*k, where + ".k"));
    if (n < 1 || n > 1000000) return Invalid(where + ".k", "must be between 1 and 1000000");
    op.k = static_cast<double>(n);
  }
  if (const json::value* w = FindField(*obj, "weights")) {
    VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*w, where + ".weights"));
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string at = where + ".weights[" + std::to_string(i) + "]";
      VJ_ASSIGN_OR_RETURN(double weight, ReadNumber((*arr)[i], at));
      if (weight < 0 || weight > 1e6) return Invalid(at, "must be between 0 and 1000000");
      op.weights.push_back(static_cast<float>(weight));
    }
  }
  return op;
}

// Context pairs: [{"positive", "negative"}, ...] or one such object.
StatusOr<std::vector<ContextPair>> ParsePairs(const json::value& v, const std::string& where,
                                              const RequestLimits& limits) {
  std::vector<const json::value*> items;
  if (const json::array* arr = v.if_array()) {
    if (2 * arr->size() > limits.max_recommend_examples) {
      return OverLimit(where, 2 * arr->size(), "examples", limits.max_recommend_examples,
                       "recommend_examples");
    }
    for (const json::value& item : *arr) items.push_back(&item);
  } else {
    items.push_back(&v);
  }
  std::vector<ContextPair> pairs;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string at = v.is_array() ? where + "[" + std::to_string(i) + "]" : where;
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*items[i], at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"positive", "negative"}, at));
    const json::value* pos = FindField(*obj, "positive");
    const json::value* neg = FindField(*obj, "negative");
    if (pos == nullptr || neg == nullptr)
      return Invalid(at, "a context pair needs \"positive\" and \"negative\"");
    ContextPair pair;
    VJ_ASSIGN_OR_RETURN(pair.positive, ParseVectorInput(*pos, at + ".positive"));
    VJ_ASSIGN_OR_RETURN(pair.negative, ParseVectorInput(*neg, at + ".negative"));
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

// Operators of Qdrant's query that VJVector refuses, with the reason given.
constexpr const char* kUnsupportedOperators[] = {"formula", "order_by", "sample"};

// The node's "query": a vector, an id, or an object with one operator.
Status ParseQueryOp(const json::value& v, const std::string& where, const RequestLimits& limits,
                    QueryNode* node) {
  const json::object* obj = v.if_object();
  if (obj == nullptr || obj->contains("indices") || obj->contains("values") || IsInferenceDocument(*obj)) {
    VJ_ASSIGN_OR_RETURN(VectorInput target, ParseVectorInput(v, where, true, limits.max_sparse_nnz));
    node->op = NearestOp{std::move(target), std::nullopt};
    return absl::OkStatus();
  }
  for (const char* name : kUnsupportedOperators) {
    if (obj->contains(name)) {
      return Invalid(At(where, name), std::string("the \"") + name + "\" query is not supported by VJVector");
    }
  }
  if (const json::value* nearest = FindField(*obj, "nearest")) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"nearest", "mmr"}, where));
    VJ_ASSIGN_OR_RETURN(VectorInput target, ParseVectorInput(*nearest, where + ".nearest", true, limits.max_sparse_nnz));
    NearestOp op{std::move(target), std::nullopt};
    if (const json::value* mmr = FindField(*obj, "mmr")) {
      VJ_ASSIGN_OR_RETURN(op.mmr, ParseMmr(*mmr, where + ".mmr", limits));
    }
    node->op = std::move(op);
    return absl::OkStatus();
  }
  if (const json::value* reco = FindField(*obj, "recommend")) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"recommend"}, where));
    const std::string at = where + ".recommend";
    VJ_ASSIGN_OR_RETURN(const json::object* r, ReadObject(*reco, at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*r, {"positive", "negative", "strategy"}, at));
    VJ_ASSIGN_OR_RETURN(node->op, ParseRecommend(*r, at, limits));
    return absl::OkStatus();
  }
  if (const json::value* discover = FindField(*obj, "discover")) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"discover"}, where));
    const std::string at = where + ".discover";
    VJ_ASSIGN_OR_RETURN(const json::object* d, ReadObject(*discover, at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*d, {"target", "context"}, at));
    const json::value* target = FindField(*d, "target");
    if (target == nullptr) return Invalid(at + ".target", "missing");
    DiscoverOp op;
    VJ_ASSIGN_OR_RETURN(op.target, ParseVectorInput(*target, at + ".target"));
    if (const json::value* context = FindField(*d, "context")) {
      VJ_ASSIGN_OR_RETURN(op.context, ParsePairs(*context, at + ".context", limits));
    }
    node->op = std::move(op);
    return absl::OkStatus();
  }
  if (const json::value* context = FindField(*obj, "context")) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"context"}, where));
    ContextOp op;
    VJ_ASSIGN_OR_RETURN(op.pairs, ParsePairs(*context, where + ".context", limits));
    if (op.pairs.empty()) return Invalid(where + ".context", "needs at least one pair");
    node->op = std::move(op);
    return absl::OkStatus();
  }
  if (const json::value* fusion = FindField(*obj, "fusion")) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"fusion"}, where));
    VJ_ASSIGN_OR_RETURN(std::string name, ReadString(*fusion, where + ".fusion"));
    FusionOp op;
    if (name == "rrf") {
      op.kind = FusionOp::Kind::kRrf;
    } else if (name == "dbsf") {
      op.kind = FusionOp::Kind::kDbsf;
    } else {
      return Invalid(where + ".fusion", "unknown fusion \"" + name + "\" (expected rrf or dbsf)");
    }
    node->op = std::move(op);
    return absl::OkStatus();
  }
  if (const json::value* rrf = FindField(*obj, "rrf")) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"rrf"}, where));
    VJ_ASSIGN_OR_RETURN(node->op, ParseRrf(*rrf, where + ".rrf"));
    return absl::OkStatus();
  }
  if (obj->empty()) return Invalid(where, "expected a vector, a point id or an operator object");
  return Invalid(where, "unknown query operator \"" + std::string(obj->begin()->key()) +
                            "\" (expected nearest, recommend, discover, context, fusion or rrf)");
}

// Counts what the whole plan asks for, against the request limits.
struct PlanBudget {
  size_t prefetches = 0;
  size_t candidates = 0;
};

StatusOr<QueryNode> ParseNode(const json::object& body, const std::string& prefix, size_t depth,
                              const RequestLimits& limits, PlanBudget* budget);

Status ParsePrefetch(const json::object& body, const std::string& prefix, size_t depth,
                     const RequestLimits& limits, PlanBudget* budget, QueryNode* node) {
  const json::value* prefetch = FindField(body, "prefetch");
  if (prefetch == nullptr) return absl::OkStatus();
  const std::string at = At(prefix, "prefetch");
  if (depth + 1 > limits.max_prefetch_depth) {
    return OverLimit(at, depth + 1, "levels of nesting", limits.max_prefetch_depth, "prefetch_depth");
  }
  std::vector<const json::value*> items;
  if (const json::array* arr = prefetch->if_array()) {
    for (const json::value& item : *arr) items.push_back(&item);
  } else {
    items.push_back(prefetch);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string item_at = prefetch->is_array() ? at + "[" + std::to_string(i) + "]" : at;
    if (++budget->prefetches > limits.max_prefetches) {
      return OverLimit(At(prefix, "prefetch"), budget->prefetches, "prefetches", limits.max_prefetches,
                       "prefetches");
    }
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*items[i], item_at));
    VJ_ASSIGN_OR_RETURN(QueryNode child, ParseNode(*obj, item_at, depth + 1, limits, budget));
    budget->candidates += child.search.limit;
    if (budget->candidates > limits.max_query_candidates) {
      return OverLimit(item_at + ".limit", budget->candidates, "candidate points",
                       limits.max_query_candidates, "query_candidates");
    }
    node->prefetch.push_back(std::move(child));
  }
  return absl::OkStatus();
}

// A plan node: the top level (prefix "", depth 0) or a prefetch.
StatusOr<QueryNode> ParseNode(const json::object& body, const std::string& prefix, size_t depth,
                              const RequestLimits& limits, PlanBudget* budget) {
  QueryNode node;
  if (depth > 0) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(
        body, {"prefetch", "query", "using", "filter", "params", "score_threshold", "limit", "lookup_from"},
        prefix));
  }
  if (FindField(body, "lookup_from") != nullptr) {
    return Invalid(At(prefix, "lookup_from"), "looking vectors up in another collection is not supported");
  }
  VJ_RETURN_IF_ERROR(ParseNodeSearch(body, prefix, limits, &node.search));
  VJ_RETURN_IF_ERROR(ParsePrefetch(body, prefix, depth, limits, budget, &node));
  const std::string query_at = At(prefix, "query");
  if (const json::value* query = FindField(body, "query")) {
    VJ_RETURN_IF_ERROR(ParseQueryOp(*query, query_at, limits, &node));
  }
  if (const auto* nearest = std::get_if<NearestOp>(&node.op); nearest != nullptr && nearest->mmr) {
    budget->candidates += nearest->mmr->candidates_limit.value_or(node.search.limit);
    if (budget->candidates > limits.max_query_candidates) {
      return OverLimit(query_at + ".mmr.candidates_limit", budget->candidates, "candidate points",
                       limits.max_query_candidates, "query_candidates");
    }
  }
  if (const auto* fusion = std::get_if<FusionOp>(&node.op)) {
    if (node.prefetch.empty()) return Invalid(query_at, "fusion needs prefetches whose results it fuses");
    if (!fusion->weights.empty() && fusion->weights.size() != node.prefetch.size()) {
      return Invalid(query_at + ".rrf.weights", "has " + std::to_string(fusion->weights.size()) +
                                                    " weights for " + std::to_string(node.prefetch.size()) +
                                                    " prefetches (one weight per prefetch)");
    }
  }
  if (std::holds_alternative<std::monostate>(node.op) && node.prefetch.size() > 1) {
    return Invalid(query_at,
                   "missing: several prefetches need a query that combines them (fusion, or a "
                   "vector to re-score them with)");
  }
  return node;
}

}  // namespace

Status ParseSearchCommon(const json::object& body, const RequestLimits& limits, QueryRequest* request) {
  if (const json::value* filter = FindField(body, "filter")) {
    VJ_ASSIGN_OR_RETURN(request->filter, ParseFilter(*filter, "filter", limits.filter));
  }
  if (const json::value* limit = FindField(body, "limit")) {
    VJ_ASSIGN_OR_RETURN(request->limit, ReadUint(*limit, "limit"));
    if (request->limit > limits.max_limit) {
      return OverLimit("limit", request->limit, "points", limits.max_limit, "limit");
    }
  }
  if (const json::value* offset = FindField(body, "offset")) {
    VJ_ASSIGN_OR_RETURN(request->offset, ReadUint(*offset, "offset"));
    if (request->offset > limits.max_offset) {
      return OverLimit("offset", request->offset, "points", limits.max_offset, "offset");
    }
  }
  if (const json::value* t = FindField(body, "score_threshold")) {
    VJ_ASSIGN_OR_RETURN(double threshold, ReadNumber(*t, "score_threshold"));
    request->score_threshold = static_cast<float>(threshold);
  }
  VJ_ASSIGN_OR_RETURN(
      request->with_payload,
      ParsePayloadSelector(FindField(body, "with_payload"), PayloadSelector{}, limits.max_payload_keys));
  VJ_ASSIGN_OR_RETURN(request->with_vector, ParseVectorSelector(FindField(body, "with_vector")));
  return ParseSearchParams(body, "", request);
}

namespace {

// What every plan body shares: offset, with_payload and with_vector for the final page, and the root
// node (its query, filter, limit, params and prefetches).
StatusOr<QueryPlan> ParsePlanTop(const json::object& body, const RequestLimits& limits) {
  QueryPlan plan;
  QueryRequest common;
  VJ_RETURN_IF_ERROR(ParseSearchCommon(body, limits, &common));
  plan.offset = common.offset;
  plan.with_payload = common.with_payload;
  plan.with_vector = common.with_vector;
  PlanBudget budget;
  VJ_ASSIGN_OR_RETURN(plan.root, ParseNode(body, "", 0, limits, &budget));
  return plan;
}

}  // namespace

StatusOr<QueryPlan> ParseQueryPlan(const json::object& body, const RequestLimits& limits,
                                   const std::string& where) {
  VJ_RETURN_IF_ERROR(
      CheckKnownFields(body,
                       {"query", "using", "filter", "limit", "offset", "score_threshold", "with_payload",
                        "with_vector", "params", "prefetch", "lookup_from", "shard_key"},
                       where));
  return ParsePlanTop(body, limits);
}

StatusOr<QueryPlan> ParseRecommendPlan(const json::object& body, const RequestLimits& limits,
                                       const std::string& where) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(
      body,
      {"positive", "negative", "strategy", "using", "filter", "limit", "offset", "score_threshold",
       "with_payload", "with_vector", "params", "lookup_from", "shard_key"},
      where));
  VJ_ASSIGN_OR_RETURN(QueryPlan plan, ParsePlanTop(body, limits));
  VJ_ASSIGN_OR_RETURN(plan.root.op, ParseRecommend(body, "", limits));
  return plan;
}

StatusOr<QueryPlan> ParseDiscoverPlan(const json::object& body, const RequestLimits& limits,
                                      const std::string& where) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(body,
                                      {"target", "context", "using", "filter", "limit", "offset", "params",
                                       "with_payload", "with_vector", "lookup_from", "shard_key"},
                                      where));
  VJ_ASSIGN_OR_RETURN(QueryPlan plan, ParsePlanTop(body, limits));
  // Without a target Qdrant runs a context search over the pairs.
  std::vector<ContextPair> pairs;
  if (const json::value* context = FindField(body, "context")) {
    VJ_ASSIGN_OR_RETURN(pairs, ParsePairs(*context, "context", limits));
  }
  if (const json::value* target = FindField(body, "target")) {
    DiscoverOp op;
    VJ_ASSIGN_OR_RETURN(op.target, ParseVectorInput(*target, "target"));
    op.context = std::move(pairs);
    plan.root.op = std::move(op);
  } else {
    if (pairs.empty()) return Invalid("target", "missing (and no context pairs either)");
    plan.root.op = ContextOp{std::move(pairs)};
  }
  return plan;
}

}  // namespace vj

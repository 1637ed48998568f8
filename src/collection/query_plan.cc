#include "collection/query_plan.h"

#include <algorithm>
#include <memory>
#include <unordered_set>

namespace vj {

namespace {

std::optional<Filter> And(const std::optional<Filter>& a, const std::optional<Filter>& b) {
  if (!a || a->empty()) return b;
  if (!b || b->empty()) return a;
  Filter both;
  both.must.push_back(std::make_shared<const Filter>(*a));
  both.must.push_back(std::make_shared<const Filter>(*b));
  return both;
}

// A has_id condition over `ids` (which it keeps sorted and unique).
HasIdCondition HasId(std::vector<PointId> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return HasIdCondition{std::move(ids)};
}

// `filter` AND the point is one of `ids`.
Filter AmongIds(std::vector<PointId> ids, const std::optional<Filter>& filter) {
  Filter f;
  f.must.push_back(HasId(std::move(ids)));
  if (filter && !filter->empty()) f.must.push_back(std::make_shared<const Filter>(*filter));
  return f;
}

// `filter` AND the point is none of `ids` (the examples a query was given by id are not results).
std::optional<Filter> ExceptIds(std::vector<PointId> ids, const std::optional<Filter>& filter) {
  if (ids.empty()) return filter;
  Filter f;
  f.must_not.push_back(HasId(std::move(ids)));
  if (filter && !filter->empty()) f.must.push_back(std::make_shared<const Filter>(*filter));
  return f;
}

// A ranked candidate list. Scores of a nearest search under Euclid or Manhattan are distances (lower
// is better); every other list's scores are higher-is-better.
struct Ranked {
  std::vector<PointView> points;
  bool distances = false;
};

class PlanRunner {
 public:
  PlanRunner(const Collection& collection, const Deadline& deadline)
      : collection_(collection), deadline_(deadline), config_(collection.config()) {}

  StatusOr<Ranked> Run(const QueryNode& node, const std::optional<Filter>& inherited, size_t need) {
    VJ_RETURN_IF_ERROR(deadline_.Check("Query"));
    const std::optional<Filter> filter = And(inherited, node.search.filter);
    std::vector<Ranked> children;
    for (const QueryNode& child : node.prefetch) {
      VJ_ASSIGN_OR_RETURN(Ranked r, Run(child, filter, child.search.limit));
      children.push_back(std::move(r));
    }
    if (const auto* fusion = std::get_if<FusionOp>(&node.op))
      return Fuse(node, *fusion, std::move(children), need);
    std::optional<std::vector<PointId>> among;  // the prefetches' candidates, when there are prefetches
    if (!node.prefetch.empty()) {
      among.emplace();
      std::unordered_set<PointId, PointIdHash> seen;
      for (const Ranked& r : children) {
        for (const PointView& p : r.points) {
          if (seen.insert(p.id).second) among->push_back(p.id);
        }
      }
    }
    if (std::holds_alternative<std::monostate>(node.op)) {
      if (!node.prefetch.empty()) {  // one prefetch (the codec refuses more): its list as it is
        Ranked r = std::move(children[0]);
        if (r.points.size() > need) r.points.resize(need);
        return r;
      }
      ScrollRequest scroll;
      scroll.limit = need;
      scroll.filter = filter;
      scroll.with_payload = PayloadSelector{};
      scroll.deadline = deadline_;
      VJ_ASSIGN_OR_RETURN(ScrollResult result, collection_.Scroll(scroll));
      return Ranked{std::move(result.points), false};
    }
    if (among && among->empty()) return Ranked{{}, Distances(node)};

    QueryRequest request = node.search;
    request.filter = filter;
    request.offset = 0;
    request.limit = need;
    request.with_payload = PayloadSelector{};
    request.with_vector = VectorSelector{};
    request.deadline = deadline_;
    if (among) {
      request.filter = AmongIds(std::move(*among), request.filter);
      request.exact = true;  // re-scoring a known candidate list: score each one
    }
    if (const auto* nearest = std::get_if<NearestOp>(&node.op))
      return Nearest(node, *nearest, std::move(request));
    if (const auto* reco = std::get_if<RecommendOp>(&node.op))
      return Recommend(node, *reco, std::move(request));
    if (const auto* discover = std::get_if<DiscoverOp>(&node.op)) {
      return ByPairs(ExampleScoring::Strategy::kDiscover, &discover->target, discover->context,
                     std::move(request));
    }
    return ByPairs(ExampleScoring::Strategy::kContext, nullptr, std::get<ContextOp>(node.op).pairs,
                   std::move(request));
  }

 private:
  bool Distances(const QueryNode& node) const {
    if (std::holds_alternative<DiscoverOp>(node.op) || std::holds_alternative<ContextOp>(node.op))
      return false;
    if (std::holds_alternative<RecommendOp>(node.op) &&
        std::get<RecommendOp>(node.op).strategy != RecommendStrategy::kAverageVector) {
      return false;
    }
    const Metric m = MetricOf(node.search.using_vector).value_or(Metric::kCosine);
    return m == Metric::kEuclid || m == Metric::kManhattan;
  }

  std::optional<Metric> MetricOf(const std::string& name) const {
    auto it = config_.vectors.find(name);
    if (it == config_.vectors.end()) return std::nullopt;
    return it->second.distance;
  }

  // The vectors of `inputs` under `name`: given ones as they are, ids by their stored vectors.
  StatusOr<std::vector<std::vector<float>>> Resolve(const std::vector<VectorInput>& inputs,
                                                    const std::string& name) const {
    if (config_.sparse_vectors.count(name) != 0) {
      return absl::InvalidArgumentError("vector \"" + name + "\" is a sparse vector: recommend, discover and "
                                        "context over sparse vectors are not supported");
    }
    std::vector<PointId> ids;
    for (const VectorInput& in : inputs) {
      if (in.id) ids.push_back(*in.id);
    }
    std::unordered_map<PointId, std::vector<float>, PointIdHash> stored;
    if (!ids.empty()) {
      VJ_ASSIGN_OR_RETURN(std::vector<PointView> found,
                          collection_.Retrieve(ids, PayloadSelector{}, VectorSelector{false, {name}}));
      for (PointView& v : found) {
        auto it = v.vectors.find(name);
        if (it != v.vectors.end()) stored[v.id] = std::move(it->second);
      }
    }
    std::vector<std::vector<float>> out;
    for (const VectorInput& in : inputs) {
      if (!in.id) {
        out.push_back(in.vector);
        continue;
      }
      auto it = stored.find(*in.id);
      if (it == stored.end()) return absl::NotFoundError("No point with id " + in.id->ToString() + " found");
      out.push_back(it->second);
    }
    return out;
  }

  StatusOr<Ranked> Nearest(const QueryNode& node, const NearestOp& op, QueryRequest request) {
    if (op.target.sparse || config_.sparse_vectors.count(request.using_vector) != 0) {
      if (op.mmr) return absl::InvalidArgumentError("mmr over sparse vectors is not supported");
      if (!op.target.sparse) {
        return absl::InvalidArgumentError("vector \"" + request.using_vector +
                                          "\" is a sparse vector: query it with {\"indices\": [...], \"values\": [...]}");
      }
      request.sparse_vector = *op.target.sparse;
      VJ_ASSIGN_OR_RETURN(std::vector<PointView> found, collection_.Query(request));
      return Ranked{std::move(found), false};
    }
    VJ_ASSIGN_OR_RETURN(auto vectors, Resolve({op.target}, request.using_vector));
    request.vector = std::move(vectors[0]);
    if (op.target.id) request.filter = ExceptIds({*op.target.id}, request.filter);
    if (!op.mmr) {
      VJ_ASSIGN_OR_RETURN(std::vector<PointView> found, collection_.Query(request));
      return Ranked{std::move(found), Distances(node)};
    }
    const size_t need = request.limit;
    request.limit = op.mmr->candidates_limit.value_or(need);
    request.with_vector = VectorSelector{false, {request.using_vector}};
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> candidates, collection_.Query(request));
    const Metric metric = MetricOf(request.using_vector).value_or(Metric::kCosine);
    std::vector<float> relevance;
    std::vector<const std::vector<float>*> vectors_of;
    for (const PointView& c : candidates) {
      relevance.push_back(ScoreToSimilarity(metric, c.score.value_or(0)));
      auto it = c.vectors.find(request.using_vector);
      if (it == c.vectors.end()) return absl::InternalError("mmr: a candidate came back without its vector");
      vectors_of.push_back(&it->second);
    }
    const size_t dim = request.vector.size();
    auto similarity = [&](size_t a, size_t b) {
      return VectorSimilarity(metric, vectors_of[a]->data(), vectors_of[b]->data(), dim);
    };
    std::vector<size_t> chosen = SelectMmr(relevance, similarity, op.mmr->diversity, need, deadline_);
    if (deadline_.Expired()) return deadline_.TimeoutError("Query");
    Ranked out{{}, Distances(node)};
    for (size_t i : chosen) {
      PointView p;
      p.id = candidates[i].id;
      p.score = candidates[i].score;  // the similarity to the query, as Qdrant answers
      out.points.push_back(std::move(p));
    }
    return out;
  }

  StatusOr<Ranked> Recommend(const QueryNode& node, const RecommendOp& op, QueryRequest request) {
    VJ_ASSIGN_OR_RETURN(auto positive, Resolve(op.positive, request.using_vector));
    VJ_ASSIGN_OR_RETURN(auto negative, Resolve(op.negative, request.using_vector));
    std::vector<PointId> examples;
    for (const auto* list : {&op.positive, &op.negative}) {
      for (const VectorInput& in : *list) {
        if (in.id) examples.push_back(*in.id);
      }
    }
    request.filter = ExceptIds(std::move(examples), request.filter);
    if (op.strategy == RecommendStrategy::kAverageVector) {
      if (positive.empty())
        return absl::InvalidArgumentError("recommend: average_vector needs a positive example");
      request.vector = AverageVector(positive, negative);
      if (request.vector.empty())
        return absl::InvalidArgumentError("recommend: examples differ in dimension");
    } else {
      ExampleScoring scoring;
      scoring.strategy = op.strategy == RecommendStrategy::kBestScore ? ExampleScoring::Strategy::kBestScore
                                                                      : ExampleScoring::Strategy::kSumScores;
      scoring.positive = std::move(positive);
      scoring.negative = std::move(negative);
      request.examples = std::move(scoring);
    }
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> found, collection_.Query(request));
    return Ranked{std::move(found), Distances(node)};
  }

  // Discover (with a target) or context: every point scored against the pairs on every shard.
  StatusOr<Ranked> ByPairs(ExampleScoring::Strategy strategy, const VectorInput* target,
                           const std::vector<ContextPair>& pairs, QueryRequest request) {
    std::vector<VectorInput> inputs;
    if (target != nullptr) inputs.push_back(*target);
    for (const ContextPair& pair : pairs) {
      inputs.push_back(pair.positive);
      inputs.push_back(pair.negative);
    }
    VJ_ASSIGN_OR_RETURN(auto vectors, Resolve(inputs, request.using_vector));
    std::vector<PointId> examples;
    for (const VectorInput& in : inputs) {
      if (in.id) examples.push_back(*in.id);
    }
    request.filter = ExceptIds(std::move(examples), request.filter);
    ExampleScoring scoring;
    scoring.strategy = strategy;
    size_t next = 0;
    if (target != nullptr) scoring.target = std::move(vectors[next++]);
    while (next + 1 < vectors.size()) {  // the pairs, positive then negative
      scoring.positive.push_back(std::move(vectors[next++]));
      scoring.negative.push_back(std::move(vectors[next++]));
    }
    request.examples = std::move(scoring);
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> found, collection_.Query(request));
    return Ranked{std::move(found), false};
  }

  // avg(positive), or 2 avg(positive) - avg(negative) with negatives; empty when dimensions differ.
  static std::vector<float> AverageVector(const std::vector<std::vector<float>>& positive,
                                          const std::vector<std::vector<float>>& negative) {
    const size_t dim = positive[0].size();
    auto average = [dim](const std::vector<std::vector<float>>& vs, std::vector<float>* out) {
      out->assign(dim, 0.0f);
      for (const auto& v : vs) {
        if (v.size() != dim) return false;
        for (size_t i = 0; i < dim; ++i) (*out)[i] += v[i];
      }
      for (float& x : *out) x /= static_cast<float>(vs.size());
      return true;
    };
    std::vector<float> pos;
    if (!average(positive, &pos)) return {};
    if (negative.empty()) return pos;
    std::vector<float> neg;
    if (!average(negative, &neg)) return {};
    for (size_t i = 0; i < dim; ++i) pos[i] = pos[i] + pos[i] - neg[i];
    return pos;
  }

  StatusOr<Ranked> Fuse(const QueryNode& node, const FusionOp& op, std::vector<Ranked> children,
                        size_t need) {
    std::vector<std::vector<PointView>> lists;
    for (Ranked& r : children) {
      if (r.distances) {  // DBSF sums normalized scores: make every list higher-is-better first
        for (PointView& p : r.points) {
          if (p.score) p.score = -*p.score;
        }
      }
      for (PointView& p : r.points) p.vectors.clear();
      lists.push_back(std::move(r.points));
    }
    Ranked out;
    out.points = op.kind == FusionOp::Kind::kRrf ? FuseRrf(std::move(lists), op.k, op.weights)
                                                 : FuseDbsf(std::move(lists));
    if (node.search.score_threshold) {
      const float t = *node.search.score_threshold;
      std::erase_if(out.points, [t](const PointView& p) { return p.score.value_or(0) < t; });
    }
    if (out.points.size() > need) out.points.resize(need);
    return out;
  }

  const Collection& collection_;
  const Deadline& deadline_;
  const CollectionConfig config_;
};

}  // namespace

bool IsSingleSearch(const QueryPlan& plan) {
  const auto* nearest = std::get_if<NearestOp>(&plan.root.op);
  return nearest != nullptr && !nearest->mmr && plan.root.prefetch.empty();
}

StatusOr<std::vector<PointView>> RunQueryPlan(const Collection& collection, const QueryPlan& plan) {
  const QueryNode& root = plan.root;
  if (std::holds_alternative<std::monostate>(root.op) && root.prefetch.empty()) {
    // No query at all: points in id order, as Qdrant lists them, after `offset` of them, each with
    // Qdrant's score 0 for an unscored point.
    ScrollRequest scroll;
    scroll.limit = plan.offset + root.search.limit;
    scroll.filter = root.search.filter;
    scroll.with_payload = plan.with_payload;
    scroll.with_vector = plan.with_vector;
    scroll.deadline = plan.deadline;
    VJ_ASSIGN_OR_RETURN(ScrollResult result, collection.Scroll(scroll));
    std::vector<PointView>& points = result.points;
    points.erase(points.begin(), points.begin() + static_cast<ptrdiff_t>(std::min(plan.offset, points.size())));
    for (PointView& p : points) p.score = 0.0f;
    return std::move(points);
  }
  if (IsSingleSearch(plan)) {
    // The single-vector query: one search that also selects payloads and vectors on the shards.
    const NearestOp& nearest = std::get<NearestOp>(root.op);
    QueryRequest request = root.search;
    request.offset = plan.offset;
    request.with_payload = plan.with_payload;
    request.with_vector = plan.with_vector;
    request.deadline = plan.deadline;
    if (nearest.target.id) {
      const PointId& id = *nearest.target.id;
      VJ_ASSIGN_OR_RETURN(
          std::vector<PointView> found,
          collection.Retrieve({id}, PayloadSelector{}, VectorSelector{false, {request.using_vector}}));
      if (!found.empty() && found[0].sparse.count(request.using_vector) != 0) {
        request.sparse_vector = std::move(found[0].sparse[request.using_vector]);  // its sparse vector
      } else if (found.empty() || found[0].vectors.count(request.using_vector) == 0) {
        return absl::NotFoundError("No point with id " + id.ToString() + " found");
      } else {
        request.vector = std::move(found[0].vectors[request.using_vector]);
      }
      request.filter = ExceptIds({id}, request.filter);
    } else if (nearest.target.sparse) {
      request.sparse_vector = nearest.target.sparse;
    } else {
      request.vector = nearest.target.vector;
    }
    return collection.Query(request);
  }
  PlanRunner runner(collection, plan.deadline);
  VJ_ASSIGN_OR_RETURN(Ranked ranked,
                      runner.Run(plan.root, std::nullopt, plan.offset + plan.root.search.limit));
  std::vector<PointView> page;
  for (size_t i = plan.offset; i < ranked.points.size(); ++i) page.push_back(std::move(ranked.points[i]));
  const bool want_payload = plan.with_payload.mode != PayloadSelector::Mode::kNone;
  if (!want_payload && !plan.with_vector.any()) {
    for (PointView& p : page) {
      p.vectors.clear();
      p.payload.reset();
    }
    return page;
  }
  // Payloads and vectors for the final page only, in its order; a point deleted meanwhile drops out.
  std::vector<PointId> ids;
  for (const PointView& p : page) ids.push_back(p.id);
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> full,
                      collection.Retrieve(ids, plan.with_payload, plan.with_vector));
  std::unordered_map<PointId, PointView*, PointIdHash> by_id;
  for (PointView& v : full) by_id[v.id] = &v;
  std::vector<PointView> out;
  for (PointView& p : page) {
    auto it = by_id.find(p.id);
    if (it == by_id.end()) continue;
    PointView v = std::move(*it->second);
    v.score = p.score;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace vj

// The read side of Shard: retrieve, scroll, count and the query planner.
#include <algorithm>
#include <cmath>
#include <random>

#include "collection/shard.h"

#include "collection/index_compactor.h"
#include "collection/payload_edit.h"
#include "collection/score_fusion.h"
#include "collection/shard_state.h"

#include "tracing/tracer.h"

namespace vj {

CollectionInfo Shard::Info() const {
  std::shared_lock lock(state_->mu);
  CollectionInfo info;
  info.points_count = state_->live.cardinality();
  info.indexed_vectors_count = info.points_count * state_->config.vectors.size();
  info.config = state_->config;
  for (const auto& [key, index] : state_->payload_indexes) {
    info.payload_index_points[key] = index->indexed_points();
  }
  info.last_sequence = state_->store->last_sequence();
  for (const auto& [name, index] : state_->vector_indexes) info.tombstones += index->tombstone_count();
  // Rebuilding an index in the background: compacting, or with new settings.
  if (compactor_->busy() || index_rebuilds_pending_.load() > 0) info.status = "yellow";
  return info;
}

uint64_t Shard::last_sequence() const { return state_->store->last_sequence(); }

PointView Shard::View(uint32_t internal, const PayloadSelector& with_payload,
                           const VectorSelector& with_vector) const {
  PointView view;
  view.id = state_->external_of[internal];
  view.payload = SelectPayload(state_->payloads[internal], with_payload);
  if (with_vector.any()) {
    for (const auto& [name, index] : state_->vector_indexes) {
      if (!with_vector.all &&
          std::find(with_vector.names.begin(), with_vector.names.end(), name) ==
              with_vector.names.end()) {
        continue;
      }
      std::vector<float> values(index->dim());
      if (index->GetVector(internal, values.data())) view.vectors[name] = std::move(values);
    }
    for (const auto& [name, index] : state_->sparse_indexes) {
      if (!with_vector.all &&
          std::find(with_vector.names.begin(), with_vector.names.end(), name) == with_vector.names.end()) {
        continue;
      }
      SparseVector v;
      if (index->Get(internal, &v)) view.sparse[name] = std::move(v);
    }
  }
  return view;
}

StatusOr<std::vector<PointView>> Shard::Retrieve(const std::vector<PointId>& ids,
                                                      const PayloadSelector& with_payload,
                                                      const VectorSelector& with_vector) const {
  std::shared_lock lock(state_->mu);
  std::vector<PointView> out;
  for (const PointId& id : ids) {
    auto it = state_->internal_of.find(id);
    if (it == state_->internal_of.end()) continue;
    out.push_back(View(it->second, with_payload, with_vector));
  }
  return out;
}

StatusOr<ScrollResult> Shard::Scroll(const ScrollRequest& request) const {
  if (request.order_by) return ScrollOrdered(request);
  VJ_RETURN_IF_ERROR(request.deadline.Check("Scroll"));
  std::shared_lock lock(state_->mu);
  const ShardState& s = *state_;
  std::optional<roaring::Roaring> matching;
  if (request.filter && !request.filter->empty()) {
    DeadlineTicker ticker(request.deadline);
    matching = s.MatchingIds(*request.filter, &ticker);
    if (ticker.expired()) return request.deadline.TimeoutError("Scroll");
  }
  ScrollResult result;
  auto it = request.offset ? s.internal_of.lower_bound(*request.offset) : s.internal_of.begin();
  for (; it != s.internal_of.end(); ++it) {
    if (matching && !matching->contains(it->second)) continue;
    if (result.points.size() == request.limit) {
      result.next_page_offset = it->first;
      break;
    }
    result.points.push_back(View(it->second, request.with_payload, request.with_vector));
  }
  return result;
}

StatusOr<uint64_t> Shard::Count(const std::optional<Filter>& filter, bool exact,
                                const Deadline& deadline) const {
  VJ_RETURN_IF_ERROR(deadline.Check("Count"));
  std::shared_lock lock(state_->mu);
  if (!filter || filter->empty()) return state_->live.cardinality();
  DeadlineTicker ticker(deadline);
  const uint64_t n = state_->MatchingIds(*filter, &ticker).cardinality();
  if (ticker.expired()) return deadline.TimeoutError("Count");
  return n;
}

StatusOr<const VectorIndex*> Shard::QueryIndex(const QueryRequest& request) const {
  auto it = state_->vector_indexes.find(request.using_vector);
  if (it == state_->vector_indexes.end()) {
    if (state_->sparse_indexes.count(request.using_vector) != 0) {
      return absl::InvalidArgumentError("vector \"" + request.using_vector +
                                        "\" is a sparse vector: query it with {\"indices\": [...], \"values\": [...]}");
    }
    if (request.using_vector.empty()) {
      return absl::InvalidArgumentError(
          "this collection has only named vectors: say which one with \"using\"");
    }
    return absl::InvalidArgumentError("vector \"" + request.using_vector +
                                      "\" is not configured in this collection");
  }
  const VectorIndex* index = it->second.get();
  auto check = [index](const std::vector<float>& vector) -> Status {
    if (vector.size() != index->dim()) {
      return absl::InvalidArgumentError("wrong query vector dimension: expected " +
                                        std::to_string(index->dim()) + ", got " +
                                        std::to_string(vector.size()));
    }
    return CheckVectorValues(vector.data(), vector.size(), "query vector");
  };
  if (!request.examples) {
    VJ_RETURN_IF_ERROR(check(request.vector));
    return index;
  }
  const ExampleScoring& examples = *request.examples;
  using S = ExampleScoring::Strategy;
  const bool pairs = examples.strategy == S::kDiscover || examples.strategy == S::kContext;
  if (pairs && examples.positive.size() != examples.negative.size()) {
    return absl::InvalidArgumentError("context: every pair needs a positive and a negative example");
  }
  if (examples.strategy == S::kContext && examples.positive.empty()) {
    return absl::InvalidArgumentError("context: needs at least one pair");
  }
  if (!pairs && examples.positive.empty() && examples.negative.empty()) {
    return absl::InvalidArgumentError("recommend: needs at least one positive or negative example");
  }
  if (examples.strategy == S::kDiscover) VJ_RETURN_IF_ERROR(check(examples.target));
  for (const auto& v : examples.positive) VJ_RETURN_IF_ERROR(check(v));
  for (const auto& v : examples.negative) VJ_RETURN_IF_ERROR(check(v));
  return index;
}

namespace {

constexpr size_t kSelectivitySample = 256;
// Estimated fraction of `candidates` that match, from a deterministic sample.
double EstimateSelectivity(const FilterMatcher& matches, const roaring::Roaring& candidates) {
  const uint64_t n = candidates.cardinality();
  if (n == 0) return 0;
  std::mt19937_64 rng(n);
  size_t hits = 0;
  const size_t samples = std::min<uint64_t>(kSelectivitySample, n);
  for (size_t i = 0; i < samples; ++i) {
    uint32_t internal = 0;
    candidates.select(static_cast<uint32_t>(rng() % n), &internal);
    if (matches(internal)) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(samples);
}

// The best `need` of the live points that `filter` admits by the recommend strategy's score over the
// examples (highest first, ties by internal id), scoring every such point exactly. Stops early, with
// what it has, once the ticker expires.
std::vector<std::pair<uint32_t, float>> ScoreByExamples(const ShardState& s, const VectorIndex& index,
                                                       const QueryRequest& request, size_t need,
                                                       DeadlineTicker* ticker) {
  const ExampleScoring& reco = *request.examples;
  const Metric metric = index.metric();
  auto similarity = [&](const std::vector<float>& example, uint32_t id) {
    return ScoreToSimilarity(metric, DistanceToScore(metric, index.DistanceTo(example.data(), id)));
  };
  std::vector<float> pos(reco.positive.size());
  std::vector<float> neg(reco.negative.size());
  auto worse = [](const std::pair<uint32_t, float>& a, const std::pair<uint32_t, float>& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  std::vector<std::pair<uint32_t, float>> heap;  // the best so far; heap.front() is the worst of them
  auto consider = [&](uint32_t id) {
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = similarity(reco.positive[i], id);
    for (size_t i = 0; i < neg.size(); ++i) neg[i] = similarity(reco.negative[i], id);
    const float target = reco.strategy == ExampleScoring::Strategy::kDiscover ? similarity(reco.target, id) : 0.0f;
    const float score = ExampleScore(reco.strategy, pos, neg, target);
    if (request.score_threshold && score < *request.score_threshold) return;
    std::pair<uint32_t, float> entry{id, score};
    if (heap.size() < need) {
      heap.push_back(entry);
      std::push_heap(heap.begin(), heap.end(), worse);
    } else if (worse(entry, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), worse);
      heap.back() = entry;
      std::push_heap(heap.begin(), heap.end(), worse);
    }
  };
  const bool filtered = request.filter && !request.filter->empty();
  std::optional<roaring::Roaring> filter_candidates;
  std::optional<FilterMatcher> matches;
  if (filtered) {
    filter_candidates = s.CandidateIds(*request.filter);
    matches.emplace(s, *request.filter);
  }
  for (uint32_t id : filtered ? *filter_candidates : s.live) {
    if (ticker->Expired()) break;
    if (!s.live.contains(id)) continue;
    if (filtered && !(*matches)(id)) continue;
    consider(id);
  }
  std::sort_heap(heap.begin(), heap.end(), worse);
  return heap;
}

}  // namespace

StatusOr<std::vector<PointView>> Shard::Query(const QueryRequest& request) const {
  // Planning (exact scan of a selective filter's candidates or an index walk) and the search.
  Span span = StartSpan("shard.search");
  if (span.recording()) {
    DescribeSpan(span, "search");
    span.SetAttribute("vjvector.limit", uint64_t{request.limit});
  }
  StatusOr<std::vector<PointView>> result = QueryUntraced(request);
  if (!result.ok()) {
    span.SetError(result.status());
  } else if (span.recording()) {
    span.SetAttribute("vjvector.results", uint64_t{result->size()});
  }
  return result;
}

StatusOr<std::vector<PointView>> Shard::QueryUntraced(const QueryRequest& request) const {
  const Deadline& deadline = request.deadline;
  VJ_RETURN_IF_ERROR(deadline.Check("Search"));
  std::shared_lock lock(state_->mu);
  if (request.sparse_vector) return QuerySparse(request);
  const ShardState& s = *state_;
  VJ_ASSIGN_OR_RETURN(const VectorIndex* index, QueryIndex(request));
  const size_t need = request.offset + request.limit;
  std::vector<PointView> out;
  if (need == 0) return out;

  if (request.examples) {
    DeadlineTicker ticker(deadline);
    auto scored = ScoreByExamples(s, *index, request, need, &ticker);
    if (ticker.expired()) return deadline.TimeoutError("Search");
    for (size_t i = request.offset; i < scored.size() && out.size() < request.limit; ++i) {
      PointView view = View(scored[i].first, request.with_payload, request.with_vector);
      view.score = scored[i].second;
      out.push_back(std::move(view));
    }
    return out;
  }

  const HnswParams hnsw = s.config.EffectiveHnsw(request.using_vector);
  const double kb_per_vector = static_cast<double>(index->dim()) * sizeof(float) / 1024.0;
  auto small_enough_to_scan = [&](double points) {
    return points * kb_per_vector < static_cast<double>(hnsw.full_scan_threshold_kb);
  };
  SearchParams params;
  params.k = need;
  params.ef = std::max(need, request.hnsw_ef != 0 ? request.hnsw_ef : hnsw.ef_search);
  params.ignore_quantization = request.ignore_quantization;
  params.rescore = request.rescore;
  params.oversampling = request.oversampling;

  // The index calls the id filters once per point it considers, so they are where the deadline is
  // checked inside an exact scan or a graph walk: once it passes they refuse every id, the search ends
  // with what it has (or nothing), and the timeout is returned below instead of its results.
  DeadlineTicker ticker(deadline);
  // Only a deadline that can pass is handed to the walk: without one the walk does no checks at all.
  params.deadline = deadline.is_set() ? &deadline : nullptr;
  std::vector<Neighbor> found;
  const bool filtered = request.filter && !request.filter->empty();
  if (!filtered) {
    auto live = [&s, &ticker](uint32_t id) { return !ticker.Expired() && s.live.contains(id); };
    params.exact = request.exact || small_enough_to_scan(static_cast<double>(s.live.cardinality()));
    found = index->Search(request.vector.data(), params, live);
    if (deadline.Expired()) return deadline.TimeoutError("Search");  // a walk it stopped returns nothing
    // Points without this vector (update/delete_vectors) are not in its index: compare with what it holds.
    const uint64_t reachable = std::min<uint64_t>(s.live.cardinality(), index->live_count());
    if (found.size() < need && found.size() < reachable && !params.exact && !ticker.Expired()) {
      params.exact = true;  // a graph that could not reach enough points: fall back to exact
      found = index->Search(request.vector.data(), params, live);
    }
  } else {
    const Filter& filter = *request.filter;
    roaring::Roaring candidates = s.CandidateIds(filter);
    const FilterMatcher matches(s, filter);
    bool scan = request.exact || small_enough_to_scan(static_cast<double>(candidates.cardinality()));
    double matching = 0;
    if (!scan) {
      matching = EstimateSelectivity(matches, candidates) * candidates.cardinality();
      scan = small_enough_to_scan(matching);
    }
    if (!scan) {
      auto allowed = [&](uint32_t id) {
        return !ticker.Expired() && candidates.contains(id) && matches(id);
      };
      // A filter correlated with the vectors (the query's neighbourhood holds few matches) makes the
      // walk cross much of the graph; past its budget the exact scan of the matches is cheaper.
      params.max_scored = FilteredWalkBudget(matching, params.ef);
      found = index->Search(request.vector.data(), params, allowed);
      if (deadline.Expired()) return deadline.TimeoutError("Search");
      // Fewer than asked: a restrictive filter the graph could not satisfy, or a walk over its budget.
      scan = found.size() < need;
    }
    if (scan && !ticker.expired()) {
      std::vector<uint32_t> matching;
      for (uint32_t id : candidates) {
        if (ticker.Expired()) break;
        if (matches(id)) matching.push_back(id);
      }
      if (!ticker.expired()) found = index->SearchAmong(request.vector.data(), need, matching);
    }
  }
  // A search cut short may have returned fewer or worse results: never answer with them.
  if (ticker.expired()) return deadline.TimeoutError("Search");

  const Metric metric = index->metric();
  const float bound = request.score_threshold
                          ? ScoreThresholdToDistance(metric, *request.score_threshold)
                          : std::numeric_limits<float>::infinity();
  for (size_t i = request.offset; i < found.size() && out.size() < request.limit; ++i) {
    if (found[i].distance > bound) break;
    PointView view = View(found[i].id, request.with_payload, request.with_vector);
    view.score = DistanceToScore(metric, found[i].distance);
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace vj

// QueryPlan: one request of the Query API (/points/query, and /points/recommend on top of it) as a tree.
// Leaves are retrievers: a nearest search by a vector (or by the stored vector of a point), a recommend,
// discover or context search over examples, or a filter alone. An inner node takes the candidates of
// its prefetches and either re-scores them with its own retriever (restricted to those candidates),
// fuses their lists (rrf, dbsf), or passes a single prefetch through. A nearest search may pick its
// results by maximal marginal relevance (mmr) from a larger candidate list.
//
// Where each operator runs: retrievers run on every shard (local, or on a peer through the shard's
// query route) and their per-shard top lists are merged by Collection::Query into one global list;
// fusion, mmr and the averaging of recommend examples run once, on the merged lists, at the node that
// took the request, because RRF ranks and MMR's similarities to chosen points are global. Only ids,
// scores (and, for mmr, the candidates' vectors) travel until the end; payloads and vectors are fetched
// for the final page of points only.
//
// A node's filter applies to its prefetches too (Qdrant's rule): the filter a retriever runs with is its
// own AND every ancestor's.
// Thread-safety: plain values; RunQueryPlan may run concurrently on one collection.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "collection/collection.h"
#include "collection/requests.h"
#include "collection/score_fusion.h"

namespace vj {

// A vector given in the request, or the id of a point whose stored vector (of the node's `using`) it is.
struct VectorInput {
  std::optional<PointId> id;
  std::vector<float> vector;  // when !id and !sparse
  // A sparse query vector ({"indices", "values"}); only as the target of a nearest search, whose `using`
  // then names a sparse vector.
  std::optional<SparseVector> sparse;
};

struct MmrOp {
  float diversity = 0.5f;                  // in [0, 1]: 0 = relevance only, 1 = diversity only
  std::optional<size_t> candidates_limit;  // default: the node's limit
};

struct NearestOp {
  VectorInput target;
  std::optional<MmrOp> mmr;
};

enum class RecommendStrategy { kAverageVector, kBestScore, kSumScores };

struct RecommendOp {
  std::vector<VectorInput> positive;
  std::vector<VectorInput> negative;
  RecommendStrategy strategy = RecommendStrategy::kAverageVector;
};

struct ContextPair {
  VectorInput positive;
  VectorInput negative;
};

// Discovery: points on the positive side of most context pairs, then closest to the target.
struct DiscoverOp {
  VectorInput target;
  std::vector<ContextPair> context;
};

// Context search: points on the positive side of the pairs (score 0 when on it for every pair).
struct ContextOp {
  std::vector<ContextPair> pairs;
};

struct FusionOp {
  enum class Kind { kRrf, kDbsf };
  Kind kind = Kind::kRrf;
  double k = kDefaultRrfK;     // rrf only
  std::vector<float> weights;  // rrf only: empty, or one per prefetch
};

struct QueryNode {
  std::vector<QueryNode> prefetch;
  // monostate: no query (a filter-only list in id order, or the one prefetch's list as it is).
  std::variant<std::monostate, NearestOp, RecommendOp, DiscoverOp, ContextOp, FusionOp> op;
  // using_vector, filter, limit, score_threshold and the search params of this node; its vector,
  // offset, selectors and deadline are unused (the plan's apply).
  QueryRequest search;
};

struct QueryPlan {
  QueryNode root;
  size_t offset = 0;
  PayloadSelector with_payload;
  VectorSelector with_vector;
  Deadline deadline;
};

// True when the plan is one nearest search without prefetch or mmr: the single-vector query path.
bool IsSingleSearch(const QueryPlan& plan);

// Runs the plan: the root's best offset + limit points, the first `offset` skipped, with the selected
// payload and vectors. NotFound when an id given as a vector names no point; InvalidArgument for a
// vector name or dimension the collection does not have; the deadline's timeout when it passes.
[[nodiscard]] StatusOr<std::vector<PointView>> RunQueryPlan(const Collection& collection,
                                                            const QueryPlan& plan);

}  // namespace vj

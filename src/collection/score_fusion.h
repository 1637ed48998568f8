// The scoring operators of the Query API that work on whole candidate lists rather than on one shard's
// points: reciprocal rank fusion, distribution-based score fusion, maximal marginal relevance, and the
// per-point scores of the recommend strategies. They follow Qdrant's definitions (docs/api.md, "Query
// API") so that results match a Qdrant server's for the same lists.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "collection/requests.h"
#include "core/deadline.h"
#include "core/distance.h"

namespace vj {

// Qdrant's default RRF constant (not the literature's 60).
inline constexpr double kDefaultRrfK = 2;

// Reciprocal rank fusion: a point at 0-based position p of list i gains 1 / ((p + 1) / w_i + k - 1)
// (with w_i = 1 that is 1 / (p + k)); a weight <= 0 adds nothing. `weights` is empty (all 1) or holds
// one weight per list. Returns every point of every list once, by fused score descending, ties by id;
// a point keeps the vectors it had in the first list that held it.
std::vector<PointView> FuseRrf(std::vector<std::vector<PointView>> lists, double k,
                               const std::vector<float>& weights);

// Distribution-based score fusion: each list's scores are mapped to (s - (mean - 3 sd)) / (6 sd), sd the
// sample standard deviation of that list (a list of one point, or of equal scores, maps to 0.5); a
// point's fused score is the sum over the lists that hold it. Order as FuseRrf.
std::vector<PointView> FuseDbsf(std::vector<std::vector<PointView>> lists);

// Maximal marginal relevance, greedily: the most relevant candidate first, then repeatedly the one
// maximising (1 - diversity) * relevance[i] - diversity * max over chosen j of similarity(i, j).
// Returns up to `limit` candidate indices in the order chosen; ties go to the lower index. It costs
// limit x candidates similarities: it stops early, with what it chose, once `deadline` passes.
std::vector<size_t> SelectMmr(const std::vector<float>& relevance,
                              const std::function<float(size_t, size_t)>& similarity, float diversity,
                              size_t limit, const Deadline& deadline = Deadline());

// Similarity, higher is closer, of a user-facing score under `metric`: the score itself for Cosine and
// Dot, its negation for the distances (Euclid, Manhattan).
float ScoreToSimilarity(Metric metric, float score);
// Similarity of two stored-form vectors (normalized for Cosine) of `dim` floats, as ScoreToSimilarity.
float VectorSimilarity(Metric metric, const float* a, const float* b, size_t dim);

// The score of a point given its similarities to the examples (ExampleScoring): for best_score and
// sum_scores, `positive` and `negative` hold its similarities to the positive and negative examples;
// for discover and context, to the two sides of each context pair, and `target` (discover only) to
// the target. With sigmoid(x) = x / (1 + |x|) and s(x) = (sigmoid(x) + 1) / 2:
//   best_score: s(best positive) when that beats the best negative, else -s(best negative);
//   sum_scores: sum(positive) - sum(negative);
//   discover:   (pairs whose positive is closer) - (the other pairs) + s(target);
//   context:    sum over pairs of sigmoid(min(positive - negative - FLT_EPSILON, 0)).
float ExampleScore(ExampleScoring::Strategy strategy, const std::vector<float>& positive,
                   const std::vector<float>& negative, float target = 0);

// Sorts by score descending (a missing score last), ties by id ascending.
void SortByScoreDescending(std::vector<PointView>* points);

}  // namespace vj

#include "collection/score_fusion.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace vj {

namespace {

// Sums the per-list contributions of each point, keeping the first copy of each point seen.
class ScoreSum {
 public:
  void Add(PointView point, float contribution) {
    auto [it, fresh] = index_.emplace(point.id, out_.size());
    if (fresh) {
      point.score = contribution;
      out_.push_back(std::move(point));
    } else {
      *out_[it->second].score += contribution;
    }
  }
  std::vector<PointView> Sorted() && {
    SortByScoreDescending(&out_);
    return std::move(out_);
  }

 private:
  std::vector<PointView> out_;
  std::unordered_map<PointId, size_t, PointIdHash> index_;
};

float FastSigmoid(float x) { return x / (1.0f + std::fabs(x)); }
float ScaledSigmoid(float x) { return 0.5f * (FastSigmoid(x) + 1.0f); }

}  // namespace

void SortByScoreDescending(std::vector<PointView>* points) {
  std::stable_sort(points->begin(), points->end(), [](const PointView& a, const PointView& b) {
    const float sa = a.score.value_or(-std::numeric_limits<float>::infinity());
    const float sb = b.score.value_or(-std::numeric_limits<float>::infinity());
    if (sa != sb) return sa > sb;
    return a.id < b.id;
  });
}

std::vector<PointView> FuseRrf(std::vector<std::vector<PointView>> lists, double k,
                               const std::vector<float>& weights) {
  ScoreSum sum;
  for (size_t i = 0; i < lists.size(); ++i) {
    const double w = i < weights.size() ? weights[i] : 1.0;
    for (size_t pos = 0; pos < lists[i].size(); ++pos) {
      const double score = w <= 0 ? 0.0 : 1.0 / (static_cast<double>(pos + 1) / w + k - 1.0);
      sum.Add(std::move(lists[i][pos]), static_cast<float>(score));
    }
  }
  return std::move(sum).Sorted();
}

std::vector<PointView> FuseDbsf(std::vector<std::vector<PointView>> lists) {
  ScoreSum sum;
  for (std::vector<PointView>& list : lists) {
    const size_t n = list.size();
    double mean = 0;
    double sd = 0;
    if (n >= 2) {
      for (const PointView& p : list) mean += p.score.value_or(0);
      mean /= static_cast<double>(n);
      double squares = 0;
      for (const PointView& p : list) squares += std::pow(p.score.value_or(0) - mean, 2);
      sd = std::sqrt(squares / static_cast<double>(n - 1));
    }
    const double low = mean - 3 * sd;
    const double high = mean + 3 * sd;
    for (PointView& p : list) {
      const double s = p.score.value_or(0);
      const double normalized = (n < 2 || high == low) ? 0.5 : (s - low) / (high - low);
      sum.Add(std::move(p), static_cast<float>(normalized));
    }
  }
  return std::move(sum).Sorted();
}

std::vector<size_t> SelectMmr(const std::vector<float>& relevance,
                              const std::function<float(size_t, size_t)>& similarity, float diversity,
                              size_t limit, const Deadline& deadline) {
  const size_t n = relevance.size();
  std::vector<size_t> chosen;
  if (n == 0 || limit == 0) return chosen;
  const float lambda = 1.0f - diversity;
  std::vector<bool> taken(n, false);
  // max_sim[i]: the highest similarity of candidate i to any chosen candidate so far.
  std::vector<float> max_sim(n, -std::numeric_limits<float>::infinity());
  while (chosen.size() < std::min(limit, n) && !deadline.Expired()) {
    size_t best = n;
    float best_value = 0;
    for (size_t i = 0; i < n; ++i) {
      if (taken[i]) continue;
      const float value = chosen.empty() ? relevance[i] : lambda * relevance[i] - diversity * max_sim[i];
      if (best == n || value > best_value) {
        best = i;
        best_value = value;
      }
    }
    taken[best] = true;
    chosen.push_back(best);
    for (size_t i = 0; i < n; ++i) {
      if (!taken[i]) max_sim[i] = std::max(max_sim[i], similarity(i, best));
    }
  }
  return chosen;
}

float ScoreToSimilarity(Metric metric, float score) {
  return (metric == Metric::kCosine || metric == Metric::kDot) ? score : -score;
}

float VectorSimilarity(Metric metric, const float* a, const float* b, size_t dim) {
  return ScoreToSimilarity(metric, DistanceToScore(metric, Distance(metric, a, b, dim)));
}

float ExampleScore(ExampleScoring::Strategy strategy, const std::vector<float>& positive,
                   const std::vector<float>& negative, float target) {
  using S = ExampleScoring::Strategy;
  switch (strategy) {
    case S::kSumScores: {
      float sum = 0;
      for (float s : positive) sum += s;
      for (float s : negative) sum -= s;
      return sum;
    }
    case S::kDiscover: {
      int rank = 0;
      for (size_t i = 0; i < positive.size() && i < negative.size(); ++i)
        rank += positive[i] > negative[i] ? 1 : -1;
      return static_cast<float>(rank) + ScaledSigmoid(target);
    }
    case S::kContext: {
      float loss = 0;
      for (size_t i = 0; i < positive.size() && i < negative.size(); ++i) {
        loss +=
            FastSigmoid(std::min(positive[i] - negative[i] - std::numeric_limits<float>::epsilon(), 0.0f));
      }
      return loss;
    }
    case S::kBestScore:
      break;
  }
  float best_positive = -std::numeric_limits<float>::infinity();
  float best_negative = -std::numeric_limits<float>::infinity();
  for (float s : positive) best_positive = std::max(best_positive, s);
  for (float s : negative) best_negative = std::max(best_negative, s);
  return best_positive > best_negative ? ScaledSigmoid(best_positive) : -ScaledSigmoid(best_negative);
}

}  // namespace vj

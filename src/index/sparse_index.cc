#include "index/sparse_index.h"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace vj {
namespace {

bool Better(const SparseHit& a, const SparseHit& b) {
  return a.score != b.score ? a.score > b.score : a.id < b.id;
}

// Keeps the best k hits: a heap whose front is the worst held.
class HitHeap {
 public:
  explicit HitHeap(size_t k) : k_(k) {}
  void Push(SparseHit hit) {
    if (k_ == 0) return;
    if (heap_.size() < k_) {
      heap_.push_back(hit);
      std::push_heap(heap_.begin(), heap_.end(), Better);
    } else if (Better(hit, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Better);
      heap_.back() = hit;
      std::push_heap(heap_.begin(), heap_.end(), Better);
    }
  }
  std::vector<SparseHit> TakeSorted() {
    std::sort_heap(heap_.begin(), heap_.end(), Better);
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<SparseHit> heap_;
};

// Per-thread accumulators of term-at-a-time scoring, reused across searches and indexes; they are left
// zeroed after each search.
struct Accumulators {
  std::vector<float> score;
  std::vector<uint8_t> touched_flag;
  std::vector<uint32_t> touched;
};

}  // namespace

void SparseIndex::Insert(uint32_t id, SparseVector vector) {
  std::unique_lock lock(mu_);
  RemoveLocked(id);
  if (forward_.size() <= id) {
    forward_.resize(static_cast<size_t>(id) + 1);
    present_.resize(static_cast<size_t>(id) + 1, false);
  }
  for (size_t i = 0; i < vector.indices.size(); ++i) {
    std::vector<Posting>& list = postings_[vector.indices[i]];
    const Posting p{id, vector.values[i]};
    if (list.empty() || list.back().id < id) {
      list.push_back(p);  // ids are mostly handed out in increasing order
    } else {
      auto at = std::lower_bound(list.begin(), list.end(), id,
                                 [](const Posting& e, uint32_t v) { return e.id < v; });
      list.insert(at, p);
    }
  }
  forward_[id] = std::move(vector);
  present_[id] = true;
  ++live_;
}

void SparseIndex::Remove(uint32_t id) {
  std::unique_lock lock(mu_);
  RemoveLocked(id);
}

void SparseIndex::RemoveLocked(uint32_t id) {
  if (id >= present_.size() || !present_[id]) return;
  for (uint32_t index : forward_[id].indices) {
    auto it = postings_.find(index);
    if (it == postings_.end()) continue;
    std::vector<Posting>& list = it->second;
    auto at = std::lower_bound(list.begin(), list.end(), id,
                               [](const Posting& e, uint32_t v) { return e.id < v; });
    if (at != list.end() && at->id == id) list.erase(at);
    if (list.empty()) postings_.erase(it);
  }
  forward_[id] = SparseVector();
  present_[id] = false;
  --live_;
}

void SparseIndex::Clear() {
  std::unique_lock lock(mu_);
  postings_.clear();
  forward_.clear();
  present_.clear();
  live_ = 0;
}

bool SparseIndex::Get(uint32_t id, SparseVector* out) const {
  std::shared_lock lock(mu_);
  if (id >= present_.size() || !present_[id]) return false;
  *out = forward_[id];
  return true;
}

bool SparseIndex::Contains(uint32_t id) const {
  std::shared_lock lock(mu_);
  return id < present_.size() && present_[id];
}

size_t SparseIndex::live_count() const {
  std::shared_lock lock(mu_);
  return live_;
}

float SparseIndex::IdfLocked(uint32_t index) const {
  auto it = postings_.find(index);
  const double n = it == postings_.end() ? 0.0 : static_cast<double>(it->second.size());
  const double total = static_cast<double>(live_);
  return static_cast<float>(std::log((total - n + 0.5) / (n + 0.5) + 1.0));
}

SparseVector SparseIndex::WeightedQueryLocked(const SparseVector& query) const {
  SparseVector weighted = query;
  if (idf_modifier_) {
    for (size_t i = 0; i < weighted.indices.size(); ++i) weighted.values[i] *= IdfLocked(weighted.indices[i]);
  }
  return weighted;
}

SparseVector SparseIndex::WeightedQuery(const SparseVector& query) const {
  std::shared_lock lock(mu_);
  return WeightedQueryLocked(query);
}

std::vector<SparseHit> SparseIndex::Search(const SparseVector& query, size_t k,
                                           const std::function<bool(uint32_t)>& allowed) const {
  thread_local Accumulators acc;
  std::shared_lock lock(mu_);
  const SparseVector weighted = WeightedQueryLocked(query);
  if (acc.score.size() < forward_.size()) {
    acc.score.resize(forward_.size(), 0.0f);
    acc.touched_flag.resize(forward_.size(), 0);
  }
  acc.touched.clear();
  // Term at a time, in increasing index order: each point's sum is formed in the same order as
  // SparseDot's merge, so scores equal the exhaustive ones bit for bit.
  for (size_t t = 0; t < weighted.indices.size(); ++t) {
    auto it = postings_.find(weighted.indices[t]);
    if (it == postings_.end()) continue;
    const float q = weighted.values[t];
    for (const Posting& p : it->second) {
      if (!acc.touched_flag[p.id]) {
        acc.touched_flag[p.id] = 1;
        acc.touched.push_back(p.id);
      }
      acc.score[p.id] += q * p.weight;
    }
  }
  HitHeap heap(k);
  for (uint32_t id : acc.touched) {
    const float score = acc.score[id];
    acc.score[id] = 0.0f;
    acc.touched_flag[id] = 0;
    if (allowed && !allowed(id)) continue;
    heap.Push(SparseHit{id, score});
  }
  acc.touched.clear();
  return heap.TakeSorted();
}

std::vector<SparseHit> SparseIndex::SearchAmong(const SparseVector& query, size_t k,
                                                const std::vector<uint32_t>& candidates) const {
  std::shared_lock lock(mu_);
  const SparseVector weighted = WeightedQueryLocked(query);
  HitHeap heap(k);
  for (uint32_t id : candidates) {
    if (id >= present_.size() || !present_[id]) continue;
    const SparseVector& v = forward_[id];
    bool shares = false;
    float sum = 0;
    size_t i = 0, j = 0;
    while (i < weighted.indices.size() && j < v.indices.size()) {
      if (weighted.indices[i] < v.indices[j]) {
        ++i;
      } else if (weighted.indices[i] > v.indices[j]) {
        ++j;
      } else {
        shares = true;
        sum += weighted.values[i++] * v.values[j++];
      }
    }
    if (shares) heap.Push(SparseHit{id, sum});
  }
  return heap.TakeSorted();
}

std::vector<SparseHit> BruteForceSparseTopK(const SparseVector& weighted_query, size_t k,
                                            const std::vector<std::pair<uint32_t, SparseVector>>& points) {
  HitHeap heap(k);
  for (const auto& [id, v] : points) {
    bool shares = false;
    for (uint32_t index : v.indices) {
      if (std::binary_search(weighted_query.indices.begin(), weighted_query.indices.end(), index)) {
        shares = true;
        break;
      }
    }
    if (shares) heap.Push(SparseHit{id, SparseDot(weighted_query, v)});
  }
  return heap.TakeSorted();
}

}  // namespace vj

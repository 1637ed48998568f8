// FlatIndex: exact brute-force search. Vectors live in one array indexed by id (id * dim), so a scan is a
// sequential walk; a shared_mutex lets searches run together while writers take it exclusively.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"
#include "index/metric_distance.h"
#include "index/top_k.h"
#include "index/vector_index.h"

namespace vj {
namespace {

class FlatIndex final : public VectorIndex {
 public:
  FlatIndex(size_t dim, Metric metric) : distance_(metric, dim) {}

  void Insert(uint32_t id, const float* v) override {
    std::vector<float> prepared(dim());
    distance_.Prepare(v, prepared.data());
    std::unique_lock lock(mu_);
    InsertLocked(id, prepared.data());
  }

  void InsertBatch(const std::vector<uint32_t>& ids, const std::vector<const float*>& vectors,
                   size_t /*threads*/) override {
    // A single writer is as fast as it gets here: copying vectors is memory-bound.
    std::vector<float> prepared(dim());
    std::unique_lock lock(mu_);
    if (!ids.empty()) {
      const uint32_t max_id = *std::max_element(ids.begin(), ids.end());
      if (max_id >= live_.size()) Grow(max_id + 1);
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      distance_.Prepare(vectors[i], prepared.data());
      InsertLocked(ids[i], prepared.data());
    }
  }

  void Remove(uint32_t id) override {
    std::unique_lock lock(mu_);
    if (id < live_.size() && live_[id]) {
      live_[id] = 0;
      --live_count_;
    }
  }

  std::vector<Neighbor> Search(const float* query, const SearchParams& params,
                               const IdFilter& filter) const override {
    std::vector<float> q(dim());
    distance_.Prepare(query, q.data());
    TopK top(params.k);
    std::shared_lock lock(mu_);
    const size_t n = live_.size();
    const size_t d = dim();
    for (size_t id = 0; id < n; ++id) {
      if (!live_[id]) continue;
      if (filter && !filter(static_cast<uint32_t>(id))) continue;
      top.Push(static_cast<uint32_t>(id), distance_(q.data(), data_.data() + id * d));
    }
    return top.TakeSorted();
  }

  std::vector<Neighbor> SearchAmong(const float* query, size_t k,
                                    const std::vector<uint32_t>& candidates) const override {
    std::vector<float> q(dim());
    distance_.Prepare(query, q.data());
    TopK top(k);
    std::shared_lock lock(mu_);
    for (uint32_t id : candidates) {
      if (id >= live_.size() || !live_[id]) continue;
      top.Push(id, distance_(q.data(), data_.data() + size_t{id} * dim()));
    }
    std::vector<Neighbor> out = top.TakeSorted();
    // A candidate list may repeat an id; the sorted output has any repeats side by side.
    out.erase(std::unique(out.begin(), out.end(),
                          [](const Neighbor& a, const Neighbor& b) { return a.id == b.id; }),
              out.end());
    return out;
  }

  float DistanceTo(const float* query, uint32_t id) const override {
    std::vector<float> q(dim());
    distance_.Prepare(query, q.data());
    std::shared_lock lock(mu_);
    if (id >= live_.size() || !live_[id]) return std::numeric_limits<float>::infinity();
    return distance_(q.data(), data_.data() + size_t{id} * dim());
  }

  bool GetVector(uint32_t id, float* out) const override {
    std::shared_lock lock(mu_);
    if (id >= live_.size() || !live_[id]) return false;
    std::memcpy(out, data_.data() + size_t{id} * dim(), dim() * sizeof(float));
    return true;
  }

  bool Contains(uint32_t id) const override {
    std::shared_lock lock(mu_);
    return id < live_.size() && live_[id];
  }

  size_t dim() const override { return distance_.dim(); }
  Metric metric() const override { return distance_.metric(); }
  size_t live_count() const override {
    std::shared_lock lock(mu_);
    return live_count_;
  }
  size_t memory_bytes() const override {
    std::shared_lock lock(mu_);
    return data_.capacity() * sizeof(float) + live_.capacity();
  }

 private:
  void Grow(size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Geometric growth keeps a run of ascending inserts amortized O(1) per id.
    const size_t target = std::max(n, live_.size() * 3 / 2);
    data_.resize(target * dim());
    live_.resize(target, 0);
  }

  void InsertLocked(uint32_t id, const float* prepared) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (id >= live_.size()) Grow(size_t{id} + 1);
    std::memcpy(data_.data() + size_t{id} * dim(), prepared, dim() * sizeof(float));
    if (!live_[id]) {
      live_[id] = 1;
      ++live_count_;
    }
  }

  const MetricDistance distance_;

  mutable std::shared_mutex mu_;
  std::vector<float> data_ ABSL_GUARDED_BY(mu_);    // id * dim
  std::vector<uint8_t> live_ ABSL_GUARDED_BY(mu_);  // 1 where id holds a vector
  size_t live_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

std::unique_ptr<VectorIndex> NewFlatIndex(size_t dim, Metric metric) {
  return std::make_unique<FlatIndex>(dim, metric);
}

}  // namespace vj

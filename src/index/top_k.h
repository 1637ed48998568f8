// TopK: the k best (lowest-distance) neighbours seen so far, kept as a bounded max-heap so the worst
// survivor is at the front and a candidate that cannot enter costs one comparison.
// Thread-safety: none; one TopK per search.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "index/vector_index.h"

namespace vj {

class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(k); }

  // The distance a candidate must beat to enter; +inf until k neighbours are held.
  float Bound() const {
    return heap_.size() < k_ ? std::numeric_limits<float>::infinity() : heap_.front().distance;
  }

  void Push(uint32_t id, float distance) {
    if (k_ == 0) return;
    const Neighbor n{id, distance};
    if (heap_.size() < k_) {
      heap_.push_back(n);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (n < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = n;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }

  size_t size() const { return heap_.size(); }

  // The held neighbours, closest first (ties by smaller id). Leaves the TopK empty.
  std::vector<Neighbor> TakeSorted() {
    std::sort_heap(heap_.begin(), heap_.end());
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<Neighbor> heap_;  // max-heap under Neighbor's operator<
};

}  // namespace vj

// Per-thread working memory for HNSW searches: a visited set with epoch tags (cleared by bumping the
// epoch, not by touching memory) and the two heaps of the best-first search. One instance lives in each
// thread (thread_local in hnsw_index.cc) and is reused by every search that thread runs, so a query
// allocates nothing beyond its result once the buffers have grown to the index's size.
// Thread-safety: none; owned by one thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "index/scalar_quantizer.h"

namespace vj::hnsw {

struct Candidate {
  float distance;
  uint32_t node;
};

// Max-heap order on distance: the worst candidate on top.
struct FartherFirst {
  bool operator()(const Candidate& a, const Candidate& b) const { return a.distance < b.distance; }
};
// Min-heap order on distance: the closest candidate on top.
struct CloserFirst {
  bool operator()(const Candidate& a, const Candidate& b) const { return a.distance > b.distance; }
};

// A binary heap over a reusable vector (std::priority_queue cannot clear without freeing).
template <typename Order>
class Heap {
 public:
  void Clear() { items_.clear(); }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const Candidate& top() const { return items_.front(); }
  void Push(Candidate c) {
    items_.push_back(c);
    std::push_heap(items_.begin(), items_.end(), Order());
  }
  void Pop() {
    std::pop_heap(items_.begin(), items_.end(), Order());
    items_.pop_back();
  }
  // The items in heap order; valid until the next Push or Pop.
  std::vector<Candidate>& items() { return items_; }

 private:
  std::vector<Candidate> items_;
};

class VisitedSet {
 public:
  // Starts a new search over node ids below n: every id reads as unvisited.
  void Begin(size_t n) {
    if (tags_.size() < n) tags_.resize(std::max(n, tags_.size() * 2), 0);
    if (++epoch_ == 0) {  // the 16-bit epoch wrapped: stale tags could now match, so clear them once
      std::fill(tags_.begin(), tags_.end(), 0);
      epoch_ = 1;
    }
  }
  bool Visited(uint32_t node) const { return tags_[node] == epoch_; }
  void Mark(uint32_t node) { tags_[node] = epoch_; }
  // Returns whether node was already visited, marking it either way.
  bool TestAndMark(uint32_t node) {
    const bool seen = tags_[node] == epoch_;
    tags_[node] = epoch_;
    return seen;
  }
  const void* Address(uint32_t node) const { return &tags_[node]; }

 private:
  std::vector<uint16_t> tags_;  // 16 bits halve the cache footprint of 32; wraps every 65,535 searches
  uint16_t epoch_ = 0;
};

struct SearchScratch {
  VisitedSet visited;
  Heap<CloserFirst> candidates;  // frontier of the best-first search
  Heap<FartherFirst> top;        // the ef best found, worst on top
  std::vector<float> query;      // the query as the index compares it (normalized for Cosine)
  std::vector<uint8_t> code;     // the query's binary code, for binary-quantized indexes
  ScalarQuantizer::Query sq8;    // the query's SQ8 code, for SQ8 indexes
  std::vector<uint32_t> neighbors;       // unvisited neighbours of the node being expanded
  size_t scored = 0;                     // distance evaluations of the current walk (SearchGraph)
  std::vector<Candidate> selection_in;   // neighbour selection (inserts only)
  std::vector<Candidate> selection_out;
};

}  // namespace vj::hnsw

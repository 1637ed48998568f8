// HnswIndex searches: the graph walk on floats or codes with float re-ranking, exact scans, look-ups.
#include <algorithm>
#include <cmath>

#include "index/hnsw_graph.h"
#include "index/hnsw_walk.h"
#include "index/top_k.h"

namespace vj::hnsw {

std::vector<Neighbor> HnswIndex::Search(const float* query, const SearchParams& params,
                                        const IdFilter& filter) const {
  if (params.k == 0) return {};
  SearchScratch& s = ThreadScratch().search;
  s.query.resize(dim());
  distance_.Prepare(query, s.query.data());
  const uint64_t replaced_before = replaced_.load(std::memory_order_seq_cst);
  std::vector<Neighbor> out;
  if (params.exact) {
    out = ExactSearch(s.query.data(), params.k, filter);
  } else {
    auto lock = ReadLock();
    if (entry_.load(std::memory_order_acquire) == kNoEntry) return {};
    size_t ef = std::max(params.ef != 0 ? params.ef : ef_search_, params.k);
    const bool on_codes = quantized_ && !params.ignore_quantization && Trained();
    bool completed = true;
    size_t keep = params.k;
    const WalkLimits limits{params.max_scored, params.deadline};
    if (on_codes) {
      // Walk on codes; the best `keep` by code distance are re-ranked with floats below.
      const float oversampling = std::isfinite(params.oversampling) ? params.oversampling : 1.0f;
      keep = std::max(params.k,
                      static_cast<size_t>(std::ceil(double(params.k) * std::max(oversampling, 1.0f))));
      ef = std::max(ef, keep);
      s.code.resize(std::max(dim(), links_offset_));
      if (quantization_ == Quantization::kBinary) {
        binary_.Encode(s.query.data(), s.code.data());
        completed = SearchGraph(BitScore{*this, s.code.data()}, ef, filter, limits, s);
      } else {
        sq8_.Prepare(s.query.data(), s.sq8);
        completed = sq8_.per_dimension()
                        ? SearchGraph(Sq8DimScore{*this, s.sq8}, ef, filter, limits, s)
                        : SearchGraph(Sq8Score{*this, s.sq8}, ef, filter, limits, s);
      }
    } else {
      completed = SearchGraph(FloatScore{*this, s.query.data()}, ef, filter, limits, s);
    }
    if (!completed) return {};  // gave up (max_scored: the caller scans instead; or the deadline)
    // Keep only the best unless duplicates may have to be dropped below.
    if (replaced_.load(std::memory_order_seq_cst) == replaced_before) {
      while (s.top.size() > keep) s.top.Pop();
    }
    const bool rescore = on_codes && params.rescore;
    if (params.stats != nullptr) *params.stats = {s.scored, rescore ? s.top.size() : 0};
    if (rescore) {
      for (const Candidate& c : s.top.items()) Prefetch(Vector(c.node));
    }
    out.reserve(s.top.size());
    for (const Candidate& c : s.top.items()) {
      // Re-rank code candidates with their float vectors: exact distances, as float search has.
      const float d = rescore ? distance_(s.query.data(), Vector(c.node)) : c.distance;
      out.push_back({s_.meta[c.node].id, d});
    }
  }
  std::sort(out.begin(), out.end());
  if (replaced_.load(std::memory_order_seq_cst) != replaced_before) {
    // An update raced with this search, which may have seen an id's old node and its new one: keep the
    // closer. Rare, so quadratic in the result size is fine.
    std::vector<Neighbor> unique;
    unique.reserve(out.size());
    for (const Neighbor& n : out) {
      bool seen = false;
      for (const Neighbor& u : unique) seen = seen || u.id == n.id;
      if (!seen) unique.push_back(n);
    }
    out = std::move(unique);
  }
  if (out.size() > params.k) out.resize(params.k);
  return out;
}

std::vector<Neighbor> HnswIndex::ExactSearch(const float* q, size_t k, const IdFilter& filter) const {
  // k extra slots leave room for an id seen twice during a racing update (dropped by Search).
  TopK top(k + (replaced_.load(std::memory_order_relaxed) != 0 ? k : 0));
  auto lock = ReadLock();
  const size_t limit = NodeLimit();
  for (uint32_t node = 0; node < limit; ++node) {
    if (Hidden(node)) continue;
    const uint32_t id = s_.meta[node].id;
    if (filter && !filter(id)) continue;
    top.Push(id, distance_(q, Vector(node)));
  }
  return top.TakeSorted();
}

std::vector<Neighbor> HnswIndex::SearchAmong(const float* query, size_t k,
                                             const std::vector<uint32_t>& candidates) const {
  std::vector<float>& q = ThreadScratch().search.query;
  q.resize(dim());
  distance_.Prepare(query, q.data());
  TopK top(k);
  {
    auto lock = ReadLock();
    for (uint32_t id : candidates) {
      const uint32_t node = NodeOf(id);
      if (node != kNoNode) top.Push(id, distance_(q.data(), Vector(node)));
    }
  }
  std::vector<Neighbor> out = top.TakeSorted();
  // A repeated candidate id shows up side by side in the sorted output.
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Neighbor& a, const Neighbor& b) { return a.id == b.id; }),
            out.end());
  return out;
}

float HnswIndex::DistanceTo(const float* query, uint32_t id) const {
  std::vector<float>& q = ThreadScratch().search.query;
  q.resize(dim());
  distance_.Prepare(query, q.data());
  auto lock = ReadLock();
  const uint32_t node = NodeOf(id);
  if (node == kNoNode) return std::numeric_limits<float>::infinity();
  return distance_(q.data(), Vector(node));
}

bool HnswIndex::GetVector(uint32_t id, float* out) const {
  auto lock = ReadLock();
  const uint32_t node = NodeOf(id);
  if (node == kNoNode) return false;
  std::memcpy(out, Vector(node), dim() * sizeof(float));
  return true;
}

bool HnswIndex::Contains(uint32_t id) const {
  auto lock = ReadLock();
  return NodeOf(id) != kNoNode;
}

}  // namespace vj::hnsw

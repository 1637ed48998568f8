// SparseIndex: an inverted index over one named sparse vector of a shard's points. Each index (term) has a
// posting list of (internal id, weight) sorted by id; a forward table keeps each point's vector (for
// retrieval, removal and scoring a given candidate list). Search is exact: the top k by dot product
// (Qdrant's sparse score) among the points sharing at least one index with the query, accumulated term
// at a time. With the idf modifier each query weight is multiplied at query time by
//   idf(i) = ln((N - n(i) + 0.5) / (n(i) + 0.5) + 1)
// where N is the number of points held and n(i) the number holding index i (Qdrant's formula; the
// statistics are this index's, i.e. one shard's).
//
// Vectors passed in are canonical (core/sparse_vector.h: sorted, unique, finite); the index does not
// check. Internal ids are the shard's dense offsets; memory grows with the largest id.
//
// Thread-safety: every method may be called concurrently with every other (a reader/writer lock inside:
// Insert and Remove exclusive, the rest shared). A search that starts after Insert/Remove returned sees
// its effect. Per-thread scratch (the accumulators) is reused across searches.
#pragma once

#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "core/sparse_vector.h"

namespace vj {

struct SparseHit {
  uint32_t id = 0;
  float score = 0;
  friend bool operator==(const SparseHit&, const SparseHit&) = default;
};

class SparseIndex {
 public:
  explicit SparseIndex(bool idf_modifier) : idf_modifier_(idf_modifier) {}
  SparseIndex(const SparseIndex&) = delete;
  SparseIndex& operator=(const SparseIndex&) = delete;

  // Stores `vector` under `id`, replacing what was there.
  void Insert(uint32_t id, SparseVector vector);
  // Drops id (no-op when absent).
  void Remove(uint32_t id);
  // Drops everything.
  void Clear();

  // Copies id's vector into *out; false when absent.
  bool Get(uint32_t id, SparseVector* out) const;
  bool Contains(uint32_t id) const;
  size_t live_count() const;
  bool idf_modifier() const { return idf_modifier_; }

  // The k best points by score, highest first (ties: smaller id first), among those sharing an index
  // with `query` and admitted by `allowed` (empty = all). `allowed` is called once per such point.
  std::vector<SparseHit> Search(const SparseVector& query, size_t k,
                                const std::function<bool(uint32_t)>& allowed) const;
  // The same ranking among `candidates` only (absent ids and ids sharing no index are skipped): scores
  // each candidate's stored vector, for when the candidates are few (a selective filter).
  std::vector<SparseHit> SearchAmong(const SparseVector& query, size_t k,
                                     const std::vector<uint32_t>& candidates) const;
  // The query as it is scored: with the idf modifier each weight times idf(index); else unchanged.
  SparseVector WeightedQuery(const SparseVector& query) const;

 private:
  struct Posting {
    uint32_t id;
    float weight;
  };
  void RemoveLocked(uint32_t id);
  float IdfLocked(uint32_t index) const;
  SparseVector WeightedQueryLocked(const SparseVector& query) const;

  const bool idf_modifier_;  // never changes

  mutable std::shared_mutex mu_;
  std::unordered_map<uint32_t, std::vector<Posting>> postings_;  // guarded by mu_; sorted by id
  std::vector<SparseVector> forward_;                            // guarded by mu_; by id
  std::vector<bool> present_;                                    // guarded by mu_; by id
  size_t live_ = 0;                                              // guarded by mu_
};

// Exhaustive reference used by tests and benchmarks: scores every (id, vector) pair with SparseDot of
// the (already weighted) query; same ranking and tie rule as SparseIndex::Search.
std::vector<SparseHit> BruteForceSparseTopK(const SparseVector& weighted_query, size_t k,
                                            const std::vector<std::pair<uint32_t, SparseVector>>& points);

}  // namespace vj

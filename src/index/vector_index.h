// The vector index interface: nearest-neighbour search over float vectors addressed by dense internal
// ids (uint32 offsets assigned by the shard). Two implementations: FlatIndex (exact, brute force) and
// HnswIndex (approximate graph search). Issue "ANN engine" may replace internals behind this interface.
//
// Conventions: distances follow core/distance.h (lower is closer). For Metric::kCosine the index
// normalizes vectors on Insert and queries in Search, so callers pass raw vectors.
//
// Thread-safety: every method may be called concurrently with every other (implementations lock
// internally). A Search that runs concurrently with an Insert may or may not see the new point; one that
// starts after Insert/Remove returned sees its effect.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/distance.h"
#include "core/status.h"

namespace vj {

struct Neighbor {
  uint32_t id;
  float distance;
  friend bool operator<(const Neighbor& a, const Neighbor& b) {
    return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
  }
};

// Which ids a search may return. An empty function allows every live id. Called on the search hot path:
// keep it cheap (a bitmap look-up).
using IdFilter = std::function<bool(uint32_t)>;

struct SearchParams {
  size_t k = 10;
  size_t ef = 0;       // HNSW search breadth; 0 = the index default (ef_search); always >= k
  bool exact = false;  // force brute force over all allowed ids
  // With a quantized index: walk the graph on float vectors instead of codes.
  bool ignore_quantization = false;
  // With a quantized index: re-rank the best max(k, k * oversampling) code-distance candidates with
  // exact float distances (without rescore, distances are the codes' approximations).
  bool rescore = true;
  float oversampling = 1.0f;
};

enum class Quantization { kNone, kScalarInt8 };

struct HnswParams {
  size_t m = 16;                // Qdrant hnsw_config.m
  size_t ef_construct = 100;    // Qdrant hnsw_config.ef_construct
  size_t ef_search = 128;       // default search breadth
  // Qdrant's meaning, in KB of vectors: a search over fewer candidates than this is done exactly by
  // the caller (the shard's planner), not through the graph.
  size_t full_scan_threshold_kb = 10000;
  uint64_t seed = 42;
  // kScalarInt8: the graph is searched on 8-bit codes (index/scalar_quantizer.h), trained once the
  // index holds kQuantizerTrainingPoints points; floats are kept for building and re-ranking.
  Quantization quantization = Quantization::kNone;
  float quantile = 1.0f;
};

inline constexpr size_t kQuantizerTrainingPoints = 1024;

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;

  // Stores v (dim floats) under id, replacing any vector already there. Ids need not be dense but the
  // index may allocate up to max id. Precondition: v has dim() finite floats.
  virtual void Insert(uint32_t id, const float* v) = 0;
  // Inserts many, possibly using `threads` threads. Same contract as Insert for each.
  virtual void InsertBatch(const std::vector<uint32_t>& ids, const std::vector<const float*>& vectors,
                           size_t threads) = 0;
  // Removes id from results at once (a tombstone); no-op if absent.
  virtual void Remove(uint32_t id) = 0;

  // The (approximate, for HNSW) k nearest live ids allowed by filter, closest first. FlatIndex returns
  // fewer than k only when fewer are live and allowed; HnswIndex may return fewer under a restrictive
  // filter, and callers then fall back to SearchAmong over the filter's candidates.
  virtual std::vector<Neighbor> Search(const float* query, const SearchParams& params,
                                       const IdFilter& filter) const = 0;

  // Exact top-k among `candidates`, closest first; absent or removed ids are skipped.
  virtual std::vector<Neighbor> SearchAmong(const float* query, size_t k,
                                            const std::vector<uint32_t>& candidates) const = 0;

  // Exact distance from query to the stored vector of id (query raw; normalized for Cosine inside).
  virtual float DistanceTo(const float* query, uint32_t id) const = 0;
  // Copies the stored vector of id into out (dim floats; normalized for Cosine). False if absent.
  virtual bool GetVector(uint32_t id, float* out) const = 0;

  virtual size_t dim() const = 0;
  virtual Metric metric() const = 0;
  virtual size_t live_count() const = 0;
  virtual size_t memory_bytes() const = 0;
};

// Brute force over every live id; exact.
std::unique_ptr<VectorIndex> NewFlatIndex(size_t dim, Metric metric);
// HNSW graph (index/hnsw.h); SearchParams.exact falls back to a brute-force scan.
std::unique_ptr<VectorIndex> NewHnswIndex(size_t dim, Metric metric, const HnswParams& params);

}  // namespace vj

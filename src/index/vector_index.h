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

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/deadline.h"
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

// What one search did, for benchmarks: distance evaluations on the graph walk (codes or floats) and
// float re-ranks of code candidates.
struct SearchStats {
  size_t scored = 0;
  size_t reranked = 0;
};

struct SearchParams {
  size_t k = 10;
  size_t ef = 0;       // HNSW search breadth; 0 = the index default (ef_search); always >= k
  bool exact = false;  // force brute force over all allowed ids
  // With a quantized index: walk the graph on float vectors instead of codes.
  bool ignore_quantization = false;
  // With a quantized index: re-rank the best max(k, k * oversampling) code-distance candidates with
  // exact float distances (without rescore, distances are the codes' approximations). The walk's
  // breadth is raised to that many if ef is smaller. Binary codes need oversampling (e.g. 4-10).
  bool rescore = true;
  float oversampling = 1.0f;
  // A graph walk that would score more than this many nodes gives up and returns no results, so that
  // the caller can scan the filter's matches instead: a filter correlated with the vectors can make the
  // walk cross most of the graph before it finds k matches. 0 = no limit. Exact searches ignore it.
  size_t max_scored = 0;
  // A graph walk that is still going when this passes gives up as max_scored does (no results); the
  // caller answers with the timeout. nullptr = no deadline. Must outlive the search.
  const Deadline* deadline = nullptr;
  // When set, receives what the search did (HnswIndex only; overwritten).
  SearchStats* stats = nullptr;
};

// The max_scored a planner gives a filtered walk when about `matching` points pass the filter: a
// quarter of them (scanning them exactly scores each once; past that the scan is cheaper), and at least
// 4 x ef so that a walk that would finish soon is not cut short. Measured in docs/benchmarks.md.
inline size_t FilteredWalkBudget(double matching, size_t ef) {
  constexpr double kWalkBudgetPerMatch = 0.25;
  return static_cast<size_t>(std::max(matching * kWalkBudgetPerMatch, 4.0 * static_cast<double>(ef)));
}

// kScalarInt8: 8-bit codes, over one global range or a range per dimension (Sq8Ranges;
// index/scalar_quantizer.h). kBinary: one bit per
// dimension, set when the value exceeds that dimension's mean over the training sample
// (index/binary_quantizer.h); compared by Hamming distance, so searches should re-rank (rescore) with
// oversampling.
enum class Quantization { kNone, kScalarInt8, kBinary };
// How SQ8 fits its ranges (the values match ScalarQuantizer::Ranges). kAuto: one global range when the
// training sample is integer data whose range fits 256 steps (exact codes, e.g. pixels), else a range
// per dimension (learned embeddings: no recall ceiling). A snapshot keeps the form it was trained with.
enum class Sq8Ranges : uint8_t { kAuto = 0, kGlobal = 1, kPerDimension = 2 };

struct HnswParams {
  size_t m = 16;                // Qdrant hnsw_config.m
  size_t ef_construct = 100;    // Qdrant hnsw_config.ef_construct
  size_t ef_search = 128;       // default search breadth
  // Qdrant's meaning, in KB of vectors: a search over fewer candidates than this is done exactly by
  // the caller (the shard's planner), not through the graph.
  size_t full_scan_threshold_kb = 10000;
  uint64_t seed = 42;
  // With quantization the graph is searched on codes, trained once the index holds
  // kQuantizerTrainingPoints points; floats are kept for building and re-ranking.
  Quantization quantization = Quantization::kNone;
  // SQ8 range: the [1 - quantile, quantile] quantiles of the training values (values beyond clamp).
  // Qdrant's default is 0.99; 1.0 (the full range) keeps integer data in 0..255, such as pixels,
  // lossless.
  float quantile = 1.0f;
  Sq8Ranges sq8_ranges = Sq8Ranges::kAuto;
  // Keeps the float vectors in the file storage_path (memory-mapped, shared) instead of the heap: only
  // re-ranking and building read them. Requires quantization (the codes stay in memory for the graph
  // walk). The file is created (truncated) by CreateHnswIndex / LoadHnswIndex and removed with the
  // index. Its disk blocks are allocated as it grows; a full disk then aborts the process (Insert
  // cannot report an error, and going on would lose vectors).
  bool vectors_on_disk = false;
  std::string storage_path;
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
  // Whether the index holds a vector for id, without reading it (has_vector filters).
  virtual bool Contains(uint32_t id) const = 0;

  virtual size_t dim() const = 0;
  virtual Metric metric() const = 0;
  virtual size_t live_count() const = 0;
  // Heap bytes held (memory-mapped vector files are not counted).
  virtual size_t memory_bytes() const = 0;

  // Writes a self-contained snapshot (graph, vectors, codes; checksummed) to path, replacing it
  // atomically. Blocks writers (not searches) while it copies the index into the file (the page cache),
  // not while the file is fsynced. Unimplemented for indexes without a format.
  [[nodiscard]] virtual Status Save(const std::string& path) const {
    return absl::UnimplementedError("this index type has no on-disk format");
  }
  // Reclaims the space of removed and replaced points by rebuilding the graph over the live ones with
  // `threads` threads. Searches and writes go on meanwhile (writes made during the rebuild are carried
  // over to the new graph); writers pause only for the final swap. Cancelled, with the index unchanged,
  // once *cancel becomes true.
  [[nodiscard]] virtual Status Compact(size_t threads, const std::atomic<bool>* cancel = nullptr) {
    return absl::OkStatus();
  }
  // Nodes kept only as tombstones (removed or replaced points); Compact frees them. A caller compacts
  // when this exceeds a share of live_count() (e.g. 20%).
  virtual size_t tombstone_count() const { return 0; }
};

// Brute force over every live id; exact.
std::unique_ptr<VectorIndex> NewFlatIndex(size_t dim, Metric metric);
// HNSW graph (index/hnsw_graph.h); SearchParams.exact falls back to a brute-force scan.
// Precondition: !params.vectors_on_disk (use CreateHnswIndex, which can fail).
std::unique_ptr<VectorIndex> NewHnswIndex(size_t dim, Metric metric, const HnswParams& params);
// As NewHnswIndex, also with vectors on disk. InvalidArgument for vectors_on_disk without quantization
// or storage_path; the file system's error if the vector file cannot be created.
StatusOr<std::unique_ptr<VectorIndex>> CreateHnswIndex(size_t dim, Metric metric,
                                                       const HnswParams& params);
// Loads a snapshot written by Save. The graph's shape (dim, metric, m, quantization) must match the
// arguments, else FailedPrecondition; ef_search, vectors_on_disk and storage_path are taken from params.
// A corrupt, truncated or foreign file is DataLoss; a missing one NotFound. The caller rebuilds then.
StatusOr<std::unique_ptr<VectorIndex>> LoadHnswIndex(const std::string& path, size_t dim, Metric metric,
                                                     const HnswParams& params);

}  // namespace vj

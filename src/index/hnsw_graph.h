// HnswIndex: our own HNSW graph (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
// search using Hierarchical Navigable Small World graphs", 2016), behind index/vector_index.h.
// Internal to index/: other modules use the VectorIndex interface and its factories.
//
// Layout. Each graph node owns one fixed-size record in a single 64-byte-aligned array: its payload,
// then its level-0 neighbour ids (2*M), so expanding a node and scoring its neighbours touch few,
// predictable cache lines. The payload is the float vector, or with quantization the node's code (SQ8:
// the bytes, their sum and sum of squares; binary: the bits), and then the floats, which only building
// and re-ranking read, live apart: in a heap array or in a memory-mapped file (vectors_on_disk). The
// small per-node fields (caller's id, level, tombstone flag, lock, level-0 count) sit in one 8-byte
// NodeMeta. Upper levels, which only ~1/(M-1) of nodes have, live in UpperLinks (index/hnsw_upper.h):
// a block of level * (1 + M) words per such node, found by a hash of the node, so the others pay
// nothing for them. Per node that is the record, 8 bytes of NodeMeta and 4 of id map (hnswlib: the
// record with a 4-byte count and an 8-byte label, then an 8-byte link-list pointer, a 4-byte level,
// a 40-byte mutex and a hash-map entry for the label).
//
// Nodes and ids. Graph nodes are numbered by the index; a node maps to the caller's id and an id to its
// current node. Insert over an existing id adds a new node and tombstones the old one, instead of
// overwriting a vector that concurrent searches may be reading; tombstoned nodes stay in the graph (they
// keep it connected) but are never returned, until Compact rebuilds the graph without them.
//
// Concurrency. Searches and inserts hold resize_mu_ shared; growing the arrays takes it exclusively, so
// no pointer into them moves under a reader. Neighbour lists are written under a per-node spin lock and
// read without one: ids and counts are written with release stores and read with acquire loads (plain
// moves on x86), so a reader sees a list of valid nodes (possibly mid-update, which only makes the
// search slightly less exact), and a node's vector, code and id, written before any list points to it,
// are visible to whoever finds the node in a list. Writers
// (Insert, Remove) hold writers_mu_ shared; Save holds it exclusively, so it sees a graph at rest while
// searches go on. Compact (hnsw_compact.cc) rebuilds while writers go on, replaying what they changed
// meanwhile from a journal of ids, and holds writers_mu_ exclusively only for its last replay and swap.
#pragma once

#include <atomic>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "index/binary_quantizer.h"
#include "index/hnsw_scratch.h"
#include "index/hnsw_upper.h"
#include "index/mapped_vector_file.h"
#include "index/metric_distance.h"
#include "index/scalar_quantizer.h"
#include "index/vector_index.h"

namespace vj::hnsw {

inline constexpr uint32_t kNoNode = std::numeric_limits<uint32_t>::max();
inline constexpr uint64_t kNoEntry = std::numeric_limits<uint64_t>::max();
inline constexpr int kMaxLevel = 30;
// The largest m (neighbours per upper-level list): 2 * m must fit NodeMeta::count0.
inline constexpr size_t kMaxM = 127;
// A node's upper block (a count word and m ids per level) must fit one chunk of the block store.
static_assert(kMaxLevel * (1 + kMaxM) <= UpperLinks::kChunkWords);
inline constexpr size_t kLine = 64;

inline uint32_t LoadRelaxed(const uint32_t& x) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(x)).load(std::memory_order_relaxed);
}
inline uint32_t LoadAcquire(const uint32_t& x) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(x)).load(std::memory_order_acquire);
}
inline void StoreRelease(uint32_t& x, uint32_t v) {
  std::atomic_ref<uint32_t>(x).store(v, std::memory_order_release);
}
inline uint8_t LoadAcquire(const uint8_t& x) {
  return std::atomic_ref<uint8_t>(const_cast<uint8_t&>(x)).load(std::memory_order_acquire);
}
inline void StoreRelease(uint8_t& x, uint8_t v) {
  std::atomic_ref<uint8_t>(x).store(v, std::memory_order_release);
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A spin lock on one byte: neighbour-list edits are a few dozen instructions, and a byte per node is
// far cheaper than a std::mutex (40 bytes) per node.
class ByteLock {
 public:
  explicit ByteLock(uint8_t& b) : b_(b) {
    while (b_.exchange(1, std::memory_order_acquire) != 0) {
      while (b_.load(std::memory_order_relaxed) != 0) CpuRelax();
    }
  }
  ~ByteLock() { b_.store(0, std::memory_order_release); }
  ByteLock(const ByteLock&) = delete;
  ByteLock& operator=(const ByteLock&) = delete;

 private:
  std::atomic_ref<uint8_t> b_;
};

inline void Prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

struct AlignedFree {
  void operator()(char* p) const { ::operator delete[](p, std::align_val_t(kLine)); }
};
using AlignedBytes = std::unique_ptr<char[], AlignedFree>;

inline AlignedBytes AllocateAligned(size_t bytes) {
  return AlignedBytes(static_cast<char*>(::operator new[](bytes, std::align_val_t(kLine))));
}

inline uint64_t PackEntry(uint32_t node, int level) { return (uint64_t{uint32_t(level)} << 32) | node; }

struct NodeMeta {
  uint32_t id = kNoNode;  // the caller's id
  uint8_t level = 0;      // top level
  uint8_t hidden = 1;     // 1: never returned (tombstoned or not yet published)
  uint8_t lock = 0;       // ByteLock for the node's neighbour lists
  uint8_t count0 = 0;     // level-0 neighbour count (at most 2 * M <= 255)
};
static_assert(sizeof(NodeMeta) == 8);

// Buffers for choosing a new node's neighbours and re-pruning its neighbours' lists; separate from
// SearchScratch because both are in use at once.
struct InsertScratch {
  SearchScratch search;
  std::vector<Candidate> found;     // the search's results, closest first
  std::vector<Candidate> selected;  // the new node's neighbours
  std::vector<Candidate> prune_in;
  std::vector<Candidate> prune_out;
};

// One per thread, shared by every index the thread uses: a search is never nested in another on the
// same thread, and the visited set's epoch makes reuse across indexes safe.
inline InsertScratch& ThreadScratch() {
  thread_local InsertScratch scratch;
  return scratch;
}

// When a search walk gives up early (SearchParams::max_scored and ::deadline). At namespace scope: a
// nested struct with member initializers cannot be a default argument inside its class (clang).
struct WalkLimits {
  size_t max_scored = 0;              // 0: no limit
  const Deadline* deadline = nullptr;  // checked every HnswIndex::kDeadlineCheckEvery expansions
};

class HnswIndex final : public VectorIndex {
 public:
  // Heap storage only; see Create for vectors on disk.
  HnswIndex(size_t dim, Metric metric, const HnswParams& params);
  static StatusOr<std::unique_ptr<HnswIndex>> Create(size_t dim, Metric metric,
                                                     const HnswParams& params);
  static StatusOr<std::unique_ptr<HnswIndex>> Load(const std::string& path, size_t dim, Metric metric,
                                                   const HnswParams& params);

  void Insert(uint32_t id, const float* v) override;
  void InsertBatch(const std::vector<uint32_t>& ids, const std::vector<const float*>& vectors,
                   size_t threads) override;
  void Remove(uint32_t id) override;
  std::vector<Neighbor> Search(const float* query, const SearchParams& params,
                               const IdFilter& filter) const override;
  std::vector<Neighbor> SearchAmong(const float* query, size_t k,
                                    const std::vector<uint32_t>& candidates) const override;
  float DistanceTo(const float* query, uint32_t id) const override;
  bool GetVector(uint32_t id, float* out) const override;
  bool Contains(uint32_t id) const override;

  size_t dim() const override { return distance_.dim(); }
  Metric metric() const override { return distance_.metric(); }
  size_t live_count() const override { return live_count_.load(std::memory_order_relaxed); }
  size_t memory_bytes() const override;
  Status Save(const std::string& path) const override;
  Status Compact(size_t threads, const std::atomic<bool>* cancel = nullptr) override;
  size_t tombstone_count() const override {
    // A reader without the index lock may see a swap's new node count with the old live count.
    const size_t nodes = next_node_.load(std::memory_order_relaxed);
    const size_t live = live_count();
    return nodes > live ? nodes - live : 0;
  }

 private:
  // Arrays that grow with the index (resized only with resize_mu_ held exclusively) and that Compact
  // swaps wholesale for rebuilt ones.
  struct Storage {
    size_t capacity = 0;                     // nodes the arrays below can hold
    AlignedBytes records;                    // node * record_bytes_: payload, level-0 ids
    AlignedBytes heap_floats;                // node * float_bytes_, when quantized and in memory
    std::unique_ptr<MappedVectorFile> file;  // node * float_bytes_, when quantized and on disk
    std::vector<NodeMeta> meta;
    UpperLinks upper;                        // node -> [count, m ids] per level; adds: upper_mu_
    std::vector<uint32_t> id_node;           // caller's id -> live node or kNoNode
  };

  // --- Storage access (callers hold resize_mu_ at least shared) ---
  char* Record(uint32_t node) const { return s_.records.get() + size_t{node} * record_bytes_; }
  const float* Vector(uint32_t node) const {
    return reinterpret_cast<const float*>(floats_ + size_t{node} * float_stride_);
  }
  float* MutableVector(uint32_t node) { return const_cast<float*>(Vector(node)); }
  const uint8_t* Code(uint32_t node) const { return reinterpret_cast<const uint8_t*>(Record(node)); }
  uint32_t CodeSum(uint32_t node) const {
    uint32_t sum;
    std::memcpy(&sum, Record(node) + code_sum_offset_, sizeof(sum));
    return sum;
  }
  uint32_t CodeSumSquares(uint32_t node) const {
    uint32_t sum;
    std::memcpy(&sum, Record(node) + code_sum_offset_ + sizeof(uint32_t), sizeof(sum));
    return sum;
  }
  void EncodeNode(uint32_t node);
  bool Trained() const { return trained_.load(std::memory_order_acquire); }
  // Fits the quantizer to the stored vectors (and `extra`, raw) and encodes every node; once.
  void Train(const std::vector<const float*>& extra);
  // Points floats_ at the arrays of s_ (after they move).
  void LocateFloats();
  // Grows the arrays to hold `nodes` nodes and ids below `ids`. Crashes when a vector file cannot grow
  // (a full disk): Insert cannot report it, and going on would lose vectors.
  void EnsureCapacity(size_t nodes, size_t ids);

  // Neighbour lists: ids of node at level, and the count that publishes them. Precondition: level <=
  // the node's level (every node in a level's lists has a block there).
  uint32_t* UpperList(uint32_t node, int level) const {
    return s_.upper.Find(node) + size_t(level - 1) * (1 + m_);
  }
  uint32_t* Links(uint32_t node, int level) const {
    if (level == 0) return reinterpret_cast<uint32_t*>(Record(node) + links_offset_);
    return UpperList(node, level) + 1;
  }
  uint32_t LinkCount(uint32_t node, int level) const {
    if (level == 0) return LoadAcquire(s_.meta[node].count0);
    return LoadAcquire(*UpperList(node, level));
  }
  void SetLinkCount(uint32_t node, int level, uint32_t n) {
    if (level == 0) return StoreRelease(s_.meta[node].count0, static_cast<uint8_t>(n));
    StoreRelease(*UpperList(node, level), n);
  }
  // Gives a new node its (zeroed) upper-level block. Called before the insert takes resize_mu_ shared:
  // growing the block store takes it exclusively.
  void AddUpper(uint32_t node, int level);
  size_t MaxLinks(int level) const { return level == 0 ? m0_ : m_; }
  bool Hidden(uint32_t node) const { return LoadAcquire(s_.meta[node].hidden) != 0; }
  uint32_t NodeOf(uint32_t id) const {
    return id < s_.id_node.size() ? LoadAcquire(s_.id_node[id]) : kNoNode;
  }
  size_t NodeLimit() const {
    return std::min<size_t>(next_node_.load(std::memory_order_acquire), s_.capacity);
  }
  // resize_mu_ shared, but only once no grower is waiting: glibc's rwlock prefers readers, so a steady
  // stream of overlapping searches could otherwise starve a growing insert forever.
  std::shared_lock<std::shared_mutex> ReadLock() const {
    while (grow_waiting_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    return std::shared_lock<std::shared_mutex>(resize_mu_);
  }
  // writers_mu_ shared for an Insert or Remove, after any waiting Save or Compact (the same reader
  // preference as above).
  std::shared_lock<std::shared_mutex> WriterLock() const {
    while (exclusive_waiting_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    return std::shared_lock<std::shared_mutex>(writers_mu_);
  }
  std::unique_lock<std::shared_mutex> ExclusiveWriterLock() const {
    exclusive_waiting_.fetch_add(1, std::memory_order_acq_rel);
    std::unique_lock lock(writers_mu_);
    exclusive_waiting_.fetch_sub(1, std::memory_order_acq_rel);
    return lock;
  }
  std::unique_lock<std::shared_mutex> WriteLock() const {
    grow_waiting_.fetch_add(1, std::memory_order_acq_rel);
    std::unique_lock lock(resize_mu_);
    grow_waiting_.fetch_sub(1, std::memory_order_acq_rel);
    return lock;
  }

  // Scores nodes against a prepared float query, or a quantized one.
  struct FloatScore {
    const HnswIndex& index;
    const float* query;
    float operator()(uint32_t node) const { return index.distance_(query, index.Vector(node)); }
    float Between(uint32_t a, uint32_t b) const {
      return index.distance_(index.Vector(a), index.Vector(b));
    }
    const void* Data(uint32_t node) const { return index.Vector(node); }
    size_t bytes() const { return index.dim() * sizeof(float); }
  };
  struct Sq8Score {
    const HnswIndex& index;
    const ScalarQuantizer::Query& query;
    float operator()(uint32_t node) const {
      return index.sq8_.Distance(query, index.Code(node), index.CodeSum(node),
                                 index.CodeSumSquares(node));
    }
    float Between(uint32_t a, uint32_t b) const {
      return index.sq8_.Distance(index.Code(a), index.CodeSum(a), index.Code(b), index.CodeSum(b));
    }
    const void* Data(uint32_t node) const { return index.Code(node); }
    size_t bytes() const { return index.links_offset_; }
  };
  // Per-dimension SQ8: asymmetric query-to-code distances on the walk; pairs of stored nodes (neighbour
  // selection while building) are compared on their floats, which building reads anyway.
  struct Sq8DimScore {
    const HnswIndex& index;
    const ScalarQuantizer::Query& query;
    float operator()(uint32_t node) const {
      return index.sq8_.DimDistance(query, index.Code(node), index.CodeSum(node));
    }
    float Between(uint32_t a, uint32_t b) const {
      return index.distance_(index.Vector(a), index.Vector(b));
    }
    const void* Data(uint32_t node) const { return index.Code(node); }
    size_t bytes() const { return index.links_offset_; }
  };
  struct BitScore {
    const HnswIndex& index;
    const uint8_t* code;
    float operator()(uint32_t node) const { return index.binary_.Distance(code, index.Code(node)); }
    const void* Data(uint32_t node) const { return index.Code(node); }
    size_t bytes() const { return index.links_offset_; }
  };

  // --- Graph (hnsw_index.cc) ---
  int RandomLevel();
  void InsertLocked(uint32_t id, const float* v);
  // Links a new node into levels 0..level. With trained SQ8 codes the graph is built on them, as it is
  // searched: 4x less memory traffic than floats, and lossless for integer data such as pixels.
  void Link(uint32_t node, int level, InsertScratch& s);
  template <typename Score>
  void LinkWith(const Score& score, uint32_t node, int level, InsertScratch& s);
  // The heuristic of the paper (hnswlib's getNeighborsByHeuristic2): from candidates sorted closest
  // first, keep one only if it is closer to the base than to every neighbour already kept.
  template <typename Score>
  void SelectNeighbors(const Score& score, const std::vector<Candidate>& sorted, size_t max,
                       std::vector<Candidate>& out, uint32_t exclude) const;
  // Writes node's links at level from s.selected, keeping the links concurrent inserts already added.
  template <typename Score>
  void SetOwnLinks(const Score& score, uint32_t node, int level, InsertScratch& s);
  template <typename Score>
  void ConnectBack(const Score& score, uint32_t neighbor, uint32_t node, int level, InsertScratch& s);
  void Publish(uint32_t id, uint32_t node);

  // --- Walks (hnsw_walk.h) ---
  static constexpr size_t kDeadlineCheckEvery = 64;  // WalkLimits::deadline is read that often
  template <typename Score>
  uint32_t GreedyClosest(const Score& score, uint32_t start, int from_level, int to_level,
                         size_t* scored = nullptr) const;
  // Best-first search of one level from `entry`; leaves up to ef results in s.top. With
  // `results_only_visible`, hidden or filtered-out nodes are traversed but not kept as results. With
  // limits, stops after scoring limits.max_scored nodes or once limits.deadline has passed and returns
  // false (s.top is then incomplete).
  template <typename Score>
  bool SearchLevel(const Score& score, uint32_t entry, size_t ef, int level, bool results_only_visible,
                   const IdFilter* filter, SearchScratch& s, const WalkLimits& limits = {}) const;
  // The graph walk of Search, on floats or codes; s.top holds the results. False when it gave up
  // (SearchParams::max_scored or ::deadline).
  template <typename Score>
  bool SearchGraph(const Score& score, size_t ef, const IdFilter& filter, const WalkLimits& limits,
                   SearchScratch& s) const;

  // --- Search (hnsw_search.cc) ---
  std::vector<Neighbor> ExactSearch(const float* q, size_t k, const IdFilter& filter) const;

  // --- Compaction (hnsw_compact.cc) ---
  // Splits `ids` into those live now, with copies of their stored vectors, and those absent.
  void CopyLive(const std::vector<uint32_t>& ids, std::vector<uint32_t>& live_ids,
                std::vector<float>& vectors, std::vector<uint32_t>& dead_ids) const;
  // Brings `fresh` in step with this index for `ids`: live ones get their current vector, others go.
  void Replay(HnswIndex& fresh, std::vector<uint32_t> ids, size_t threads) const;
  // The ids journalled since the last call; with `stop`, ends journalling.
  std::vector<uint32_t> TakeJournal(bool stop);
  // Takes another index's trained quantizer and encodes every node with it.
  void AdoptQuantizer(const ScalarQuantizer& sq8, const BinaryQuantizer& binary);

  // --- Snapshots (hnsw_io.cc) ---
  // Reads the sections after the header (sizes from the checked header) and validates them.
  Status ReadSnapshot(int fd, size_t nodes, size_t id_slots, size_t expected_upper_words,
                      bool binary_thresholds, bool sq8_ranges);

  // Fixed at construction.
  const MetricDistance distance_;
  const HnswParams params_;
  const size_t m_, m0_, ef_construct_, ef_search_;
  const double level_mult_;
  const Quantization quantization_;
  const bool quantized_;
  const size_t
      code_sum_offset_;        // SQ8: where the code's sum, then its sum of squares, sit in the record
  const size_t links_offset_;  // where the level-0 ids start (= payload bytes)
  const size_t record_bytes_;
  const size_t float_bytes_;  // floats of one vector, padded to a cache line, when kept apart

  Storage s_;
  // Where node 0's floats are and the distance between two nodes' floats; set with s_.
  char* floats_ = nullptr;
  size_t float_stride_ = 0;

  mutable std::shared_mutex resize_mu_;
  mutable std::atomic<int> grow_waiting_{0};  // growers waiting for resize_mu_ exclusively
  mutable std::shared_mutex writers_mu_;      // shared: Insert, Remove; exclusive: Save, Compact's swap
  mutable std::atomic<int> exclusive_waiting_{0};  // Save or Compact waiting for writers_mu_

  std::atomic<uint32_t> next_node_{0};  // nodes handed out
  std::atomic<size_t> live_count_{0};
  std::atomic<uint64_t> replaced_{0};      // how many publishes replaced a live node
  std::atomic<uint64_t> entry_{kNoEntry};  // entry node | max level << 32

  std::mutex entry_mu_;  // serializes raising the max level (held through such an insert)
  std::mutex id_mu_;     // serializes changes of id_node and hidden for published nodes
  std::mutex compact_mu_;  // one Compact at a time
  // While Compact rebuilds: the ids whose node changed since it began (Publish, Remove).
  bool journaling_ ABSL_GUARDED_BY(id_mu_) = false;
  std::vector<uint32_t> journal_ ABSL_GUARDED_BY(id_mu_);
  std::mutex upper_mu_;  // serializes adding to s_.upper (taken before resize_mu_, never after)
  std::mutex rng_mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(rng_mu_);

  // Set once by Train (or Load), under resize_mu_ held exclusively, then read-only (Compact's swap
  // replaces them, with writers excluded and resize_mu_ held exclusively, by the codes of the new arrays).
  ScalarQuantizer sq8_;
  BinaryQuantizer binary_;
  std::atomic<bool> trained_{false};
};

}  // namespace vj::hnsw

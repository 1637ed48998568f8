// HnswIndex: our own HNSW graph (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
// search using Hierarchical Navigable Small World graphs", 2016).
//
// Layout. Each graph node owns one fixed-size record in a single 64-byte-aligned array: its vector, then
// its level-0 neighbour list (a count and 2*M ids), so expanding a node and scoring its neighbours touch
// few, predictable cache lines. Upper levels, which only ~1/M of nodes have, live in a small per-node
// block of level * (1 + M) ids.
//
// Nodes and ids. Graph nodes are numbered by the index; a node maps to the caller's id and an id to its
// current node. Insert over an existing id adds a new node and tombstones the old one, instead of
// overwriting a vector that concurrent searches may be reading; tombstoned nodes stay in the graph (they
// keep it connected) but are never returned. Their memory is reclaimed only when the index is rebuilt
// (the optimizer's job), as Qdrant does with deleted points in a segment.
//
// Concurrency. Searches and inserts hold resize_mu_ shared; growing the arrays takes it exclusively, so
// no pointer into them moves under a reader. Neighbour lists are written under a per-node spin lock and
// read without one: ids are written with relaxed atomics and the count is published with a release
// store, so a reader sees a list of valid nodes (possibly mid-update, which only makes the search
// slightly less exact). A node's vector and id are written before any list can point to it.
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <random>
#include <shared_mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "index/hnsw_scratch.h"
#include "index/metric_distance.h"
#include "index/scalar_quantizer.h"
#include "index/top_k.h"
#include "index/vector_index.h"

namespace vj {
namespace {

using hnsw::Candidate;
using hnsw::SearchScratch;

constexpr uint32_t kNoNode = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kNoEntry = std::numeric_limits<uint64_t>::max();
constexpr int kMaxLevel = 30;
constexpr size_t kLine = 64;

// Cache lines of the next neighbour's vector fetched while the current one is scored. More hides more
// latency but evicts more; past a few the hardware prefetcher follows the sequential read anyway
// (4, 16 and 2 measured alike on fashion-mnist-784).
constexpr size_t kPrefetchLines = 4;

inline uint32_t LoadRelaxed(const uint32_t& x) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(x)).load(std::memory_order_relaxed);
}
inline uint32_t LoadAcquire(const uint32_t& x) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(x)).load(std::memory_order_acquire);
}
inline void StoreRelaxed(uint32_t& x, uint32_t v) {
  std::atomic_ref<uint32_t>(x).store(v, std::memory_order_relaxed);
}
inline void StoreRelease(uint32_t& x, uint32_t v) {
  std::atomic_ref<uint32_t>(x).store(v, std::memory_order_release);
}
inline bool Hidden(const uint8_t& flag) {
  return std::atomic_ref<uint8_t>(const_cast<uint8_t&>(flag)).load(std::memory_order_acquire) != 0;
}
inline void SetHidden(uint8_t& flag, bool hidden) {
  std::atomic_ref<uint8_t>(flag).store(hidden ? 1 : 0, std::memory_order_release);
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

AlignedBytes AllocateAligned(size_t bytes) {
  return AlignedBytes(static_cast<char*>(::operator new[](bytes, std::align_val_t(kLine))));
}

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
InsertScratch& ThreadScratch() {
  thread_local InsertScratch scratch;
  return scratch;
}

uint64_t PackEntry(uint32_t node, int level) { return (uint64_t{uint32_t(level)} << 32) | node; }

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(size_t dim, Metric metric, const HnswParams& params)
      : distance_(metric, dim),
        m_(std::max<size_t>(params.m, 2)),
        m0_(2 * m_),
        ef_construct_(std::max(params.ef_construct, m_)),
        ef_search_(std::max<size_t>(params.ef_search, 1)),
        level_mult_(1.0 / std::log(double(m_))),
        quantized_(params.quantization == Quantization::kScalarInt8),
        quantile_(params.quantile),
        code_sum_offset_((dim + 3) / 4 * 4),
        links_offset_(quantized_ ? code_sum_offset_ + sizeof(uint32_t) : dim * sizeof(float)),
        record_bytes_((links_offset_ + (1 + m0_) * sizeof(uint32_t) + kLine - 1) / kLine * kLine),
        vector_bytes_((dim * sizeof(float) + kLine - 1) / kLine * kLine),
        rng_(params.seed) {}

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

  size_t dim() const override { return distance_.dim(); }
  Metric metric() const override { return distance_.metric(); }
  size_t live_count() const override { return live_count_.load(std::memory_order_relaxed); }
  size_t memory_bytes() const override;

 private:
  // --- Storage (callers hold resize_mu_ at least shared) ---
  // Without quantization a node's record holds its float vector then its level-0 links. With SQ8 the
  // record holds the code, the code's sum and the links (what a search reads), and the floats (read
  // only to build and re-rank) live in vectors_.
  const float* Vector(uint32_t node) const {
    const char* base = quantized_ ? vectors_.get() + size_t{node} * vector_bytes_
                                  : records_.get() + size_t{node} * record_bytes_;
    return reinterpret_cast<const float*>(base);
  }
  float* MutableVector(uint32_t node) { return const_cast<float*>(Vector(node)); }
  const uint8_t* Code(uint32_t node) const {
    return reinterpret_cast<const uint8_t*>(records_.get() + size_t{node} * record_bytes_);
  }
  uint32_t CodeSum(uint32_t node) const {
    uint32_t sum;
    std::memcpy(&sum, records_.get() + size_t{node} * record_bytes_ + code_sum_offset_, sizeof(sum));
    return sum;
  }
  void EncodeNode(uint32_t node) {
    uint8_t* code = reinterpret_cast<uint8_t*>(records_.get() + size_t{node} * record_bytes_);
    quantizer_.Encode(Vector(node), code);
    const uint32_t sum = ScalarQuantizer::CodeSum(code, dim());
    std::memcpy(records_.get() + size_t{node} * record_bytes_ + code_sum_offset_, &sum, sizeof(sum));
  }
  bool Trained() const { return trained_.load(std::memory_order_acquire); }
  // Fits the quantizer to the stored vectors (and `extra`, raw) and encodes every node; once.
  void Train(const std::vector<const float*>& extra);

  // Scores nodes against a prepared float query, or a quantized one.
  struct FloatScore {
    const HnswIndex& index;
    const float* query;
    float operator()(uint32_t node) const { return index.distance_(query, index.Vector(node)); }
    const void* Data(uint32_t node) const { return index.Vector(node); }
    size_t bytes() const { return index.dim() * sizeof(float); }
  };
  struct CodeScore {
    const HnswIndex& index;
    const uint8_t* code;
    uint32_t sum;
    float operator()(uint32_t node) const {
      return index.quantizer_.Distance(code, sum, index.Code(node), index.CodeSum(node));
    }
    const void* Data(uint32_t node) const { return index.Code(node); }
    size_t bytes() const { return index.links_offset_; }
  };
  // Level 0: [count, m0 ids]; level l >= 1: [count, m ids] in the node's upper block.
  uint32_t* Links(uint32_t node, int level) const {
    if (level == 0) {
      return reinterpret_cast<uint32_t*>(records_.get() + size_t{node} * record_bytes_ +
                                         links_offset_);
    }
    return upper_[node].get() + size_t(level - 1) * (1 + m_);
  }
  size_t MaxLinks(int level) const { return level == 0 ? m0_ : m_; }
  uint32_t NodeOf(uint32_t id) const {
    return id < id_node_.size() ? LoadAcquire(id_node_[id]) : kNoNode;
  }
  size_t NodeLimit() const {
    return std::min<size_t>(next_node_.load(std::memory_order_acquire), capacity_);
  }
  void EnsureCapacity(size_t nodes, size_t ids);
  // resize_mu_ shared, but only once no grower is waiting: glibc's rwlock prefers readers, so a steady
  // stream of overlapping searches could otherwise starve a growing insert forever.
  std::shared_lock<std::shared_mutex> ReadLock() const {
    while (grow_waiting_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    return std::shared_lock<std::shared_mutex>(resize_mu_);
  }

  // --- Graph ---
  int RandomLevel();
  void Link(uint32_t node, int level, InsertScratch& s);
  template <typename Score>
  uint32_t GreedyClosest(const Score& score, uint32_t start, int from_level, int to_level) const;
  // Best-first search of one level from `entry`; leaves up to ef results in s.top. With
  // `results_only_visible`, hidden or filtered-out nodes are traversed but not kept as results.
  template <typename Score>
  void SearchLevel(const Score& score, uint32_t entry, size_t ef, int level, bool results_only_visible,
                   const IdFilter* filter, SearchScratch& s) const;
  // The graph walk of Search, on floats or codes; s.top holds the results.
  template <typename Score>
  void SearchGraph(const Score& score, size_t ef, const IdFilter& filter, SearchScratch& s) const;
  // The heuristic of the paper (hnswlib's getNeighborsByHeuristic2): from candidates sorted closest
  // first, keep one only if it is closer to the base than to every neighbour already kept.
  void SelectNeighbors(const std::vector<Candidate>& sorted, size_t max, std::vector<Candidate>& out,
                       uint32_t exclude) const;
  void ConnectBack(uint32_t neighbor, uint32_t node, int level, InsertScratch& s);
  void Publish(uint32_t id, uint32_t node);
  std::vector<Neighbor> ExactSearch(const float* q, size_t k, const IdFilter& filter) const;

  // Fixed at construction.
  const MetricDistance distance_;
  const size_t m_, m0_, ef_construct_, ef_search_;
  const double level_mult_;
  const bool quantized_;
  const float quantile_;
  const size_t code_sum_offset_, links_offset_, record_bytes_, vector_bytes_;

  // Growable storage: resized only with resize_mu_ held exclusively.
  mutable std::shared_mutex resize_mu_;
  std::atomic<int> grow_waiting_{0};         // growers waiting for resize_mu_ exclusively
  size_t capacity_ = 0;                      // nodes the arrays below can hold
  AlignedBytes records_;                     // node * record_bytes_: vector or code, level-0 links
  AlignedBytes vectors_;                     // node * vector_bytes_: float vectors, when quantized_
  std::vector<uint32_t> node_id_;            // node -> caller's id
  std::vector<uint8_t> levels_;              // node -> its top level
  std::vector<uint8_t> hidden_;              // 1: never returned (tombstoned or not yet published)
  std::vector<uint8_t> locks_;               // ByteLock per node, for its neighbour lists
  std::vector<std::unique_ptr<uint32_t[]>> upper_;  // node -> links of levels 1..level
  std::vector<uint32_t> id_node_;            // caller's id -> live node or kNoNode

  std::atomic<uint32_t> next_node_{0};       // nodes handed out
  std::atomic<size_t> live_count_{0};
  std::atomic<size_t> upper_bytes_{0};
  std::atomic<uint64_t> replaced_{0};        // how many publishes replaced a live node
  std::atomic<uint64_t> entry_{kNoEntry};    // entry node | max level << 32

  std::mutex entry_mu_;  // serializes raising the max level (held through such an insert)
  std::mutex id_mu_;     // serializes changes of id_node_ and hidden_ for published nodes
  std::mutex rng_mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(rng_mu_);

  // Set once by Train, under resize_mu_ held exclusively, then read-only.
  ScalarQuantizer quantizer_;
  std::atomic<bool> trained_{false};
};


void HnswIndex::EnsureCapacity(size_t nodes, size_t ids) {
  {
    auto lock = ReadLock();
    if (nodes <= capacity_ && ids <= id_node_.size()) return;
  }
  grow_waiting_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(resize_mu_);
  grow_waiting_.fetch_sub(1, std::memory_order_acq_rel);
  if (nodes > capacity_) {
    // Doubling keeps the copying amortized O(1) per node; searches wait for it, inserts too.
    const size_t cap = std::max({nodes, capacity_ * 2, size_t{256}});
    AlignedBytes records = AllocateAligned(cap * record_bytes_);
    if (capacity_ > 0) std::memcpy(records.get(), records_.get(), capacity_ * record_bytes_);
    std::memset(records.get() + capacity_ * record_bytes_, 0, (cap - capacity_) * record_bytes_);
    records_ = std::move(records);
    if (quantized_) {
      AlignedBytes vectors = AllocateAligned(cap * vector_bytes_);
      if (capacity_ > 0) std::memcpy(vectors.get(), vectors_.get(), capacity_ * vector_bytes_);
      vectors_ = std::move(vectors);
    }
    node_id_.resize(cap, kNoNode);
    levels_.resize(cap, 0);
    hidden_.resize(cap, 1);
    locks_.resize(cap, 0);
    upper_.resize(cap);
    capacity_ = cap;
  }
  if (ids > id_node_.size()) {
    const size_t target = std::min(std::max(ids, id_node_.size() * 3 / 2), size_t{1} << 32);
    id_node_.resize(target, kNoNode);
  }
}

int HnswIndex::RandomLevel() {
  std::lock_guard lock(rng_mu_);
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  // 1 - u lies in (0, 1], so the log is finite.
  return std::min(static_cast<int>(-std::log(1.0 - u) * level_mult_), kMaxLevel);
}

void HnswIndex::Insert(uint32_t id, const float* v) {
  InsertScratch& s = ThreadScratch();
  std::vector<float>& prepared = s.search.query;
  prepared.resize(dim());
  distance_.Prepare(v, prepared.data());
  {
    // Re-inserting the vector an id already has (an upsert that changed only the payload) must not
    // grow the graph.
    auto lock = ReadLock();
    const uint32_t old = NodeOf(id);
    if (old != kNoNode && std::memcmp(Vector(old), prepared.data(), dim() * sizeof(float)) == 0) {
      return;
    }
  }
  const uint32_t node = next_node_.fetch_add(1, std::memory_order_acq_rel);
  VJ_CHECK(node != kNoNode);
  EnsureCapacity(size_t{node} + 1, size_t{id} + 1);
  if (quantized_ && !Trained() && node + 1 >= kQuantizerTrainingPoints) Train({});
  auto lock = ReadLock();
  const int level = RandomLevel();
  std::memcpy(MutableVector(node), prepared.data(), dim() * sizeof(float));
  if (Trained()) EncodeNode(node);
  node_id_[node] = id;
  levels_[node] = static_cast<uint8_t>(level);
  if (level > 0) {
    const size_t n = size_t(level) * (1 + m_);
    upper_[node] = std::make_unique<uint32_t[]>(n);  // zeroed: every count starts at 0
    upper_bytes_.fetch_add(n * sizeof(uint32_t), std::memory_order_relaxed);
  }
  Link(node, level, s);
  Publish(id, node);
}

void HnswIndex::InsertBatch(const std::vector<uint32_t>& ids, const std::vector<const float*>& vectors,
                            size_t threads) {
  VJ_CHECK(ids.size() == vectors.size());
  if (ids.empty()) return;
  // Sequential inserts would leave an id repeated in the batch with its last vector; parallel ones
  // would not say which, so only each id's last occurrence is inserted.
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  std::vector<size_t> keep;
  keep.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 == order.size() || ids[order[i + 1]] != ids[order[i]]) keep.push_back(order[i]);
  }
  std::sort(keep.begin(), keep.end());  // the caller's order, which is usually its locality order
  EnsureCapacity(next_node_.load() + keep.size(), size_t{ids[order.back()]} + 1);
  if (quantized_ && !Trained() && next_node_.load() + keep.size() >= kQuantizerTrainingPoints) {
    std::vector<const float*> batch;
    for (size_t i : keep) batch.push_back(vectors[i]);
    Train(batch);
  }

  threads = std::clamp<size_t>(threads, 1, keep.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < keep.size();) {
      Insert(ids[keep[i]], vectors[keep[i]]);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

void HnswIndex::Publish(uint32_t id, uint32_t node) {
  std::lock_guard lock(id_mu_);
  const uint32_t old = LoadRelaxed(id_node_[id]);
  if (old != kNoNode) {
    // Hide the old node and count the replacement before showing the new one: a search that saw both
    // then sees replaced_ change and removes the duplicate id (Finish).
    SetHidden(hidden_[old], true);
    replaced_.fetch_add(1, std::memory_order_seq_cst);
  } else {
    live_count_.fetch_add(1, std::memory_order_relaxed);
  }
  StoreRelease(id_node_[id], node);
  SetHidden(hidden_[node], false);
}

void HnswIndex::Remove(uint32_t id) {
  auto lock = ReadLock();
  std::lock_guard id_lock(id_mu_);
  const uint32_t node = NodeOf(id);
  if (node == kNoNode) return;
  SetHidden(hidden_[node], true);
  StoreRelease(id_node_[id], kNoNode);
  live_count_.fetch_sub(1, std::memory_order_relaxed);
}

void HnswIndex::Link(uint32_t node, int level, InsertScratch& s) {
  std::unique_lock entry_lock(entry_mu_);
  const uint64_t entry = entry_.load(std::memory_order_acquire);
  if (entry == kNoEntry) {
    entry_.store(PackEntry(node, level), std::memory_order_release);
    return;
  }
  const int max_level = static_cast<int>(entry >> 32);
  // An insert that raises the max level keeps the lock until it is the new entry point, so no other
  // insert starts from a level the graph does not have yet (hnswlib does the same).
  if (level <= max_level) entry_lock.unlock();

  const FloatScore score{*this, Vector(node)};
  uint32_t cur = GreedyClosest(score, static_cast<uint32_t>(entry), max_level, level + 1);
  for (int l = std::min(level, max_level); l >= 0; --l) {
    SearchLevel(score, cur, ef_construct_, l, /*results_only_visible=*/false, nullptr, s.search);
    std::vector<Candidate>& found = s.found;
    found.assign(s.search.top.items().begin(), s.search.top.items().end());
    std::sort(found.begin(), found.end(), hnsw::FartherFirst());
    SelectNeighbors(found, m_, s.selected, node);
    if (!s.selected.empty()) cur = s.selected.front().node;
    {
      ByteLock lock(locks_[node]);
      uint32_t* links = Links(node, l);
      for (size_t i = 0; i < s.selected.size(); ++i) StoreRelaxed(links[1 + i], s.selected[i].node);
      StoreRelease(links[0], static_cast<uint32_t>(s.selected.size()));
    }
    for (const Candidate& c : s.selected) ConnectBack(c.node, node, l, s);
  }
  if (level > max_level) entry_.store(PackEntry(node, level), std::memory_order_release);
}

void HnswIndex::ConnectBack(uint32_t neighbor, uint32_t node, int level, InsertScratch& s) {
  const size_t max = MaxLinks(level);
  ByteLock lock(locks_[neighbor]);
  uint32_t* links = Links(neighbor, level);
  const uint32_t n = std::min<uint32_t>(LoadRelaxed(links[0]), max);
  for (uint32_t i = 1; i <= n; ++i) {
    if (LoadRelaxed(links[i]) == node) return;
  }
  if (n < max) {
    StoreRelaxed(links[1 + n], node);
    StoreRelease(links[0], n + 1);
    return;
  }
  // The list is full: re-select among the old neighbours and the new node with the same heuristic,
  // which keeps long edges to distinct directions rather than just the nearest ones.
  const float* base = Vector(neighbor);
  s.prune_in.clear();
  s.prune_in.push_back({distance_(base, Vector(node)), node});
  for (uint32_t i = 1; i <= n; ++i) {
    const uint32_t other = LoadRelaxed(links[i]);
    s.prune_in.push_back({distance_(base, Vector(other)), other});
  }
  std::sort(s.prune_in.begin(), s.prune_in.end(), hnsw::FartherFirst());
  SelectNeighbors(s.prune_in, max, s.prune_out, neighbor);
  for (size_t i = 0; i < s.prune_out.size(); ++i) StoreRelaxed(links[1 + i], s.prune_out[i].node);
  StoreRelease(links[0], static_cast<uint32_t>(s.prune_out.size()));
}

void HnswIndex::SelectNeighbors(const std::vector<Candidate>& sorted, size_t max,
                                std::vector<Candidate>& out, uint32_t exclude) const {
  out.clear();
  size_t eligible = 0;
  for (const Candidate& c : sorted) eligible += c.node != exclude;
  for (const Candidate& c : sorted) {
    if (out.size() >= max) break;
    if (c.node == exclude) continue;
    bool keep = true;
    // With no more candidates than slots there is nothing to choose (hnswlib takes them all too).
    if (eligible > max) {
      const float* v = Vector(c.node);
      for (const Candidate& r : out) {
        if (distance_(v, Vector(r.node)) < c.distance) {
          keep = false;
          break;
        }
      }
    }
    if (keep) out.push_back(c);
  }
}

template <typename Score>
uint32_t HnswIndex::GreedyClosest(const Score& score, uint32_t start, int from_level,
                                  int to_level) const {
  uint32_t cur = start;
  if (from_level < to_level) return cur;
  float best = score(cur);
  for (int l = from_level; l >= to_level; --l) {
    for (bool changed = true; changed;) {
      changed = false;
      const uint32_t* links = Links(cur, l);
      const uint32_t n = std::min<uint32_t>(LoadAcquire(links[0]), m_);
      for (uint32_t i = 1; i <= n; ++i) {
        const uint32_t next = LoadRelaxed(links[i]);
        const float d = score(next);
        if (d < best) {
          best = d;
          cur = next;
          changed = true;
        }
      }
    }
  }
  return cur;
}

template <typename Score>
void HnswIndex::SearchLevel(const Score& score, uint32_t entry, size_t ef, int level,
                            bool results_only_visible, const IdFilter* filter,
                            SearchScratch& s) const {
  const bool filtered = filter != nullptr && static_cast<bool>(*filter);
  auto visible = [&](uint32_t node) {
    return !Hidden(hidden_[node]) && (!filtered || (*filter)(node_id_[node]));
  };
  s.visited.Begin(capacity_);
  s.top.Clear();
  s.candidates.Clear();
  if (s.neighbors.size() < m0_) s.neighbors.resize(m0_);
  uint32_t* fresh = s.neighbors.data();

  const float d0 = score(entry);
  float bound = std::numeric_limits<float>::infinity();
  if (!results_only_visible || visible(entry)) {
    s.top.Push({d0, entry});
    bound = d0;
  }
  s.candidates.Push({d0, entry});
  s.visited.Mark(entry);

  const size_t max_links = MaxLinks(level);
  const size_t lines = std::min(kPrefetchLines, (score.bytes() + kLine - 1) / kLine);
  while (!s.candidates.empty()) {
    const Candidate c = s.candidates.top();
    if (c.distance > bound && s.top.size() >= ef) break;
    s.candidates.Pop();

    // Pass 1 filters out visited neighbours and starts loading the rest, so the memory latency of all
    // of them overlaps; pass 2 scores them.
    const uint32_t* links = Links(c.node, level);
    const uint32_t n = std::min<uint32_t>(LoadAcquire(links[0]), max_links);
    size_t count = 0;
    for (uint32_t i = 1; i <= n; ++i) {
      const uint32_t next = LoadRelaxed(links[i]);
      if (s.visited.TestAndMark(next)) continue;
      Prefetch(score.Data(next));
      fresh[count++] = next;
    }
    for (size_t j = 0; j < count; ++j) {
      if (j + 1 < count) {
        const char* p = reinterpret_cast<const char*>(score.Data(fresh[j + 1]));
        for (size_t line = 1; line < lines; ++line) Prefetch(p + line * kLine);
      }
      const uint32_t next = fresh[j];
      const float d = score(next);
      if (s.top.size() < ef || d < bound) {
        s.candidates.Push({d, next});
        if (!results_only_visible || visible(next)) {
          s.top.Push({d, next});
          if (s.top.size() > ef) s.top.Pop();
          bound = s.top.top().distance;
        }
      }
    }
  }
}

template <typename Score>
void HnswIndex::SearchGraph(const Score& score, size_t ef, const IdFilter& filter,
                            SearchScratch& s) const {
  const uint64_t entry = entry_.load(std::memory_order_acquire);
  const uint32_t start =
      GreedyClosest(score, static_cast<uint32_t>(entry), static_cast<int>(entry >> 32), 1);
  SearchLevel(score, start, ef, 0, /*results_only_visible=*/true, &filter, s);
}

void HnswIndex::Train(const std::vector<const float*>& extra) {
  grow_waiting_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(resize_mu_);
  grow_waiting_.fetch_sub(1, std::memory_order_acq_rel);
  if (Trained()) return;
  // A sample of at most kSample vectors, spread over the stored nodes and the incoming batch.
  constexpr size_t kSample = 8192;
  const size_t stored = NodeLimit();
  const size_t total = stored + extra.size();
  const size_t step = std::max<size_t>(1, total / kSample);
  std::vector<const float*> sample;
  std::vector<float> prepared;  // the batch's sampled vectors in stored form (normalized for Cosine)
  prepared.reserve((extra.size() / step + 1) * dim());
  for (size_t i = 0; i < total; i += step) {
    if (i < stored) {
      sample.push_back(Vector(static_cast<uint32_t>(i)));
    } else {
      prepared.resize(prepared.size() + dim());
      distance_.Prepare(extra[i - stored], prepared.data() + prepared.size() - dim());
    }
  }
  for (size_t off = 0; off < prepared.size(); off += dim()) sample.push_back(prepared.data() + off);
  quantizer_ = ScalarQuantizer::Train(metric(), dim(), sample, quantile_);
  for (uint32_t node = 0; node < stored; ++node) EncodeNode(node);
  trained_.store(true, std::memory_order_release);
}

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
    const size_t ef = std::max(params.ef != 0 ? params.ef : ef_search_, params.k);
    const bool on_codes = quantized_ && !params.ignore_quantization && Trained();
    size_t keep = params.k;
    if (on_codes) {
      s.code.resize(dim());
      quantizer_.Encode(s.query.data(), s.code.data());
      SearchGraph(CodeScore{*this, s.code.data(), ScalarQuantizer::CodeSum(s.code.data(), dim())}, ef,
                  filter, s);
      keep = std::max(params.k, static_cast<size_t>(std::ceil(params.k * params.oversampling)));
    } else {
      SearchGraph(FloatScore{*this, s.query.data()}, ef, filter, s);
    }
    // Keep only the best unless duplicates may have to be dropped below.
    if (replaced_.load(std::memory_order_seq_cst) == replaced_before) {
      while (s.top.size() > keep) s.top.Pop();
    }
    out.reserve(s.top.size());
    for (const Candidate& c : s.top.items()) {
      // Re-rank code candidates with their float vectors: exact distances, as float search has.
      const float d = on_codes && params.rescore ? distance_(s.query.data(), Vector(c.node)) : c.distance;
      out.push_back({node_id_[c.node], d});
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
    if (Hidden(hidden_[node])) continue;
    const uint32_t id = node_id_[node];
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

size_t HnswIndex::memory_bytes() const {
  auto lock = ReadLock();
  const size_t per_node = record_bytes_ + sizeof(uint32_t) + 3 * sizeof(uint8_t) +
                          sizeof(std::unique_ptr<uint32_t[]>);
  return capacity_ * (per_node + (quantized_ ? vector_bytes_ : 0)) +
         id_node_.capacity() * sizeof(uint32_t) + upper_bytes_.load(std::memory_order_relaxed);
}

}  // namespace

std::unique_ptr<VectorIndex> NewHnswIndex(size_t dim, Metric metric, const HnswParams& params) {
  return std::make_unique<HnswIndex>(dim, metric, params);
}

}  // namespace vj

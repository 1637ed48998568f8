// HnswIndex construction, storage and inserts; the layout and concurrency rules are in hnsw_graph.h.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/file_cipher.h"
#include "index/hnsw_graph.h"
#include "index/hnsw_walk.h"

namespace vj {
namespace hnsw {
namespace {

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Bytes of a node's payload in its record: the floats, or the code (SQ8: bytes padded to 4, then
// their uint32 sum and sum of squares; binary: the bits).
size_t PayloadBytes(Quantization q, size_t dim) {
  switch (q) {
    case Quantization::kNone:
      return dim * sizeof(float);
    case Quantization::kScalarInt8:
      return RoundUp(dim, 4) + 2 * sizeof(uint32_t);
    case Quantization::kBinary:
      return BinaryQuantizer::CodeBytes(dim);
  }
  return dim * sizeof(float);
}

}  // namespace

HnswIndex::HnswIndex(size_t dim, Metric metric, const HnswParams& params)
    : distance_(metric, dim),
      params_(params),
      m_(std::clamp<size_t>(params.m, 2, kMaxM)),
      m0_(2 * m_),
      ef_construct_(std::max(params.ef_construct, m_)),
      ef_search_(std::max<size_t>(params.ef_search, 1)),
      level_mult_(1.0 / std::log(double(m_))),
      quantization_(params.quantization),
      quantized_(params.quantization != Quantization::kNone),
      code_sum_offset_(RoundUp(dim, 4)),
      links_offset_(PayloadBytes(params.quantization, dim)),
      record_bytes_(RoundUp(links_offset_ + m0_ * sizeof(uint32_t), kLine)),
      float_bytes_(quantized_ ? RoundUp(dim * sizeof(float), kLine) : 0),
      rng_(params.seed) {}

StatusOr<std::unique_ptr<HnswIndex>> HnswIndex::Create(size_t dim, Metric metric,
                                                       const HnswParams& params) {
  auto index = std::make_unique<HnswIndex>(dim, metric, params);
  if (params.vectors_on_disk) {
    if (params.quantization == Quantization::kNone) {
      return absl::InvalidArgumentError(
          "on_disk vectors need quantization: the graph is walked on in-memory codes");
    }
    // Encryption at rest: a mapped file would hold the float vectors in the clear, and encrypting
    // pages on eviction would put AES on the search path. With a data key over the directory the
    // floats stay in memory instead (docs/compliance.md): search speed from RAM is unchanged, memory
    // use is that of on_disk=false.
    if (DirectoryKeyFor(params.storage_path) == nullptr) {
      VJ_ASSIGN_OR_RETURN(index->s_.file,
                          MappedVectorFile::Create(params.storage_path, index->float_bytes_));
    }
  }
  return index;
}

void HnswIndex::LocateFloats() {
  if (!quantized_) {
    floats_ = s_.records.get();
    float_stride_ = record_bytes_;
  } else {
    floats_ = s_.file != nullptr ? s_.file->data() : s_.heap_floats.get();
    float_stride_ = float_bytes_;
  }
}

void HnswIndex::EnsureCapacity(size_t nodes, size_t ids) {
  {
    auto lock = ReadLock();
    if (nodes <= s_.capacity && ids <= s_.id_node.size()) return;
  }
  auto lock = WriteLock();
  const size_t old_cap = s_.capacity;
  if (nodes > old_cap) {
    // Doubling keeps the copying amortized O(1) per node; searches wait for it, inserts too.
    const size_t cap = std::max({nodes, old_cap * 2, size_t{256}});
    AlignedBytes records = AllocateAligned(cap * record_bytes_);
    if (old_cap > 0) std::memcpy(records.get(), s_.records.get(), old_cap * record_bytes_);
    std::memset(records.get() + old_cap * record_bytes_, 0, (cap - old_cap) * record_bytes_);
    s_.records = std::move(records);
    if (s_.file != nullptr) {
      if (Status st = s_.file->Reserve(cap); !st.ok()) {
        std::fprintf(stderr, "vjvector: HNSW vector file: %s\n", StatusMessage(st).c_str());
        std::abort();
      }
    } else if (quantized_) {
      AlignedBytes floats = AllocateAligned(cap * float_bytes_);
      if (old_cap > 0) std::memcpy(floats.get(), s_.heap_floats.get(), old_cap * float_bytes_);
      s_.heap_floats = std::move(floats);
    }
    s_.meta.resize(cap);
    s_.capacity = cap;
    LocateFloats();
  }
  if (ids > s_.id_node.size()) {
    const size_t target = std::min(std::max(ids, s_.id_node.size() * 3 / 2), size_t{1} << 32);
    s_.id_node.resize(target, kNoNode);
  }
}

void HnswIndex::EncodeNode(uint32_t node) {
  uint8_t* code = reinterpret_cast<uint8_t*>(Record(node));
  if (quantization_ == Quantization::kBinary) {
    binary_.Encode(Vector(node), code);
    return;
  }
  sq8_.Encode(Vector(node), code);
  uint32_t sums[2];
  sq8_.CodeAux(code, sums);
  std::memcpy(Record(node) + code_sum_offset_, sums, sizeof(sums));
}

void HnswIndex::Train(const std::vector<const float*>& extra) {
  auto lock = WriteLock();
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
  if (quantization_ == Quantization::kBinary) {
    binary_ = BinaryQuantizer::Train(dim(), sample);
  } else {
    sq8_ = ScalarQuantizer::Train(metric(), dim(), sample, params_.quantile,
                                   static_cast<ScalarQuantizer::Ranges>(params_.sq8_ranges));
  }
  for (uint32_t node = 0; node < stored; ++node) EncodeNode(node);
  trained_.store(true, std::memory_order_release);
}

int HnswIndex::RandomLevel() {
  std::lock_guard lock(rng_mu_);
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  // 1 - u lies in (0, 1], so the log is finite.
  return std::min(static_cast<int>(-std::log(1.0 - u) * level_mult_), kMaxLevel);
}

void HnswIndex::Insert(uint32_t id, const float* v) {
  auto writers = WriterLock();
  InsertLocked(id, v);
}

void HnswIndex::InsertLocked(uint32_t id, const float* v) {
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
  const int level = RandomLevel();
  if (level > 0) AddUpper(node, level);
  auto lock = ReadLock();
  std::memcpy(MutableVector(node), prepared.data(), dim() * sizeof(float));
  if (Trained()) EncodeNode(node);
  s_.meta[node].id = id;
  s_.meta[node].level = static_cast<uint8_t>(level);
  Link(node, level, s);
  Publish(id, node);
}

void HnswIndex::AddUpper(uint32_t node, int level) {
  const size_t words = size_t(level) * (1 + m_);
  std::lock_guard lock(upper_mu_);
  if (s_.upper.NeedsReserve(words)) {
    // Rare (a new 16 KiB chunk, or a table doubling): searches and inserts pause for a copy.
    auto write = WriteLock();
    s_.upper.Reserve(words);
  }
  // Readers may Find concurrently (the slot is published last); upper_mu_ excludes Reserve, and the
  // writers' lock held by every caller excludes Compact's swap of s_.
  s_.upper.Add(node, words);
}

void HnswIndex::InsertBatch(const std::vector<uint32_t>& ids, const std::vector<const float*>& vectors,
                            size_t threads) {
  VJ_CHECK(ids.size() == vectors.size());
  if (ids.empty()) return;
  auto writers = WriterLock();
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
      InsertLocked(ids[keep[i]], vectors[keep[i]]);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

void HnswIndex::Publish(uint32_t id, uint32_t node) {
  std::lock_guard lock(id_mu_);
  const uint32_t old = LoadRelaxed(s_.id_node[id]);
  if (old != kNoNode) {
    // Hide the old node and count the replacement before showing the new one: a search that saw both
    // then sees replaced_ change and removes the duplicate id (Search).
    StoreRelease(s_.meta[old].hidden, uint8_t{1});
    replaced_.fetch_add(1, std::memory_order_seq_cst);
  } else {
    live_count_.fetch_add(1, std::memory_order_relaxed);
  }
  StoreRelease(s_.id_node[id], node);
  StoreRelease(s_.meta[node].hidden, uint8_t{0});
  if (journaling_) journal_.push_back(id);
}

void HnswIndex::Remove(uint32_t id) {
  auto writers = WriterLock();
  auto lock = ReadLock();
  std::lock_guard id_lock(id_mu_);
  const uint32_t node = NodeOf(id);
  if (node == kNoNode) return;
  StoreRelease(s_.meta[node].hidden, uint8_t{1});
  StoreRelease(s_.id_node[id], kNoNode);
  live_count_.fetch_sub(1, std::memory_order_relaxed);
  if (journaling_) journal_.push_back(id);
}

void HnswIndex::Link(uint32_t node, int level, InsertScratch& s) {
  if (quantization_ == Quantization::kScalarInt8 && Trained()) {
    ScalarQuantizer::Query& query = s.search.sq8;
    sq8_.Prepare(Vector(node), query);
    if (sq8_.per_dimension()) {
      LinkWith(Sq8DimScore{*this, query}, node, level, s);
    } else {
      LinkWith(Sq8Score{*this, query}, node, level, s);
    }
  } else {
    LinkWith(FloatScore{*this, Vector(node)}, node, level, s);
  }
}

template <typename Score>
void HnswIndex::LinkWith(const Score& score, uint32_t node, int level, InsertScratch& s) {
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

  uint32_t cur = GreedyClosest(score, static_cast<uint32_t>(entry), max_level, level + 1);
  for (int l = std::min(level, max_level); l >= 0; --l) {
    SearchLevel(score, cur, ef_construct_, l, /*results_only_visible=*/false, nullptr, s.search);
    std::vector<Candidate>& found = s.found;
    found.assign(s.search.top.items().begin(), s.search.top.items().end());
    std::sort(found.begin(), found.end(), FartherFirst());
    SelectNeighbors(score, found, m_, s.selected, node);
    if (!s.selected.empty()) cur = s.selected.front().node;
    SetOwnLinks(score, node, l, s);
    for (const Candidate& c : s.selected) ConnectBack(score, c.node, node, l, s);
  }
  if (level > max_level) entry_.store(PackEntry(node, level), std::memory_order_release);
}

template <typename Score>
void HnswIndex::SetOwnLinks(const Score& score, uint32_t node, int level, InsertScratch& s) {
  ByteLock lock(s_.meta[node].lock);
  uint32_t* links = Links(node, level);
  const size_t max = MaxLinks(level);
  const uint32_t present = std::min<uint32_t>(LinkCount(node, level), static_cast<uint32_t>(max));
  if (present == 0) {
    for (size_t i = 0; i < s.selected.size(); ++i) StoreRelease(links[i], s.selected[i].node);
    SetLinkCount(node, level, static_cast<uint32_t>(s.selected.size()));
    return;
  }
  // Concurrent inserts reached this node through a level above (its links there are written first)
  // and linked themselves to it here (ConnectBack) before this insert got here. Overwriting the list
  // would drop those links, and a node whose only incoming link is one of them would be unreachable
  // by any search: keep them, and re-select with the heuristic when there are too many.
  s.prune_in.assign(s.selected.begin(), s.selected.end());
  for (uint32_t i = 0; i < present; ++i) {
    const uint32_t other = LoadRelaxed(links[i]);
    bool known = false;
    for (const Candidate& c : s.selected) known = known || c.node == other;
    if (!known) s.prune_in.push_back({score.Between(node, other), other});
  }
  const std::vector<Candidate>* keep = &s.prune_in;
  if (s.prune_in.size() > max) {
    std::sort(s.prune_in.begin(), s.prune_in.end(), FartherFirst());
    SelectNeighbors(score, s.prune_in, max, s.prune_out, node);
    keep = &s.prune_out;
  }
  for (size_t i = 0; i < keep->size(); ++i) StoreRelease(links[i], (*keep)[i].node);
  SetLinkCount(node, level, static_cast<uint32_t>(keep->size()));
}

template <typename Score>
void HnswIndex::ConnectBack(const Score& score, uint32_t neighbor, uint32_t node, int level,
                            InsertScratch& s) {
  const size_t max = MaxLinks(level);
  ByteLock lock(s_.meta[neighbor].lock);
  uint32_t* links = Links(neighbor, level);
  const uint32_t n = std::min<uint32_t>(LinkCount(neighbor, level), max);
  for (uint32_t i = 0; i < n; ++i) {
    if (LoadRelaxed(links[i]) == node) return;
  }
  if (n < max) {
    StoreRelease(links[n], node);
    SetLinkCount(neighbor, level, n + 1);
    return;
  }
  // The list is full: re-select among the old neighbours and the new node with the same heuristic,
  // which keeps long edges to distinct directions rather than just the nearest ones.
  s.prune_in.clear();
  s.prune_in.push_back({score.Between(neighbor, node), node});
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t other = LoadRelaxed(links[i]);
    s.prune_in.push_back({score.Between(neighbor, other), other});
  }
  std::sort(s.prune_in.begin(), s.prune_in.end(), FartherFirst());
  SelectNeighbors(score, s.prune_in, max, s.prune_out, neighbor);
  for (size_t i = 0; i < s.prune_out.size(); ++i) StoreRelease(links[i], s.prune_out[i].node);
  SetLinkCount(neighbor, level, static_cast<uint32_t>(s.prune_out.size()));
}

template <typename Score>
void HnswIndex::SelectNeighbors(const Score& score, const std::vector<Candidate>& sorted, size_t max,
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
      for (const Candidate& r : out) {
        if (score.Between(c.node, r.node) < c.distance) {
          keep = false;
          break;
        }
      }
    }
    if (keep) out.push_back(c);
  }
}

size_t HnswIndex::memory_bytes() const {
  auto lock = ReadLock();
  // What is allocated, not what is used: capacity beyond the node count is counted too.
  const size_t per_node =
      record_bytes_ + sizeof(NodeMeta) + (s_.heap_floats != nullptr ? float_bytes_ : 0);
  return s_.capacity * per_node + s_.id_node.capacity() * sizeof(uint32_t) + s_.upper.memory_bytes();
}

}  // namespace hnsw

std::unique_ptr<VectorIndex> NewHnswIndex(size_t dim, Metric metric, const HnswParams& params) {
  VJ_CHECK(!params.vectors_on_disk);
  return std::make_unique<hnsw::HnswIndex>(dim, metric, params);
}

StatusOr<std::unique_ptr<VectorIndex>> CreateHnswIndex(size_t dim, Metric metric,
                                                       const HnswParams& params) {
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<hnsw::HnswIndex> index,
                      hnsw::HnswIndex::Create(dim, metric, params));
  return std::unique_ptr<VectorIndex>(std::move(index));
}

StatusOr<std::unique_ptr<VectorIndex>> LoadHnswIndex(const std::string& path, size_t dim, Metric metric,
                                                     const HnswParams& params) {
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<hnsw::HnswIndex> index,
                      hnsw::HnswIndex::Load(path, dim, metric, params));
  return std::unique_ptr<VectorIndex>(std::move(index));
}

}  // namespace vj

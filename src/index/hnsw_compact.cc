// HnswIndex::Compact: reclaims tombstoned nodes by building a fresh graph over the live points and
// swapping it in, while searches AND writers go on.
//
// 1. Journal on (under id_mu_): from now on every Publish and Remove records its id.
// 2. Bulk copy: the nodes visible now are copied, a chunk at a time under resize_mu_ shared (so inserts
//    that grow the arrays wait at most one chunk's memcpy), and inserted into the fresh graph without
//    any lock of this index held.
// 3. Catch-up: the journalled ids are replayed from this index's current state (an id's live vector is
//    inserted into the fresh graph, a dead id removed from it), round after round, while writers go on.
// 4. Once a round is short, writers are excluded (writers_mu_ exclusively, which waits for the one
//    InsertBatch in flight), the last journal is replayed, and the arrays are swapped under resize_mu_
//    exclusively: the only pause writers see is the last round plus the swap.
// Every id changed after step 1 is replayed from the state at its last change, and every id not changed
// since was copied in step 2 with its current vector: the fresh graph holds exactly the live points. The
// rebuild is in memory (with vectors on disk, in a scratch file renamed over the old one after the
// swap): a crash before the swap leaves the old index as it was.
#include <algorithm>

#include "index/hnsw_graph.h"

namespace vj::hnsw {
namespace {

// Nodes copied per hold of resize_mu_ shared (1024 x 512 B for 128 floats: a 512 KiB memcpy, well under
// a millisecond), and inserted into the fresh graph between two checks for cancellation.
constexpr size_t kCopyChunk = 1024;
// A journal this short is replayed with writers excluded; longer ones are replayed while they run.
constexpr size_t kFinalJournal = 256;
// Catch-up rounds before writers are excluded anyway (a writer faster than the replay never lets the
// journal shrink); the last round then replays what is left.
constexpr int kMaxCatchUpRounds = 16;

}  // namespace

void HnswIndex::CopyLive(const std::vector<uint32_t>& ids, std::vector<uint32_t>& live_ids,
                         std::vector<float>& vectors, std::vector<uint32_t>& dead_ids) const {
  live_ids.clear();
  dead_ids.clear();
  vectors.clear();
  auto lock = ReadLock();
  for (uint32_t id : ids) {
    const uint32_t node = NodeOf(id);
    if (node == kNoNode) {
      dead_ids.push_back(id);
      continue;
    }
    live_ids.push_back(id);
    vectors.insert(vectors.end(), Vector(node), Vector(node) + dim());
  }
}

void HnswIndex::Replay(HnswIndex& fresh, std::vector<uint32_t> ids, size_t threads) const {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<uint32_t> live_ids, dead_ids;
  std::vector<float> vectors;
  std::vector<const float*> pointers;
  for (size_t begin = 0; begin < ids.size(); begin += kCopyChunk) {
    const size_t end = std::min(ids.size(), begin + kCopyChunk);
    CopyLive(std::vector<uint32_t>(ids.begin() + begin, ids.begin() + end), live_ids, vectors, dead_ids);
    for (uint32_t id : dead_ids) fresh.Remove(id);
    pointers.clear();
    for (size_t i = 0; i < live_ids.size(); ++i) pointers.push_back(vectors.data() + i * dim());
    fresh.InsertBatch(live_ids, pointers, threads);
  }
}

void HnswIndex::AdoptQuantizer(const ScalarQuantizer& sq8, const BinaryQuantizer& binary) {
  auto lock = WriteLock();
  sq8_ = sq8;
  binary_ = binary;
  const size_t nodes = NodeLimit();
  for (uint32_t node = 0; node < nodes; ++node) EncodeNode(node);
  trained_.store(true, std::memory_order_release);
}

std::vector<uint32_t> HnswIndex::TakeJournal(bool stop) {
  std::lock_guard lock(id_mu_);
  std::vector<uint32_t> out = std::move(journal_);
  journal_.clear();
  if (stop) journaling_ = false;
  return out;
}

Status HnswIndex::Compact(size_t threads, const std::atomic<bool>* cancel) {
  std::lock_guard compacting(compact_mu_);
  if (tombstone_count() == 0) return absl::OkStatus();
  HnswParams p = params_;
  if (s_.file != nullptr) p.storage_path = params_.storage_path + ".compact";
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<HnswIndex> fresh, Create(dim(), metric(), p));
  {
    // The same codes: the quantizer is kept, not retrained on the survivors. An index trained during
    // the rebuild leaves the fresh one to train itself on what it holds.
    auto lock = ReadLock();
    if (Trained()) {
      fresh->sq8_ = sq8_;
      fresh->binary_ = binary_;
      fresh->trained_.store(true, std::memory_order_release);
    }
  }
  const auto cancelled = [cancel] { return cancel != nullptr && cancel->load(); };
  {
    std::lock_guard lock(id_mu_);
    journal_.clear();
    journaling_ = true;
  }
  // However the rebuild ends before the swap (cancelled, or an exception such as std::bad_alloc while
  // the fresh graph grows), writes stop being journaled, and the index stays as it was.
  bool swapped = false;
  struct StopJournal {
    HnswIndex& index;
    const bool& swapped;
    ~StopJournal() {
      if (!swapped) (void)index.TakeJournal(/*stop=*/true);
    }
  } stop_journal{*this, swapped};

  // Step 2. Stored vectors are already normalized for Cosine; normalizing again leaves them as they are
  // (to rounding), so the fresh index holds the same points.
  size_t nodes;
  {
    auto lock = ReadLock();
    nodes = NodeLimit();
  }
  std::vector<uint32_t> ids;
  std::vector<float> vectors;
  std::vector<const float*> pointers;
  for (size_t begin = 0; begin < nodes; begin += kCopyChunk) {
    if (cancelled()) return absl::CancelledError("index compaction cancelled");
    ids.clear();
    vectors.clear();
    {
      auto lock = ReadLock();
      const size_t end = std::min(nodes, begin + kCopyChunk);
      for (uint32_t node = static_cast<uint32_t>(begin); node < end; ++node) {
        if (Hidden(node)) continue;
        ids.push_back(s_.meta[node].id);
        vectors.insert(vectors.end(), Vector(node), Vector(node) + dim());
      }
    }
    pointers.clear();
    for (size_t i = 0; i < ids.size(); ++i) pointers.push_back(vectors.data() + i * dim());
    fresh->InsertBatch(ids, pointers, threads);
  }

  // Step 3.
  for (int round = 0; round < kMaxCatchUpRounds; ++round) {
    if (cancelled()) return absl::CancelledError("index compaction cancelled");
    std::vector<uint32_t> journal = TakeJournal(/*stop=*/false);
    if (journal.size() <= kFinalJournal) {
      Replay(*fresh, std::move(journal), threads);
      break;
    }
    Replay(*fresh, std::move(journal), threads);
  }

  // Step 4.
  auto writers = ExclusiveWriterLock();
  Replay(*fresh, TakeJournal(/*stop=*/true), threads);
  swapped = true;  // the journal is stopped; nothing below throws but a failed rename (a Status)
  // This index trained its quantizer during the rebuild, the fresh one (smaller) did not: give it the
  // same codes, so that the quantizer swapped in below matches every code in the fresh arrays.
  if (Trained() && !fresh->Trained()) fresh->AdoptQuantizer(sq8_, binary_);
  Storage old;
  {
    auto lock = WriteLock();
    old = std::exchange(s_, std::move(fresh->s_));
    LocateFloats();
    sq8_ = fresh->sq8_;
    binary_ = fresh->binary_;
    trained_.store(fresh->Trained(), std::memory_order_release);
    next_node_.store(fresh->next_node_.load(), std::memory_order_release);
    live_count_.store(fresh->live_count_.load(), std::memory_order_relaxed);
    entry_.store(fresh->entry_.load(), std::memory_order_release);
    // Searches that began before the swap may see both graphs' nodes for one id: make them dedupe.
    replaced_.fetch_add(1, std::memory_order_seq_cst);
  }
  // Destroying the old storage removes the old vector file; the new one then takes its name.
  old = Storage();
  if (s_.file != nullptr) VJ_RETURN_IF_ERROR(s_.file->RenameTo(params_.storage_path));
  return absl::OkStatus();
}

}  // namespace vj::hnsw

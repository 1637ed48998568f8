// HnswIndex::Compact: reclaims tombstoned nodes by building a fresh graph over the live points and
// swapping it in. Searches run on the old graph until the swap, which waits for them (resize_mu_
// exclusively) and takes a moment; writers wait for the whole rebuild (writers_mu_ exclusively).
#include "index/hnsw_graph.h"

namespace vj::hnsw {

Status HnswIndex::Compact(size_t threads) {
  auto writers = ExclusiveWriterLock();
  if (tombstone_count() == 0) return absl::OkStatus();
  HnswParams p = params_;
  if (s_.file != nullptr) p.storage_path = params_.storage_path + ".compact";
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<HnswIndex> fresh, Create(dim(), metric(), p));
  // The same codes: the quantizer is kept, not retrained on the survivors.
  fresh->sq8_ = sq8_;
  fresh->binary_ = binary_;
  fresh->trained_.store(Trained(), std::memory_order_release);

  {
    // With writers excluded, nothing grows or changes the vectors read here.
    auto lock = ReadLock();
    std::vector<uint32_t> ids;
    std::vector<const float*> vectors;
    ids.reserve(live_count());
    vectors.reserve(live_count());
    const size_t nodes = NodeLimit();
    for (uint32_t node = 0; node < nodes; ++node) {
      if (Hidden(node)) continue;
      ids.push_back(s_.meta[node].id);
      vectors.push_back(Vector(node));
    }
    // Stored vectors are already normalized for Cosine; normalizing again leaves them as they are
    // (to rounding), so the fresh index holds the same points.
    fresh->InsertBatch(ids, vectors, threads);
  }

  Storage old;
  {
    auto lock = WriteLock();
    old = std::exchange(s_, std::move(fresh->s_));
    LocateFloats();
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

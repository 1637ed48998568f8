// ClusterNode: the replica side of replication (POST /internal/replication/...); see cluster_node.h.
#include "cluster/cluster_node.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/crash_point.h"

namespace vj {

// ---- Replication, replica side ------------------------------------------------------------------------

StatusOr<ReplicationAck> ClusterNode::ApplyReplication(const ReplicationBatchRequest& request) {
  const std::string& collection = request.collection;
  const uint32_t shard = request.shard;
  const uint64_t term = request.term;
  const uint64_t start = request.start;
  const std::string& phase = request.phase;
  auto entries = DecodeLogBatch(request.batch);
  if (!entries.ok()) return entries.status();

  std::shared_ptr<LocalReplicaState> replica = Replica({collection, shard});
  if (replica == nullptr) {
    return absl::UnavailableError("no replica of shard " + ShardLabel(collection, shard) + " here");
  }
  std::lock_guard<std::mutex> apply(replica->apply_mu);
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  const ShardEntry* entry = snap->Shard(collection, shard);
  const uint64_t known = std::max(entry != nullptr ? entry->placement.term : 0, replica->meta.term);
  if (term < known) {
    return absl::AbortedError("stale term " + std::to_string(term) + " for shard " + ShardLabel(collection, shard) +
                              "; the current term is " + std::to_string(known));
  }
  {
    // A newer primary exists: if this node still acted for an older term, it stops now.
    std::shared_ptr<Replicator> ended;  // destroyed after the lock: it joins threads
    std::lock_guard<std::mutex> lock(mu_);
    auto it = replicators_.find({collection, shard});
    if (it != replicators_.end() && it->second->term() < term) {
      it->second->Supersede();
      ended = std::move(it->second);
      replicators_.erase(it);
    }
  }
  Shard& local = *replica->shard;
  auto answer = [&](bool needs_snapshot) -> StatusOr<ReplicationAck> {
    return ReplicationAck{local.last_sequence(), needs_snapshot};
  };
  Status st;
  if (phase == "begin") {
    replica->meta = ReplicaMeta{term, false};
    st = SaveMeta(*replica);
    if (st.ok()) st = local.DeleteAllPoints();
    return st.ok() ? answer(false) : StatusOr<ReplicationAck>(st);
  }
  if (phase == "points" || phase == "end") {
    if (replica->meta.complete || replica->meta.term != term) {
      return absl::FailedPreconditionError("no snapshot of term " + std::to_string(term) + " in progress");
    }
    if (phase == "points") {
      std::vector<Mutation> mutations;
      for (LoggedMutation& e : *entries) mutations.push_back(std::move(e.mutation));
      st = local.ApplyMutations(std::move(mutations));
      VJ_CRASH_POINT("replica_snapshot");
      return st.ok() ? answer(false) : StatusOr<ReplicationAck>(st);
    }
    st = local.ResetSequence(request.sequence);
    if (st.ok()) {
      replica->meta.complete = true;
      st = SaveMeta(*replica);
    }
    return st.ok() ? answer(false) : StatusOr<ReplicationAck>(st);
  }
  if (!replica->meta.complete) return answer(true);
  if (term > replica->meta.term) {
    // Entries up to `start` are the same on every replica (the new primary had them when elected);
    // beyond it, this replica may hold writes of the old term the new primary never had.
    const uint64_t last = local.last_sequence();
    if (!(replica->meta.term == 0 && last == 0) && last > start) return answer(true);
    replica->meta.term = term;
    st = SaveMeta(*replica);
    if (!st.ok()) return st;
  }
  if (!entries->empty()) {
    st = local.ApplyLogged(std::move(*entries));
    // A gap: the answer's last_sequence tells the primary where to resume.
    if (!st.ok() && !absl::IsFailedPrecondition(st)) return st;
  }
  return answer(false);
}

}  // namespace vj

// ClusterNode under partitions: who may be elected, and when a primary gives its shard up; see
// cluster_node.h and docs/design/cluster.md ("Partitions").
#include <algorithm>
#include <tuple>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "cluster/cluster_node.h"

namespace vj {
namespace json = boost::json;

namespace {

// How many other live replicas of the shard `node` reached when it last published its progress (every
// other live replica when it published nothing about it).
size_t PublishedReach(const ClusterSnapshot& snap, const ShardEntry& entry, const std::string& node) {
  auto p = entry.progress.find(node);
  const std::vector<std::string>* reaches =
      p != entry.progress.end() && p->second.reaches ? &*p->second.reaches : nullptr;
  size_t n = 0;
  for (const std::string& other : entry.placement.replicas) {
    if (other == node || snap.nodes.count(other) == 0) continue;
    if (reaches == nullptr || std::find(reaches->begin(), reaches->end(), other) != reaches->end()) ++n;
  }
  return n;
}

}  // namespace

std::string ClusterNode::ElectionWinner(const ClusterSnapshot& snap, const std::string& name,
                                        const ShardEntry& entry, const std::string& exclude) const {
  // Candidates: live replicas with complete, writable (disk not full) data that reach (by what they published) the
  // write_consistency_factor - 1 other replicas a primary needs, so that a node cut off from its peers
  // does not win (and lose) the shard again and again. Ranked by published progress: the newest term,
  // then the most entries; the node id breaks ties. Every node computes the same winner.
  const size_t wcf = snap.WriteConsistencyFactor(name);
  std::string best;
  PublishedProgress best_progress;
  size_t candidates = 0;
  for (const std::string& node : entry.placement.replicas) {
    if (node == exclude || snap.nodes.count(node) == 0) continue;
    auto p = entry.progress.find(node);
    if (p == entry.progress.end() || !p->second.complete || !p->second.writable) continue;
    if (PublishedReach(snap, entry, node) + 1 < wcf) continue;
    ++candidates;
    const auto rank = std::make_tuple(p->second.term, p->second.sequence);
    if (best.empty() || rank > std::make_tuple(best_progress.term, best_progress.sequence)) {
      best = node;
      best_progress = p->second;
    }
  }
  // Every write acknowledged with write_consistency_factor >= 2 copies is on wcf of the replicas; with
  // at least replicas - wcf + 1 candidates, one of them holds it, and the winner (the most entries of
  // the newest term) holds them all. With fewer, no election: writes stay refused until a replica
  // returns. (With wcf 1 a write is acknowledged on the primary alone: any live replica may take over.)
  if (wcf > 1 && candidates + wcf < entry.placement.replicas.size() + 1) return "";
  return best;
}

size_t ClusterNode::ReachableReplicas(const ShardEntry& entry) const {
  size_t n = 0;
  for (const std::string& node : entry.placement.replicas) {
    if (node != options_.node_id && prober_.Reaches(node)) ++n;
  }
  return n;
}

void ClusterNode::MaybeStepDown(const ClusterSnapshot& snap, const std::string& name, uint32_t shard,
                                const ShardEntry& entry) {
  // Two reasons to give a shard up: this node no longer reaches the replicas a write needs (a partition),
  // or its disk is full (it refuses every write with 507). With write_consistency_factor 1 it keeps the
  // shard either way: it may hold writes no other replica has.
  const size_t wcf = snap.WriteConsistencyFactor(name);
  if (wcf <= 1) return;
  std::shared_ptr<LocalReplicaState> replica = Replica({name, shard});
  const int64_t lease = membership_.lease_id();
  if (replica == nullptr || lease == 0) return;
  const size_t reached = ReachableReplicas(entry);
  const bool cut_off = reached + 1 < wcf;
  const bool disk_full = replica->shard->write_blocked();
  if (!cut_off && !disk_full) return;
  // Give the shard up only when another replica can take it: otherwise writes are refused either way,
  // and this node goes on serving `primary` reads and takes writes again as soon as a replica answers
  // (or the disk has room again).
  const std::string successor = ElectionWinner(snap, name, entry, /*exclude=*/options_.node_id);
  if (successor.empty()) return;
  // ...and, cut off, only once the successor, too, says it no longer reaches this node: a partition is
  // seen from both sides, while replicas that died (or were paused) still list this node until their
  // leases expire and cannot take over.
  auto p = entry.progress.find(successor);
  if (cut_off && !disk_full && p != entry.progress.end() && p->second.reaches &&
      std::find(p->second.reaches->begin(), p->second.reaches->end(), options_.node_id) != p->second.reaches->end()) {
    return;
  }
  ShardPlacement next = entry.placement;
  next.stepped_down = true;
  // With the shard map, this node's progress record says whom it reaches now, so that no election in
  // between counts it as a candidate on older news.
  const std::string progress_key = keys_.Progress(name, shard) + options_.node_id;
  const std::string progress = ProgressRecord(*replica);
  auto txn = etcd_.Txn(
      {TxnCompare::ModRevisionEquals(keys_.Shard(name, shard), entry.mod_revision),
       TxnCompare::ValueEquals(keys_.Leader(name, shard),
                               json::serialize(json::object{{"node_id", options_.node_id},
                                                            {"term", entry.placement.term}}))},
      {TxnOp::Put(keys_.Shard(name, shard), ShardPlacementToJson(next)), TxnOp::Delete(keys_.Leader(name, shard)),
       TxnOp::Put(progress_key, progress, lease)});
  if (!txn.ok() || !txn->succeeded) return;
  std::shared_ptr<Replicator> ended;  // destroyed after the lock: it joins threads
  {
    std::lock_guard<std::mutex> lock(mu_);
    published_[progress_key] = progress;
    if (auto it = replicators_.find({name, shard}); it != replicators_.end()) {
      it->second->Supersede();
      ended = std::move(it->second);
      replicators_.erase(it);
    }
  }
  if (disk_full) {
    spdlog::warn("cluster: gave up the primary role of shard {} in term {}: its disk is full (writes refused "
                 "with 507); {} can take over",
                 ShardLabel(name, shard), entry.placement.term, successor);
  } else {
    spdlog::warn("cluster: gave up the primary role of shard {} in term {}: this node reaches {} of the {} "
                 "other replicas write_consistency_factor {} needs; {} can take over",
                 ShardLabel(name, shard), entry.placement.term, reached, wcf - 1, wcf, successor);
  }
  (void)view_.Refresh();
}

}  // namespace vj

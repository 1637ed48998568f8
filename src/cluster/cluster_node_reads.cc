// ClusterNode: what reads that ask several replicas, or the primary, need of the router (ShardRouter's
// ReadReplicas and LocalPosition); see cluster_node.h and cluster/replica_read.h.
#include "cluster/cluster_node.h"

#include <algorithm>

namespace vj {

StatusOr<ShardRouter::ReadReplicaSet> ClusterNode::ReadReplicas(const std::string& collection, uint32_t shard) {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  const ShardEntry* entry = snap->Shard(collection, shard);
  if (entry == nullptr) return absl::NotFoundError("Collection `" + collection + "` doesn't exist!");
  // Asked first: the acting primary (it holds every acknowledged write), then the replicas ReadTarget
  // calls healthy (this node's first: no network), then the other live ones, which stand in for those
  // that do not answer. Within a rank the order turns from read to read, to spread the load.
  const uint64_t head = entry->PrimarySequence();
  std::vector<std::pair<int, std::string>> ranked;
  for (const std::string& node : entry->placement.replicas) {
    if (snap->nodes.count(node) == 0) continue;
    if (node == options_.node_id && Replica({collection, shard}) == nullptr) continue;
    const bool leader = entry->leader && entry->leader->node == node && entry->leader->term == entry->placement.term;
    auto p = entry->progress.find(node);
    const bool healthy = p != entry->progress.end() && p->second.complete &&
                         p->second.term == entry->placement.term && p->second.sequence + options_.max_read_lag >= head;
    ranked.emplace_back(leader ? 0 : !healthy ? 3 : node == options_.node_id ? 1 : 2, node);
  }
  if (!ranked.empty()) {
    std::rotate(ranked.begin(), ranked.begin() + round_robin_.fetch_add(1) % ranked.size(), ranked.end());
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  ReadReplicaSet set;
  set.total = entry->placement.replicas.size();
  for (const auto& [rank, node] : ranked) {
    if (node == options_.node_id) {
      set.live.emplace_back();
    } else {
      set.live.emplace_back(PeerShard{snap->nodes.at(node), collection, shard});
    }
  }
  return set;
}

StatusOr<ReplicaPosition> ClusterNode::LocalPosition(const std::string& collection, uint32_t shard, bool primary) {
  std::shared_ptr<LocalReplicaState> replica = Replica({collection, shard});
  if (replica == nullptr) {
    return absl::UnavailableError("no replica of shard " + ShardLabel(collection, shard) + " on node " +
                                  options_.node_id);
  }
  if (primary) {
    // The same fencing as a write's acknowledgement: the leader key under this node's live lease, the
    // shard map's term, and no newer primary seen by the replicas.
    VJ_ASSIGN_OR_RETURN(std::optional<PeerShard> elsewhere, PrimaryOf(collection, shard));
    if (elsewhere) {
      return absl::UnavailableError("node " + options_.node_id + " is not the acting primary of shard " +
                                    ShardLabel(collection, shard) + " (the shard map it follows names " +
                                    elsewhere->url + ")");
    }
  }
  // The meta changes under apply_mu, with the data it describes (HandleReplication).
  std::lock_guard<std::mutex> apply(replica->apply_mu);
  if (!replica->meta.complete) {
    return absl::UnavailableError("the replica of shard " + ShardLabel(collection, shard) + " on node " +
                                  options_.node_id + " is loading a snapshot");
  }
  return ReplicaPosition{replica->meta.term, replica->shard->last_sequence()};
}

}  // namespace vj

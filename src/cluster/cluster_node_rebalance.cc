// ClusterNode: rebalancing (POST /cluster/rebalance); see cluster_node.h.
#include "cluster/cluster_node.h"

#include <algorithm>
#include <functional>
#include <tuple>

#include <spdlog/spdlog.h>


namespace vj {
namespace json = boost::json;

// ---- Rebalancing ----------------------------------------------------------------------------------------

Status ClusterNode::MoveReplica(const std::string& collection, uint32_t shard, const std::string& from,
                                const std::string& to) {
  const std::string key = keys_.Shard(collection, shard);
  auto update = [&](const std::function<bool(ShardPlacement&)>& change) -> Status {
    for (int attempt = 0; attempt < 10; ++attempt) {
      VJ_RETURN_IF_ERROR(view_.Refresh());
      std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
      const ShardEntry* entry = snap->Shard(collection, shard);
      if (entry == nullptr) return absl::NotFoundError("collection " + collection + " was deleted");
      ShardPlacement next = entry->placement;
      if (!change(next)) return absl::AbortedError("shard " + ShardLabel(collection, shard) + " changed meanwhile");
      VJ_ASSIGN_OR_RETURN(TxnResult txn, etcd_.Txn({TxnCompare::ModRevisionEquals(key, entry->mod_revision)},
                                                   {TxnOp::Put(key, ShardPlacementToJson(next))}));
      if (txn.succeeded) return view_.Refresh();
    }
    return absl::AbortedError("shard " + ShardLabel(collection, shard) + " keeps changing");
  };
  // 1. The target joins the replicas; the primary streams to it (a snapshot first when it needs one).
  VJ_RETURN_IF_ERROR(update([&](ShardPlacement& p) {
    if (!p.Holds(from) || p.primary == from) return false;
    if (!p.Holds(to)) p.replicas.push_back(to);
    return true;
  }));
  // 2. Wait until it has caught up with the primary, as both publish their progress.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (true) {
    std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
    const ShardEntry* entry = snap->Shard(collection, shard);
    if (entry == nullptr) return absl::NotFoundError("collection " + collection + " was deleted");
    auto target = entry->progress.find(to);
    auto primary = entry->leader ? entry->progress.find(entry->leader->node) : entry->progress.end();
    if (target != entry->progress.end() && primary != entry->progress.end() && target->second.complete &&
        target->second.term == entry->placement.term && target->second.sequence >= primary->second.sequence) {
      break;
    }
    if (std::chrono::steady_clock::now() > give_up) {
      return absl::DeadlineExceededError("replica of shard " + ShardLabel(collection, shard) + " on " + to +
                                         " did not catch up in time; it stays as an extra replica");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // 3. The source leaves; it drops its copy when it sees the new map.
  return update([&](ShardPlacement& p) {
    if (p.primary == from) return false;
    p.replicas.erase(std::remove(p.replicas.begin(), p.replicas.end(), from), p.replicas.end());
    return true;
  });
}

namespace {

// Replicas held by each live node.
std::map<std::string, size_t> ReplicaLoad(const ClusterSnapshot& snap) {
  std::map<std::string, size_t> load;
  for (const auto& [node, url] : snap.nodes) load[node] = 0;
  for (const auto& [name, entries] : snap.shards) {
    for (const ShardEntry& e : entries) {
      for (const std::string& node : e.placement.replicas) {
        if (load.count(node) != 0) ++load[node];
      }
    }
  }
  return load;
}

}  // namespace

StatusOr<json::value> ClusterNode::Rebalance(bool replace_dead) {
  std::lock_guard<std::mutex> one_at_a_time(rebalance_mu_);
  json::array moves;
  // Replicas on nodes that are gone (no live lease) move to the live node holding the fewest replicas
  // that lacks the shard. Shards still led by a dead node wait for their election (a later call).
  while (replace_dead) {
    VJ_RETURN_IF_ERROR(view_.Refresh());
    std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
    std::map<std::string, size_t> load = ReplicaLoad(*snap);
    std::optional<std::tuple<std::string, uint32_t, std::string, std::string>> pick;  // shard, from, to
    for (const auto& [name, entries] : snap->shards) {
      for (uint32_t s = 0; s < entries.size() && !pick; ++s) {
        const ShardPlacement& p = entries[s].placement;
        for (const std::string& node : p.replicas) {
          if (load.count(node) != 0 || p.primary == node) continue;
          std::optional<std::string> target;
          for (const auto& [candidate, n] : load) {
            if (!p.Holds(candidate) && (!target || n < load[*target])) target = candidate;
          }
          if (target) pick = {{name, s, node, *target}};
          break;
        }
      }
      if (pick) break;
    }
    if (!pick) break;
    const auto& [name, shard, from, to] = *pick;
    spdlog::info("cluster: rebalance: replacing the replica of shard {} on the dead node {} by one on {}",
                 ShardLabel(name, shard), from, to);
    VJ_RETURN_IF_ERROR(MoveReplica(name, shard, from, to));
    moves.push_back(json::object{
        {"collection", name}, {"shard_id", shard}, {"from", from}, {"to", to}, {"replaced_dead", true}});
  }
  while (true) {
    VJ_RETURN_IF_ERROR(view_.Refresh());
    std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
    std::map<std::string, size_t> load = ReplicaLoad(*snap);
    if (load.size() < 2) break;
    auto [least, most] = std::minmax_element(load.begin(), load.end(), [](const auto& a, const auto& b) {
      return a.second < b.second;
    });
    if (most->second <= least->second + 1) break;
    // A non-primary replica on the busiest node of a shard the idlest node does not hold yet.
    std::optional<std::pair<std::string, uint32_t>> pick;
    for (const auto& [name, entries] : snap->shards) {
      for (uint32_t s = 0; s < entries.size() && !pick; ++s) {
        const ShardPlacement& p = entries[s].placement;
        if (p.Holds(most->first) && p.primary != most->first && !p.Holds(least->first)) pick = {{name, s}};
      }
      if (pick) break;
    }
    if (!pick) break;
    const std::string from = most->first, to = least->first;
    spdlog::info("cluster: rebalance: moving the replica of shard {} from {} to {}",
                 ShardLabel(pick->first, pick->second), from, to);
    VJ_RETURN_IF_ERROR(MoveReplica(pick->first, pick->second, from, to));
    moves.push_back(json::object{{"collection", pick->first}, {"shard_id", pick->second}, {"from", from}, {"to", to}});
  }
  return json::object{{"moves", std::move(moves)}};
}

}  // namespace vj

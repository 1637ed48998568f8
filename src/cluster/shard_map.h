// The cluster's shard map: for each shard of a collection, the nodes holding its replicas, which one is
// primary, and the term of that primary (raised by one at every change of primary). Stored in etcd under
// <prefix>/shards/<collection>/<shard> as JSON; see docs/design/cluster.md for every key.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/status.h"

namespace vj {

struct ShardPlacement {
  std::vector<std::string> replicas;  // node ids, primary included
  std::string primary;
  uint64_t term = 1;
  // The primary's last sequence when it took the term: a replica from the previous term whose log goes
  // further holds writes this primary never had, and must reload a snapshot.
  uint64_t start_sequence = 0;
  // The primary gave the shard up (it reached too few replicas to meet write_consistency_factor): it
  // does not claim the leader key again; the replicas elect a primary of term + 1 instead.
  bool stepped_down = false;

  bool Holds(const std::string& node) const;
};

// "collection/shard", for logs, metrics and messages.
inline std::string ShardLabel(const std::string& collection, uint32_t shard) {
  return collection + "/" + std::to_string(shard);
}

std::string ShardPlacementToJson(const ShardPlacement& placement);
StatusOr<ShardPlacement> ParseShardPlacement(std::string_view json);

// Places `shards` shards with `replication_factor` replicas each over `nodes` (sorted, distinct):
// replicas of one shard on distinct nodes, primaries and replicas spread round-robin, starting at an
// offset derived from `seed` (the collection name) so collections do not all start on the same node.
// InvalidArgument when there are fewer nodes than replication_factor.
StatusOr<std::vector<ShardPlacement>> PlaceShards(const std::vector<std::string>& nodes, uint32_t shards,
                                                  uint32_t replication_factor, std::string_view seed);

// etcd keys of the cluster under `prefix` (e.g. "/vjvector").
struct ClusterKeys {
  std::string prefix;
  std::string Nodes() const { return prefix + "/nodes/"; }
  std::string Collections() const { return prefix + "/collections/"; }
  std::string Collection(const std::string& name) const { return Collections() + name; }
  // Every alias of the cluster, in one value (collection/alias_map.h's stored form).
  std::string Aliases() const { return prefix + "/aliases"; }
  std::string Shards(const std::string& name) const { return prefix + "/shards/" + name + "/"; }
  std::string Shard(const std::string& name, uint32_t shard) const {
    return Shards(name) + std::to_string(shard);
  }
  std::string Leaders(const std::string& name) const { return prefix + "/leaders/" + name + "/"; }
  std::string Leader(const std::string& name, uint32_t shard) const {
    return Leaders(name) + std::to_string(shard);
  }
  std::string ProgressOf(const std::string& name) const { return prefix + "/progress/" + name + "/"; }
  std::string Progress(const std::string& name, uint32_t shard) const {
    return ProgressOf(name) + std::to_string(shard) + "/";
  }
};

}  // namespace vj

// ClusterAliases: a cluster's collection aliases in etcd: one key, <prefix>/aliases, holds every alias
// in AliasMap's stored form (collection/alias_map.h), beside the collection configs under
// <prefix>/collections/. Every change is one etcd transaction guarded by compares (the aliases key's
// revision; the create revision of each collection an action names), so an action list applies all or
// none, and an alias change never interleaves with a collection create or delete on another node
// (ClusterNode guards those with Unchanged() too). A transaction that lost a race is retried on fresh
// reads a few times, then answered with Aborted (409).
//
// Visibility: nodes read aliases from their ClusterView (a watch on the cluster prefix, and a full
// re-read at least once a second). The node that made a change refreshes its view before answering;
// the others see it after the watch's delay (milliseconds), at most about a second when a watch broke.
//
// Thread-safety: methods may be called concurrently; etcd serializes the transactions.
#pragma once

#include <cstdint>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/shard_map.h"
#include "collection/alias_map.h"
#include "core/status.h"

namespace vj {

class ClusterAliases {
 public:
  ClusterAliases(EtcdClient& etcd, const ClusterKeys& keys) : etcd_(etcd), keys_(keys) {}

  // Applies the actions all or none (AliasMap::Apply's errors); OK once etcd stored the result.
  [[nodiscard]] Status Update(const std::vector<AliasAction>& actions);

  // The aliases as etcd holds them now, with the key's mod revision (0: no key, no aliases).
  struct Stored {
    AliasMap aliases;
    int64_t mod_revision = 0;
  };
  [[nodiscard]] StatusOr<Stored> Read();
  // A compare that holds while the aliases are still `stored` (for a transaction that must not race an
  // alias change), and the op that stores `aliases` (deleting the key when there are none).
  TxnCompare Unchanged(const Stored& stored) const;
  TxnOp Store(const AliasMap& aliases) const;

  // How many times a transaction that lost a race is tried again on fresh reads.
  static constexpr int kAttempts = 8;

 private:
  EtcdClient& etcd_;
  const ClusterKeys& keys_;
};

}  // namespace vj

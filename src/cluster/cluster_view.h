// ClusterView: this node's copy of the cluster state kept in etcd (nodes, collection configs, shard map,
// shard leaders; keys in docs/design/cluster.md). A background thread watches the cluster prefix and
// re-reads the whole state after every change (the state is small: a few keys per shard), and at least
// once a second, so that a lost watch or a restarted etcd only delays an update.
//
// Thread-safety: Start/Stop from one thread; Current() and Refresh() from any thread. OnChange callbacks
// run on the view's thread, after Current() already shows the new state.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/shard_map.h"
#include "collection/alias_map.h"
#include "collection/collection_config.h"
#include "core/status.h"

namespace vj {

struct ShardLeader {
  std::string node;
  uint64_t term = 0;
  int64_t lease = 0;
};

// What a replica last published of its data (<prefix>/progress/<collection>/<shard>/<node>).
struct PublishedProgress {
  uint64_t term = 0;
  uint64_t sequence = 0;
  bool complete = false;
  // The peers the node reached when it published (cluster/peer_prober.h); nullopt when it published
  // none (taken as reaching every peer).
  std::optional<std::vector<std::string>> reaches;
  // False while the node's copy refuses writes for a full disk: it is then no candidate in elections.
  // Records without the field (older nodes) count as writable.
  bool writable = true;
};

struct ShardEntry {
  ShardPlacement placement;
  int64_t mod_revision = 0;           // of the shard map key, for compare-and-swap
  std::optional<ShardLeader> leader;  // the leader key, while its holder's lease lives
  std::map<std::string, PublishedProgress> progress;  // by node, while the node's lease lives

  // The sequence the acting primary last published (the head replicas are measured against); 0 when
  // there is no primary or it has published nothing yet.
  uint64_t PrimarySequence() const {
    if (!leader) return 0;
    auto p = progress.find(leader->node);
    return p != progress.end() ? p->second.sequence : 0;
  }
};

struct ClusterSnapshot {
  int64_t revision = 0;
  std::map<std::string, std::string> nodes;  // live node id -> url
  std::map<std::string, CollectionConfig> collections;
  // The etcd create revision of each collection's key: tells a collection from an earlier one of the
  // same name (a node that missed a delete and re-create must not reuse the old replicas).
  std::map<std::string, int64_t> incarnations;
  std::map<std::string, std::vector<ShardEntry>> shards;  // by collection, indexed by shard
  // The collection aliases (<prefix>/aliases); empty when the key is absent or unreadable (logged).
  AliasMap aliases;

  // The shard's entry, or nullptr when the collection or shard is unknown.
  const ShardEntry* Shard(const std::string& collection, uint32_t shard) const;
  // The collection's write_consistency_factor (at least 1; 1 for an unknown collection).
  size_t WriteConsistencyFactor(const std::string& collection) const {
    auto config = collections.find(collection);
    return config == collections.end() ? 1 : std::max<size_t>(1, config->second.write_consistency_factor);
  }
};

class ClusterView {
 public:
  ClusterView(EtcdClient& etcd, ClusterKeys keys);
  ~ClusterView();

  // Reads the state once (errors are returned), then keeps it current in the background.
  [[nodiscard]] Status Start();
  void Stop();

  std::shared_ptr<const ClusterSnapshot> Current() const;
  // Reads etcd now and publishes the result (for callers that just changed it).
  [[nodiscard]] Status Refresh();
  void OnChange(std::function<void()> callback);

 private:
  StatusOr<std::shared_ptr<ClusterSnapshot>> Read() const;
  void Loop();

  EtcdClient& etcd_;
  const ClusterKeys keys_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const ClusterSnapshot> current_;  // guarded by mu_
  std::vector<std::function<void()>> callbacks_;    // guarded by mu_
  bool dirty_ = false;                              // guarded by mu_: a watch event arrived
  std::atomic<bool> stop_{false};
  std::thread refresh_thread_;
  std::thread watch_thread_;
};

}  // namespace vj

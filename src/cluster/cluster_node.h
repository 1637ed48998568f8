// ClusterNode: this node's part in a cluster coordinated by etcd (docs/design/cluster.md).
//
// It is the cluster's Catalog: creating a collection places its shards' replicas over the live nodes and
// stores config and shard map in one etcd transaction; every node follows the map through its
// ClusterView and opens the replicas it holds (<data_dir>/replicas/<collection>/<shard>). The collections
// it hands out are made of RoutedShards (cluster/routed_shard.h), for which it is the router.
//
// Per shard, the node listed as primary claims the shard's leader key under its membership lease and
// then acts as primary: it applies writes, streams them to the other replicas (cluster/replication.h)
// and acknowledges after write_consistency_factor copies. When the primary's lease expires (its leader
// key and node key vanish), the live replica with the most data wins an election: one etcd transaction
// that checks the shard map is unchanged and writes it with term + 1. A node acts as primary only while
// it holds its lease and its leader key carries that lease and the map's term (fencing); replicas refuse
// log entries of older terms.
//
// Replicas publish their progress ({term, sequence, complete, reaches}) under <prefix>/progress/ once a
// second, under their lease: reads avoid replicas that lag, and elections rank candidates by it.
//
// Liveness under partitions: every node probes its peers (cluster/peer_prober.h) and publishes whom it
// reaches. A primary that reaches fewer than write_consistency_factor - 1 other replicas refuses writes
// at once (503) and, when another replica could win an election, gives the shard up (stepped_down in
// the shard map); candidates must reach enough replicas, so the cut-off node cannot win it back.
//
// Thread-safety: all public methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "api/request.h"
#include "cluster/cluster_aliases.h"
#include "cluster/cluster_view.h"
#include "cluster/membership.h"
#include "cluster/peer_client.h"
#include "cluster/peer_prober.h"
#include "cluster/peer_protocol.h"
#include "cluster/replication.h"
#include "cluster/routed_shard.h"
#include "collection/catalog.h"
#include "collection/shard.h"

namespace vj {

struct ClusterNodeOptions {
  std::string data_dir;
  std::string node_id;
  CollectionOptions collection;
  // A replica more than this many log entries behind its primary is not read from.
  uint64_t max_read_lag = 10000;
  // How long a write waits for write_consistency_factor copies.
  std::chrono::milliseconds ack_timeout{10000};
  // Sent to peers on every internal request (empty: none).
  std::string internal_token;
  // A peer that answered none of this node's probes for this long is unreachable (cluster/peer_prober.h);
  // 0 = half the lease TTL, at least 1 s.
  std::chrono::milliseconds peer_unreachable_after{0};
  // CA and client certificate for peers' https:// URLs (mutual TLS between nodes).
  HttpClientTls peer_tls{};
  // Whether a peer's server certificate is a node's (security/peer_identity.h); unset: any that verified.
  std::function<Status(const std::vector<std::string>& names)> check_peer_names;
  // How writes forwarded to a shard's primary are bounded in time (ShardRouter::ForwardPolicy,
  // cluster/routed_shard.h): cluster.forward_deadline_ms and cluster.max_clock_skew_ms.
  std::chrono::milliseconds forward_window{3000};
  std::chrono::milliseconds max_clock_skew{500};
  // Collections in the cluster (limits.collections); 0 = no limit. Checked in the create's etcd
  // transaction, so that concurrent creates on several nodes cannot pass it together.
  uint64_t max_collections = 0;
};

class ClusterNode final : public Catalog, public ShardRouter {
 public:
  ClusterNode(EtcdClient& etcd, Membership& membership, ClusterKeys keys, ClusterNodeOptions options);
  ~ClusterNode() override;

  // Reads the cluster state, opens this node's replicas and starts following etcd.
  [[nodiscard]] Status Start();
  // Reads the TLS files this node presents to its peers again (SIGHUP): new connections use them.
  // On error (naming the file) the current ones stay.
  [[nodiscard]] Status ReloadPeerTls();
  void Stop();
  // True once every local replica is open and, for each shard it does not lead, caught up with the
  // primary's published progress (for /readyz).
  bool CaughtUp() const;

  // Catalog.
  [[nodiscard]] Status CreateCollection(const std::string& name, const CollectionConfig& config) override;
  [[nodiscard]] Status DeleteCollection(const std::string& name) override;
  [[nodiscard]] StatusOr<std::shared_ptr<Collection>> Get(const std::string& name) const override;
  [[nodiscard]] StatusOr<std::shared_ptr<Collection>> GetForReads(const std::string& name,
                                                                  ReadConsistency consistency) const override;
  bool Exists(const std::string& name) const override;
  std::vector<std::string> List() const override;
  // Aliases in etcd (cluster/cluster_aliases.h), resolved from this node's view of the cluster.
  std::optional<std::string> ResolveAlias(const std::string& name) const override;
  [[nodiscard]] Status UpdateAliases(const std::vector<AliasAction>& actions) override;
  std::vector<AliasEntry> ListAliases() const override;

  // For RestApiOptions: the collection serving one shard for peers' internal requests.
  // `apply_by_unix_ms`: a forwarded write's deadline (RoutedShard; 0 = none).
  StatusOr<std::shared_ptr<Collection>> ShardCollection(const std::string& collection, uint32_t shard, bool write,
                                                        int64_t apply_by_unix_ms = 0);
  // GET /collections/{name}/cluster.
  StatusOr<boost::json::value> CollectionClusterInfo(const std::string& collection) const;
  // POST /cluster/rebalance: moves replicas from the nodes holding the most to those holding the fewest
  // (a node that just joined), one at a time: the target is added to the shard's replicas, catches up
  // (snapshot + log from the primary) while reads and writes go on, then the source is removed. Primaries
  // stay where they are. With `replace_dead`, replicas on nodes without a live lease are first replaced
  // by copies on live nodes (the same move, from a node that no longer answers: the copy comes from the
  // primary). Returns the moves made.
  StatusOr<boost::json::value> Rebalance(bool replace_dead);
  // POST /internal/replication/{collection}/{shard}: a primary's log batch or snapshot step (the HTTP
  // side is api/replication_route.h). Aborted when the request's term is older than one this replica
  // knows: the sender is no longer primary.
  StatusOr<ReplicationAck> ApplyReplication(const ReplicationBatchRequest& request);

  struct Stats {
    uint64_t peers = 0;
    uint64_t elections_won = 0;
    uint64_t forwarded_writes = 0;
    std::map<std::string, uint64_t> terms;         // "collection/shard" -> term
    std::map<std::string, uint64_t> lag;           // "collection/shard/node" -> entries behind (primary's view)
    std::map<std::string, bool> acting_primary;    // "collection/shard" -> this node leads it
    std::map<std::string, uint64_t> quarantined;   // collection -> records its local replicas quarantined
  };
  Stats GetStats() const;

  // ShardRouter.
  std::shared_ptr<Shard> LocalReplica(const std::string& collection, uint32_t shard) override;
  StatusOr<std::optional<PeerShard>> WriteTarget(const std::string& collection, uint32_t shard) override;
  [[nodiscard]] Status AfterLocalWrite(const std::string& collection, uint32_t shard, uint64_t sequence,
                                       bool wait) override;
  StatusOr<std::optional<PeerShard>> ReadTarget(const std::string& collection, uint32_t shard,
                                                size_t attempt, ReadConsistency consistency) override;
  std::vector<std::optional<PeerShard>> AllReplicas(const std::string& collection, uint32_t shard) override;
  // cluster_node_reads.cc.
  StatusOr<ReadReplicaSet> ReadReplicas(const std::string& collection, uint32_t shard) override;
  StatusOr<ReplicaPosition> LocalPosition(const std::string& collection, uint32_t shard, bool primary) override;
  PeerClient& peers() override { return peers_; }
  ForwardPolicy forward_policy() const override {
    return ForwardPolicy{options_.forward_window, options_.max_clock_skew};
  }
  std::optional<ClockOffset> PeerClockOffset(const std::string& url) const override {
    return prober_.ClockOffsetOfUrl(url);
  }

 private:
  using ShardKey = std::pair<std::string, uint32_t>;
  // What a replica knows of its own data, persisted next to it (replica.json).
  struct ReplicaMeta {
    uint64_t term = 0;      // the term of the primary whose entries it last applied
    bool complete = true;   // false while a snapshot is being loaded
  };
  struct LocalReplicaState {
    std::shared_ptr<Shard> shard;
    std::string dir;
    int64_t incarnation = 0;  // the collection's etcd create revision
    ReplicaMeta meta;
    std::mutex apply_mu;  // serializes replication requests for this replica
  };

  void MaintenanceLoop();
  void Reconcile();
  // Reconcile steps for one shard.
  void ReconcileShard(const ClusterSnapshot& snap, const std::string& name, uint32_t shard,
                      const ShardEntry& entry);
  Status OpenReplica(const std::string& name, uint32_t shard, int64_t incarnation, const CollectionConfig& config);
  std::string ReplicaDir(const std::string& name, int64_t incarnation, uint32_t shard) const;
  // Removes replica directories of collections this node no longer holds (deleted while it was down).
  void RemoveStrayReplicaDirs(const ClusterSnapshot& snap);
  void CloseRemovedReplicas(const ClusterSnapshot& snap);
  void ClaimLeadership(const std::string& name, uint32_t shard, const ShardEntry& entry);
  void MaybeElect(const ClusterSnapshot& snap, const std::string& name, uint32_t shard, const ShardEntry& entry);
  void PublishProgress();
  // This node's progress record of one replica (the value under <prefix>/progress/...).
  std::string ProgressRecord(const LocalReplicaState& replica) const;
  // Gives up the primary role of a shard this node acts for when it reaches too few replicas, or when its
  // disk is full, and another replica can take over; see docs/design/cluster.md, "Partitions".
  void MaybeStepDown(const ClusterSnapshot& snap, const std::string& name, uint32_t shard, const ShardEntry& entry);
  // The replica that wins an election of the shard now, or "" when none may (see MaybeElect); `exclude`
  // is not a candidate.
  std::string ElectionWinner(const ClusterSnapshot& snap, const std::string& name, const ShardEntry& entry,
                             const std::string& exclude = "") const;
  // How many other live replicas of the shard this node reaches now (its own probes).
  size_t ReachableReplicas(const ShardEntry& entry) const;
  bool Acting(const ShardEntry& entry) const;
  // nullopt when this node is the shard's acting primary, else the primary; Unavailable when none acts.
  StatusOr<std::optional<PeerShard>> PrimaryOf(const std::string& collection, uint32_t shard);
  std::shared_ptr<LocalReplicaState> Replica(const ShardKey& key) const;
  Status SaveMeta(const LocalReplicaState& replica) const;
  // Moves one replica of collection/shard from `from` to `to`; see Rebalance.
  Status MoveReplica(const std::string& collection, uint32_t shard, const std::string& from, const std::string& to);
  // The collection `name` of `snap` (which must hold it) made of RoutedShards; cached per snapshot.
  std::shared_ptr<Collection> Routed(const ClusterSnapshot& snap, const std::string& name,
                                     ReadConsistency reads) const;
  // Applies `change` to the config of `name` stored in etcd (compare-and-swap, retried); the result.
  StatusOr<CollectionConfig> ChangeStoredConfig(const std::string& name, const Collection::ConfigChange& change);

  EtcdClient& etcd_;
  Membership& membership_;
  const ClusterKeys keys_;
  const ClusterNodeOptions options_;
  ClusterView view_;
  ClusterAliases aliases_;  // borrows etcd_ and keys_
  HttpClient http_;
  const HttpHeaders internal_headers_;
  PeerProber prober_;
  PeerClient peers_;

  mutable std::mutex mu_;
  std::map<ShardKey, std::shared_ptr<LocalReplicaState>> replicas_;  // guarded by mu_
  std::map<ShardKey, std::shared_ptr<Replicator>> replicators_;       // guarded by mu_
  // Collections handed out, by name and read consistency, with the config they were built from and the
  // snapshot revision that config was last seen in (the config is serialized again only when it moves).
  struct RoutedEntry {
    int64_t revision = 0;
    std::string config;  // serialized
    std::shared_ptr<Collection> collection;
  };
  mutable std::map<std::pair<std::string, ReadConsistency>, RoutedEntry> routed_;  // guarded by mu_
  std::map<ShardKey, std::chrono::steady_clock::time_point> leaderless_since_;  // guarded by mu_
  std::map<std::string, std::string> published_;  // progress key -> value last put; guarded by mu_
  int64_t published_lease_ = 0;                   // the lease published_ was put under; guarded by mu_
  std::atomic<uint64_t> round_robin_{0};
  std::atomic<uint64_t> elections_won_{0};
  std::atomic<uint64_t> forwarded_writes_{0};

  std::mutex reconcile_mu_;  // one Reconcile at a time
  std::mutex rebalance_mu_;  // one Rebalance at a time
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;  // guarded by wake_mu_
  std::atomic<bool> stop_{false};
  std::thread maintenance_thread_;
};

}  // namespace vj

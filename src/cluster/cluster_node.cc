#include "cluster/cluster_node.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <tuple>

#include <absl/strings/numbers.h>
#include <spdlog/spdlog.h>

#include "collection/peer_number.h"
#include "core/crash_point.h"
#include "core/retry_backoff.h"
#include "core/durable_file.h"
#include "core/json_fields.h"
#include "core/payload.h"

#include "tracing/tracer.h"

namespace vj {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr auto kMaintenanceInterval = std::chrono::milliseconds(250);
constexpr auto kProgressInterval = std::chrono::milliseconds(1000);
// A shard whose primary died is left leaderless this long before an election, so that every replica's
// final progress is in etcd when candidates are ranked: replication stopped when the primary died, at
// least 2/3 of a lease TTL (>= 2 s) before its leader key expired, and progress is published within
// kProgressInterval of a change; this delay covers the rest with a margin.
constexpr auto kElectionDelay = std::chrono::milliseconds(1000);
// How many lease TTLs a live primary may leave its shard unclaimed (no leader key) before the others elect.
constexpr int kUnclaimedLeases = 2;
// etcd refuses transactions of more than 128 operations by default.
constexpr uint32_t kMaxClusterShards = 100;

PeerProberOptions ProberOptions(std::chrono::milliseconds unreachable_after, std::chrono::seconds lease_ttl,
                                const ClusterNodeOptions& node) {
  using std::chrono::milliseconds;
  PeerProberOptions o;
  o.tls = node.peer_tls;
  o.check_server_names = node.check_peer_names;
  o.window = unreachable_after.count() > 0
                 ? unreachable_after
                 : std::max(milliseconds(1000), std::chrono::duration_cast<milliseconds>(lease_ttl) / 2);
  o.timeout = std::min(milliseconds(500), o.window / 2);
  return o;
}

}  // namespace

ClusterNode::ClusterNode(EtcdClient& etcd, Membership& membership, ClusterKeys keys, ClusterNodeOptions options)
    : etcd_(etcd), membership_(membership), keys_(std::move(keys)), options_(std::move(options)),
      view_(etcd, keys_),
      aliases_(etcd, keys_),
      http_(HttpClientOptions{.tls = options_.peer_tls, .check_server_names = options_.check_peer_names}),
      internal_headers_([this] {
        // Every request to a peer (forwarding, reads, replication) names the protocol it speaks.
        HttpHeaders headers{{kPeerProtocolHeader, kPeerProtocolVersionText}};
        if (!options_.internal_token.empty()) headers.emplace_back(kInternalTokenHeader, options_.internal_token);
        return headers;
      }()),
      prober_(ProberOptions(options_.peer_unreachable_after, membership.lease_ttl(), options_)),
      peers_(http_, internal_headers_, [this](const std::string& url) {
        const std::optional<bool> reached = prober_.ReachesUrl(url);
        return reached.has_value() && !*reached;
      }) {}

ClusterNode::~ClusterNode() { Stop(); }

Status ClusterNode::ReloadPeerTls() {
  VJ_RETURN_IF_ERROR(http_.ReloadTls());
  return prober_.ReloadTls();
}

Status ClusterNode::Start() {
  VJ_RETURN_IF_ERROR(view_.Start());
  view_.OnChange([this] {
    std::lock_guard<std::mutex> lock(wake_mu_);
    wake_ = true;
    wake_cv_.notify_all();
  });
  Reconcile();
  RemoveStrayReplicaDirs(*view_.Current());
  PublishProgress();
  maintenance_thread_ = std::thread([this] { MaintenanceLoop(); });
  return absl::OkStatus();
}

void ClusterNode::Stop() {
  if (!maintenance_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_.store(true);
    wake_cv_.notify_all();
  }
  maintenance_thread_.join();
  prober_.SetPeers({});
  view_.Stop();
  // Replicators are destroyed outside mu_: each joins its streaming threads.
  std::map<ShardKey, std::shared_ptr<Replicator>> replicators;
  std::lock_guard<std::mutex> lock(mu_);
  replicators.swap(replicators_);
  routed_.clear();
  for (auto& [key, replica] : replicas_) (void)replica->shard->Flush();
}

void ClusterNode::MaintenanceLoop() {
  auto last_progress = std::chrono::steady_clock::now();
  std::vector<std::string> last_reached = prober_.Reached();
  while (!stop_.load()) {
    {
      std::unique_lock<std::mutex> lock(wake_mu_);
      wake_cv_.wait_for(lock, kMaintenanceInterval, [this] { return stop_.load() || wake_; });
      wake_ = false;
    }
    if (stop_.load()) return;
    Reconcile();
    // Whom this node reaches is published as soon as it changes: elections depend on it.
    std::vector<std::string> reached = prober_.Reached();
    if (std::chrono::steady_clock::now() - last_progress >= kProgressInterval || reached != last_reached) {
      last_reached = std::move(reached);
      PublishProgress();
      last_progress = std::chrono::steady_clock::now();
    }
  }
}

// ---- Local replicas -------------------------------------------------------------------------------

// A replica's directory is <name>@<incarnation> (an etcd revision: at most 19 digits), and a directory's
// name has at most 255 bytes: ValidateCollectionName's 255 less 20.
constexpr size_t kMaxClusterCollectionNameLength = 255 - 20;

std::string ClusterNode::ReplicaDir(const std::string& name, int64_t incarnation, uint32_t shard) const {
  return options_.data_dir + "/replicas/" + name + "@" + std::to_string(incarnation) + "/" + std::to_string(shard);
}

Status ClusterNode::SaveMeta(const LocalReplicaState& replica) const {
  // Durable before the replica answers: "complete" is what makes it electable after a power loss.
  return WriteFileDurably(replica.dir + "/replica.json",
                          json::serialize(json::object{{"term", replica.meta.term}, {"complete", replica.meta.complete}}));
}

Status ClusterNode::OpenReplica(const std::string& name, uint32_t shard, int64_t incarnation,
                                const CollectionConfig& config) {
  VJ_DELAY_POINT("open_replica");
  auto replica = std::make_shared<LocalReplicaState>();
  replica->dir = ReplicaDir(name, incarnation, shard);
  replica->incarnation = incarnation;
  std::error_code ec;
  fs::create_directories(replica->dir, ec);
  if (ec) return absl::UnavailableError("cannot create " + replica->dir + ": " + ec.message());
  auto text = ReadDurableFile(replica->dir + "/replica.json");
  if (!text.ok() && !absl::IsNotFound(text.status())) return text.status();
  if (text.ok()) {
    auto v = ParseJson(*text, 4);
    if (v.ok() && v->is_object()) {
      if (const json::value* t = FindField(v->as_object(), "term"); t && t->is_number()) {
        replica->meta.term = t->to_number<uint64_t>();
      }
      if (const json::value* c = FindField(v->as_object(), "complete"); c && c->is_bool()) {
        replica->meta.complete = c->as_bool();
      }
    }
  }
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<Shard> opened,
                      Shard::Open(ShardLabel(name, shard), replica->dir, config, options_.collection));
  replica->shard = std::move(opened);
  spdlog::info("cluster: opened replica of shard {} ({} points, sequence {}, term {}{})", ShardLabel(name, shard),
               replica->shard->Info().points_count, replica->shard->last_sequence(), replica->meta.term,
               replica->meta.complete ? "" : ", snapshot incomplete");
  std::lock_guard<std::mutex> lock(mu_);
  replicas_[{name, shard}] = std::move(replica);
  return absl::OkStatus();
}

std::shared_ptr<ClusterNode::LocalReplicaState> ClusterNode::Replica(const ShardKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = replicas_.find(key);
  return it == replicas_.end() ? nullptr : it->second;
}

std::shared_ptr<Shard> ClusterNode::LocalReplica(const std::string& collection, uint32_t shard) {
  auto replica = Replica({collection, shard});
  return replica != nullptr ? replica->shard : nullptr;
}

void ClusterNode::CloseRemovedReplicas(const ClusterSnapshot& snap) {
  std::vector<std::shared_ptr<LocalReplicaState>> removed;
  std::vector<std::shared_ptr<Replicator>> ended;  // destroyed after the lock: each joins its threads
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = replicas_.begin(); it != replicas_.end();) {
      const auto& [name, shard] = it->first;
      const ShardEntry* entry = snap.Shard(name, shard);
      auto inc = snap.incarnations.find(name);
      const bool keep = entry != nullptr && entry->placement.Holds(options_.node_id) &&
                        inc != snap.incarnations.end() && inc->second == it->second->incarnation;
      if (keep) {
        ++it;
        continue;
      }
      if (auto r = replicators_.find(it->first); r != replicators_.end()) {
        ended.push_back(std::move(r->second));  // destroyed after the lock: it joins threads
        replicators_.erase(r);
      }
      removed.push_back(std::move(it->second));
      it = replicas_.erase(it);
    }
    for (auto it = routed_.begin(); it != routed_.end();) {
      it = snap.collections.count(it->first.first) == 0 ? routed_.erase(it) : std::next(it);
    }
  }
  for (auto& replica : removed) {
    // Requests in flight may still hold the shard: let them finish before its files go.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (replica->shard.use_count() > 1 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const std::string dir = replica->dir;
    spdlog::info("cluster: dropping replica {}", dir);
    replica.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

void ClusterNode::RemoveStrayReplicaDirs(const ClusterSnapshot& snap) {
  std::error_code ec;
  const fs::path root = options_.data_dir + "/replicas";
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string dirname = entry.path().filename().string();
    const size_t at = dirname.rfind('@');
    const std::string name = at == std::string::npos ? dirname : dirname.substr(0, at);
    auto inc = snap.incarnations.find(name);
    if (inc != snap.incarnations.end() && at != std::string::npos &&
        dirname.substr(at + 1) == std::to_string(inc->second)) {
      continue;
    }
    spdlog::info("cluster: removing {} (its collection no longer exists)", entry.path().string());
    fs::remove_all(entry.path(), ec);
  }
}

// ---- Reconciling with the shard map ---------------------------------------------------------------

bool ClusterNode::Acting(const ShardEntry& entry) const {
  return entry.leader.has_value() && entry.leader->node == options_.node_id &&
         entry.placement.primary == options_.node_id && entry.leader->term == entry.placement.term &&
         entry.leader->lease == membership_.lease_id() && membership_.has_lease();
}

void ClusterNode::Reconcile() {
  std::lock_guard<std::mutex> reconcile(reconcile_mu_);
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  std::map<std::string, std::string> peers = snap->nodes;
  peers.erase(options_.node_id);
  prober_.SetPeers(peers);
  CloseRemovedReplicas(*snap);
  for (const auto& [name, entries] : snap->shards) {
    for (uint32_t s = 0; s < entries.size(); ++s) ReconcileShard(*snap, name, s, entries[s]);
  }
}

void ClusterNode::ReconcileShard(const ClusterSnapshot& snap, const std::string& name, uint32_t shard,
                                 const ShardEntry& entry) {
  const ShardKey key{name, shard};
  if (!entry.placement.Holds(options_.node_id)) return;
  if (Replica(key) == nullptr) {
    Status s = OpenReplica(name, shard, snap.incarnations.at(name), snap.collections.at(name));
    if (!s.ok()) {
      spdlog::error("cluster: cannot open replica of shard {}: {}", ShardLabel(name, shard), StatusMessage(s));
      return;
    }
  }
  std::shared_ptr<LocalReplicaState> replica = Replica(key);
  // New index settings (PATCH /collections/{name} through any node): this replica rebuilds its indexes in
  // the background; a no-op once asked for these settings.
  if (Status s = replica->shard->UpdateIndexConfig(snap.collections.at(name)); !s.ok()) {
    spdlog::warn("cluster: shard {}: cannot queue the index rebuild for new settings: {}", ShardLabel(name, shard),
                 StatusMessage(s));
  }

  if (entry.placement.primary == options_.node_id && !entry.leader && !entry.placement.stepped_down) {
    ClaimLeadership(name, shard, entry);
  }

  if (Acting(entry)) {
    std::vector<ReplicaTarget> targets;
    for (const std::string& node : entry.placement.replicas) {
      if (node == options_.node_id) continue;
      auto url = snap.nodes.find(node);
      if (url != snap.nodes.end()) targets.push_back({node, url->second});
    }
    std::shared_ptr<Replicator> replicator, ended;  // `ended` is destroyed after the lock: it joins threads
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& slot = replicators_[key];
      if (slot == nullptr || slot->term() != entry.placement.term) {
        ended = std::move(slot);
        slot = std::make_shared<Replicator>(name, shard, replica->shard, entry.placement.term,
                                            entry.placement.start_sequence, http_, internal_headers_);
        spdlog::info("cluster: acting as primary of shard {} in term {}", ShardLabel(name, shard),
                     entry.placement.term);
      }
      replicator = slot;
    }
    if (replica->meta.term != entry.placement.term) {
      std::lock_guard<std::mutex> apply(replica->apply_mu);
      replica->meta.term = entry.placement.term;
      if (Status s = SaveMeta(*replica); !s.ok()) spdlog::error("cluster: {}", StatusMessage(s));
    }
    replicator->SetTargets(std::move(targets));
    MaybeStepDown(snap, name, shard, entry);
  } else {
    std::shared_ptr<Replicator> ended;  // destroyed after the lock: it joins threads
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = replicators_.find(key); it != replicators_.end()) {
      spdlog::info("cluster: no longer primary of shard {}", ShardLabel(name, shard));
      it->second->Supersede();
      ended = std::move(it->second);
      replicators_.erase(it);
    }
  }
  MaybeElect(snap, name, shard, entry);
}

void ClusterNode::ClaimLeadership(const std::string& name, uint32_t shard, const ShardEntry& entry) {
  const int64_t lease = membership_.lease_id();
  std::shared_ptr<LocalReplicaState> replica = Replica({name, shard});
  if (lease == 0 || !membership_.has_lease() || replica == nullptr || !replica->meta.complete) return;
  const std::string leader_key = keys_.Leader(name, shard);
  auto txn = etcd_.Txn(
      {TxnCompare::ModRevisionEquals(keys_.Shard(name, shard), entry.mod_revision),
       TxnCompare::CreateRevisionEquals(leader_key, 0)},
      {TxnOp::Put(leader_key,
                  json::serialize(json::object{{"node_id", options_.node_id}, {"term", entry.placement.term}}),
                  lease)});
  if (!txn.ok()) {
    spdlog::warn("cluster: claiming shard {}: {}", ShardLabel(name, shard), StatusMessage(txn.status()));
    return;
  }
  if (txn->succeeded) {
    spdlog::info("cluster: claimed the leadership of shard {} (term {})", ShardLabel(name, shard),
                 entry.placement.term);
    (void)view_.Refresh();
  }
}

void ClusterNode::MaybeElect(const ClusterSnapshot& snap, const std::string& name, uint32_t shard,
                             const ShardEntry& entry) {
  const ShardKey key{name, shard};
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // An election is due when the primary is gone (its lease expired) or gave the shard up, or when a live
    // primary has not claimed the shard for kUnclaimedLeases leases: a node restarted after a crash that is
    // still opening its replicas (minutes for big ones) would otherwise hold every write to the shard until
    // it is done. With write_consistency_factor 1 a live primary may hold writes no other replica has:
    // then the shard waits for it.
    const bool primary_live = snap.nodes.count(entry.placement.primary) != 0 && !entry.placement.stepped_down;
    if (entry.leader || (primary_live && snap.WriteConsistencyFactor(name) < 2)) {
      leaderless_since_.erase(key);
      return;
    }
    auto [it, inserted] = leaderless_since_.emplace(key, now);
    const std::chrono::milliseconds due =
        primary_live ? std::chrono::milliseconds(kUnclaimedLeases * membership_.lease_ttl()) : kElectionDelay;
    if (now - it->second < due) return;
  }
  if (ElectionWinner(snap, name, entry) != options_.node_id) return;
  std::shared_ptr<LocalReplicaState> replica = Replica(key);
  const int64_t lease = membership_.lease_id();
  if (replica == nullptr || !replica->meta.complete || lease == 0 || !membership_.has_lease()) return;

  ShardPlacement next = entry.placement;
  next.primary = options_.node_id;
  next.term = entry.placement.term + 1;
  next.start_sequence = replica->shard->last_sequence();
  next.stepped_down = false;
  auto txn = etcd_.Txn(
      {TxnCompare::ModRevisionEquals(keys_.Shard(name, shard), entry.mod_revision),
       TxnCompare::CreateRevisionEquals(keys_.Leader(name, shard), 0)},
      {TxnOp::Put(keys_.Shard(name, shard), ShardPlacementToJson(next)),
       TxnOp::Put(keys_.Leader(name, shard),
                  json::serialize(json::object{{"node_id", options_.node_id}, {"term", next.term}}), lease)});
  if (!txn.ok() || !txn->succeeded) return;
  elections_won_.fetch_add(1);
  VJ_CRASH_POINT("election");
  spdlog::warn("cluster: elected primary of shard {} in term {} at sequence {} (the previous primary {} {})",
               ShardLabel(name, shard), next.term, next.start_sequence, entry.placement.primary,
               entry.placement.stepped_down ? "gave it up" : "is gone");
  (void)view_.Refresh();
}

void ClusterNode::PublishProgress() {
  const int64_t lease = membership_.lease_id();
  if (lease == 0) return;
  std::vector<std::pair<std::string, std::string>> puts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (published_lease_ != lease) {
      published_.clear();
      published_lease_ = lease;
    }
    for (const auto& [key, replica] : replicas_) {
      const std::string k = keys_.Progress(key.first, key.second) + options_.node_id;
      const std::string v = ProgressRecord(*replica);
      if (published_[k] != v) puts.emplace_back(k, v);
    }
  }
  for (const auto& [k, v] : puts) {
    if (etcd_.Put(k, v, lease).ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      published_[k] = v;
    }
  }
}

std::string ClusterNode::ProgressRecord(const LocalReplicaState& replica) const {
  json::array reaches;
  for (const std::string& node : prober_.Reached()) reaches.push_back(json::value(node));
  return json::serialize(json::object{{"term", replica.meta.term},
                                      {"sequence", replica.shard->last_sequence()},
                                      {"complete", replica.meta.complete},
                                      {"writable", !replica.shard->write_blocked()},
                                      {"reaches", std::move(reaches)}});
}

bool ClusterNode::CaughtUp() const {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  for (const auto& [name, entries] : snap->shards) {
    for (uint32_t s = 0; s < entries.size(); ++s) {
      const ShardEntry& entry = entries[s];
      if (!entry.placement.Holds(options_.node_id)) continue;
      auto replica = Replica({name, s});
      if (replica == nullptr || !replica->meta.complete) return false;
      if (entry.leader && entry.leader->node != options_.node_id) {
        auto p = entry.progress.find(entry.leader->node);
        if (p != entry.progress.end() &&
            p->second.sequence > replica->shard->last_sequence() + options_.max_read_lag) {
          return false;
        }
      }
    }
  }
  return true;
}

// ---- Routing (ShardRouter) --------------------------------------------------------------------------

StatusOr<std::optional<PeerShard>> ClusterNode::PrimaryOf(const std::string& collection, uint32_t shard) {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  const ShardEntry* entry = snap->Shard(collection, shard);
  if (entry == nullptr) return absl::NotFoundError("Collection `" + collection + "` doesn't exist!");
  const std::string label = "shard " + std::to_string(shard) + " of collection " + collection;
  // Without a confirmed lease this node's view of the cluster may be stale and it may have been deposed:
  // it neither acts as primary nor knows whom to forward to. Waiting would not help the client.
  if (!membership_.has_lease()) {
    return FinalUnavailable("this node has no confirmed cluster membership (no successful lease keep-alive "
                            "with etcd within the lease TTL of " + std::to_string(membership_.lease_ttl().count()) +
                            " s): it cannot serve writes or primary reads of " + label + "; use another node");
  }
  if (Acting(*entry)) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = replicators_.find({collection, shard});
    if (it != replicators_.end() && !it->second->superseded()) return std::optional<PeerShard>();
  }
  if (entry->leader && entry->leader->node != options_.node_id && entry->leader->term == entry->placement.term) {
    const std::string& leader = entry->leader->node;
    auto url = snap->nodes.find(leader);
    if (url != snap->nodes.end() && !prober_.Reaches(leader)) {
      // Cut off from the primary. When this node reaches no other replica of the shard either, waiting
      // cannot help: whichever replica leads next, this node cannot reach it (or none can be elected).
      // When a replica this node reaches reports reaching the primary, this node is the one partitioned
      // away and no election will come. Otherwise the primary is probably gone and an election follows
      // within the lease TTL (worth a retry).
      size_t reachable = 0;
      for (const std::string& node : entry->placement.replicas) {
        if (node != leader && node != options_.node_id && prober_.Reaches(node)) ++reachable;
      }
      const bool may_lead =
          entry->placement.Holds(options_.node_id) && snap->WriteConsistencyFactor(collection) <= 1;
      if (reachable == 0 && !may_lead) {
        return FinalUnavailable("the primary " + leader + " of " + label + " does not answer this node, and " +
                                "neither does any other replica of it: this node is cut off from them; use "
                                "another node");
      }
      for (const auto& [node, p] : entry->progress) {
        if (node == options_.node_id || node == leader || !prober_.Reaches(node) || !p.reaches) continue;
        if (std::find(p.reaches->begin(), p.reaches->end(), leader) != p.reaches->end()) {
          return FinalUnavailable("the primary " + leader + " of " + label + " does not answer this node, but " +
                                  node + " reaches it (a network partition): use another node");
        }
      }
      return absl::UnavailableError("the primary " + leader + " of " + label +
                                    " does not answer (an election follows if its lease expires)");
    }
    if (url != snap->nodes.end()) return std::optional<PeerShard>(PeerShard{url->second, collection, shard});
  }
  const bool claim_pending =
      !entry->leader && snap->nodes.count(entry->placement.primary) != 0 && !entry->placement.stepped_down;
  if (!entry->leader && !claim_pending && ElectionWinner(*snap, collection, *entry).empty()) {
    return FinalUnavailable(
        label + " has no primary and none can be elected now: too few of its replicas are live, complete and "
        "reach the write_consistency_factor - 1 others a primary needs; writes resume when enough return");
  }
  return absl::UnavailableError(label + " has no primary at the moment (election or restart in progress)");
}

StatusOr<std::optional<PeerShard>> ClusterNode::WriteTarget(const std::string& collection, uint32_t shard) {
  auto target = PrimaryOf(collection, shard);
  if (target.ok() && target->has_value()) forwarded_writes_.fetch_add(1);
  if (target.ok() && !target->has_value()) {
    // This node is the primary: refuse before writing when it cannot gather write_consistency_factor
    // copies, rather than waiting for acknowledgements that cannot come.
    std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
    const size_t wcf = snap->WriteConsistencyFactor(collection);
    const ShardEntry* entry = snap->Shard(collection, shard);
    const size_t reached = entry != nullptr ? ReachableReplicas(*entry) : 0;
    if (wcf > 1 && reached + 1 < wcf) {
      return FinalUnavailable("the primary of shard " + std::to_string(shard) + " of collection " + collection +
                              " (this node) reaches " + std::to_string(reached) + " of the " +
                              std::to_string(wcf - 1) + " other replicas write_consistency_factor " +
                              std::to_string(wcf) + " needs; writes are refused until one answers again");
    }
  }
  return target;
}

Status ClusterNode::AfterLocalWrite(const std::string& collection, uint32_t shard, uint64_t sequence, bool wait) {
  std::shared_ptr<Replicator> replicator;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = replicators_.find({collection, shard});
    if (it != replicators_.end()) replicator = it->second;
  }
  if (replicator == nullptr) {
    return absl::UnavailableError("this node stopped being the primary of shard " + std::to_string(shard) +
                                  "; the write is not acknowledged");
  }
  replicator->Notify();
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  const size_t wcf = snap->WriteConsistencyFactor(collection);
  Span span;  // the wait for write_consistency_factor copies
  if (wait && wcf > 1) {
    span = StartSpan("replication.wait");
    span.SetAttribute("vjvector.copies", uint64_t{wcf});
    // Wait in slices: a primary that loses its lease or its replicas answers at once, not at the deadline.
    const auto deadline = std::chrono::steady_clock::now() + options_.ack_timeout;
    const ShardEntry* entry = snap->Shard(collection, shard);
    while (true) {
      const auto slice = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
      Status acks = replicator->WaitForAcks(sequence, wcf - 1, slice);
      if (acks.ok()) break;
      // Deposed (a replica knows a newer term): not acknowledged, and not a conflict of the client's.
      if (absl::IsAborted(acks)) return absl::UnavailableError(StatusMessage(acks));
      if (!absl::IsDeadlineExceeded(acks) || std::chrono::steady_clock::now() >= deadline) return acks;
      if (!membership_.has_lease()) break;  // answered below
      const size_t reached = entry != nullptr ? ReachableReplicas(*entry) : 0;
      if (reached + 1 < wcf) {
        return FinalUnavailable("the primary of shard " + std::to_string(shard) + " lost contact with its replicas "
                                "(it reaches " + std::to_string(reached) + " of the " + std::to_string(wcf - 1) +
                                " write_consistency_factor needs); the write is not acknowledged");
      }
    }
  }
  // Fencing: acknowledge only while this node still holds its lease and its term.
  if (!membership_.has_lease() || replicator->superseded()) {
    return absl::UnavailableError("this node lost its primary role of shard " + std::to_string(shard) +
                                  "; the write is not acknowledged");
  }
  return absl::OkStatus();
}

StatusOr<std::optional<PeerShard>> ClusterNode::ReadTarget(const std::string& collection, uint32_t shard,
                                                           size_t attempt, ReadConsistency consistency) {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  const ShardEntry* entry = snap->Shard(collection, shard);
  if (entry == nullptr) return absl::NotFoundError("Collection `" + collection + "` doesn't exist!");
  if (consistency.level == ReadConsistency::Level::kPrimary) return PrimaryOf(collection, shard);
  // Healthy: live, complete, in the current term and not far behind the primary's published sequence.
  const uint64_t head = entry->PrimarySequence();
  std::vector<std::string> healthy, live;
  for (const std::string& node : entry->placement.replicas) {
    if (snap->nodes.count(node) == 0) continue;
    if (node == options_.node_id && Replica({collection, shard}) == nullptr) continue;
    live.push_back(node);
    const bool leader = entry->leader && entry->leader->node == node;
    auto p = entry->progress.find(node);
    if (leader || (p != entry->progress.end() && p->second.complete && p->second.term == entry->placement.term &&
                   p->second.sequence + options_.max_read_lag >= head)) {
      healthy.push_back(node);
    }
  }
  const std::vector<std::string>& pool = healthy.empty() ? live : healthy;
  if (pool.empty()) {
    return absl::UnavailableError("no live replica of shard " + std::to_string(shard) + " of collection " +
                                  collection);
  }
  const std::string& pick = pool[(round_robin_.fetch_add(1) + attempt) % pool.size()];
  if (pick == options_.node_id) return std::optional<PeerShard>();
  return std::optional<PeerShard>(PeerShard{snap->nodes.at(pick), collection, shard});
}

std::vector<std::optional<PeerShard>> ClusterNode::AllReplicas(const std::string& collection, uint32_t shard) {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  std::vector<std::optional<PeerShard>> out;
  const ShardEntry* entry = snap->Shard(collection, shard);
  if (entry == nullptr) return out;
  for (const std::string& node : entry->placement.replicas) {
    if (node == options_.node_id) {
      out.emplace_back();
    } else if (auto url = snap->nodes.find(node); url != snap->nodes.end()) {
      out.emplace_back(PeerShard{url->second, collection, shard});
    }
  }
  return out;
}

// ---- Catalog ----------------------------------------------------------------------------------------

StatusOr<CollectionConfig> ClusterNode::ChangeStoredConfig(const std::string& name,
                                                            const Collection::ConfigChange& change) {
  // Read-modify-write with a compare-and-swap on the key's revision: this node's view may lag behind
  // the store, and another node may change the config at the same moment (two payload indexes
  // created at once through two nodes must both stay).
  const std::string key = keys_.Collection(name);
  constexpr int kAttempts = 20;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    BackOffBeforeRetry(attempt);  // lost to another writer: take turns (core/retry_backoff.h)
    VJ_ASSIGN_OR_RETURN(RangeResult read, etcd_.Get(key));
    if (read.kvs.empty()) return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
    const KeyValue& stored = read.kvs[0];
    VJ_ASSIGN_OR_RETURN(json::value parsed, ParseJson(stored.value));
    VJ_ASSIGN_OR_RETURN(CollectionConfig current, ParseCollectionConfig(parsed));
    VJ_ASSIGN_OR_RETURN(CollectionConfig next, change(std::move(current)));
    VJ_ASSIGN_OR_RETURN(TxnResult written,
                        etcd_.Txn({TxnCompare::ModRevisionEquals(key, stored.mod_revision)},
                                  {TxnOp::Put(key, json::serialize(CollectionConfigToJson(next)))}));
    if (written.succeeded) return next;
  }
  return absl::AbortedError("the config of collection " + name + " kept changing under this change (" +
                            std::to_string(kAttempts) + " attempts); try again");
}

std::shared_ptr<Collection> ClusterNode::Routed(const ClusterSnapshot& snap, const std::string& name,
                                                ReadConsistency reads) const {
  const CollectionConfig& config = snap.collections.at(name);
  std::lock_guard<std::mutex> lock(mu_);
  RoutedEntry& entry = routed_[{name, reads}];
  if (entry.collection != nullptr && entry.revision == snap.revision) return entry.collection;
  // A newer snapshot (progress and leases change it every second): rebuild only if the config moved.
  std::string serialized = json::serialize(CollectionConfigToJson(config));
  if (entry.collection != nullptr && entry.config == serialized) {
    entry.revision = snap.revision;
    return entry.collection;
  }
  auto* self = const_cast<ClusterNode*>(this);
  std::vector<std::shared_ptr<ShardAccess>> shards;
  for (uint32_t i = 0; i < std::max<uint32_t>(1, config.shard_number); ++i) {
    shards.push_back(std::make_shared<RoutedShard>(*self, name, i, /*forward=*/true, reads));
  }
  std::shared_ptr<Collection> built = Collection::Assemble(
      name, config, std::move(shards),
      [self, name](const CollectionConfig&, const Collection::ConfigChange& change) {
        return self->ChangeStoredConfig(name, change);
      });
  entry = RoutedEntry{snap.revision, std::move(serialized), built};  // all or nothing
  return built;
}

Status ClusterNode::CreateCollection(const std::string& name, const CollectionConfig& config) {
  VJ_RETURN_IF_ERROR(ValidateCollectionName(name));
  // A replica's directory is named <name>@<incarnation>; that name must fit the file system's limit too,
  // or no node could open the collection's shards.
  if (name.size() > kMaxClusterCollectionNameLength) {
    return absl::InvalidArgumentError("collection name must have 1 to " +
                                      std::to_string(kMaxClusterCollectionNameLength) +
                                      " characters in cluster mode");
  }
  if (config.shard_number > kMaxClusterShards) {
    return absl::InvalidArgumentError("shard_number: at most " + std::to_string(kMaxClusterShards) +
                                      " in cluster mode");
  }
  const uint32_t rf = std::max<uint32_t>(1, config.replication_factor);
  if (config.write_consistency_factor > rf) {
    return absl::InvalidArgumentError("write_consistency_factor: must not exceed replication_factor (" +
                                      std::to_string(rf) + ")");
  }
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  if (snap->nodes.size() < rf) {
    // The view follows etcd a few milliseconds behind: a node that just joined (and that GET /cluster,
    // which reads the membership, may already list) is counted after a fresh read.
    VJ_RETURN_IF_ERROR(view_.Refresh());
    snap = view_.Current();
  }
  if (snap->collections.count(name) != 0) return absl::AlreadyExistsError("Collection `" + name + "` already exists!");
  std::vector<std::string> nodes;
  for (const auto& [node, url] : snap->nodes) nodes.push_back(node);
  auto placements = PlaceShards(nodes, std::max<uint32_t>(1, config.shard_number), rf, name);
  if (!placements.ok()) return WithContext(placements.status(), "replication_factor");
  // Leftovers of an earlier collection of this name whose deletion was interrupted.
  VJ_RETURN_IF_ERROR(etcd_.DeletePrefix(keys_.Shards(name)).status());
  VJ_RETURN_IF_ERROR(etcd_.DeletePrefix(keys_.Leaders(name)).status());
  VJ_RETURN_IF_ERROR(etcd_.DeletePrefix(keys_.ProgressOf(name)).status());
  std::vector<TxnOp> ops{TxnOp::Put(keys_.Collection(name), json::serialize(CollectionConfigToJson(config)))};
  for (uint32_t i = 0; i < placements->size(); ++i) {
    ops.push_back(TxnOp::Put(keys_.Shard(name, i), ShardPlacementToJson((*placements)[i])));
  }
  // An alias may not take the name meanwhile: the create also needs the aliases unchanged since read.
  for (int attempt = 0;; ++attempt) {
    BackOffBeforeRetry(attempt);  // lost to another writer: take turns (core/retry_backoff.h)
    VJ_ASSIGN_OR_RETURN(ClusterAliases::Stored aliases, aliases_.Read());
    if (aliases.aliases.Contains(name)) {
      return absl::AlreadyExistsError("Can't create collection with name " + name +
                                      ". Alias with the same name already exists");
    }
    std::vector<TxnCompare> guards{TxnCompare::CreateRevisionEquals(keys_.Collection(name), 0),
                                   aliases_.Unchanged(aliases)};
    if (options_.max_collections != 0) {
      // Counted in etcd, and guarded: a collection another node creates meanwhile makes this try again.
      VJ_ASSIGN_OR_RETURN(RangeResult existing, etcd_.GetPrefix(keys_.Collections()));
      if (existing.kvs.size() >= options_.max_collections) {
        return absl::InvalidArgumentError("collections: " + std::to_string(existing.kvs.size() + 1) +
                                          " collections is over the limit of " +
                                          std::to_string(options_.max_collections) + " (setting limits.collections)");
      }
      guards.push_back(TxnCompare::NothingChangedUnderPrefixSince(keys_.Collections(), existing.revision));
    }
    VJ_ASSIGN_OR_RETURN(TxnResult txn, etcd_.Txn(guards, ops, {TxnOp::Get(keys_.Collection(name))}));
    if (txn.succeeded) break;
    if (!txn.responses.empty() && !txn.responses[0].kvs.empty()) {
      return absl::AlreadyExistsError("Collection `" + name + "` already exists!");
    }
    if (attempt + 1 == ClusterAliases::kAttempts) {
      return absl::AbortedError("the aliases or collections kept changing while collection " + name +
                                " was created; try again");
    }
  }
  // Wait (bounded) until every shard has an acting primary, so the collection takes writes at once.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < give_up) {
    (void)view_.Refresh();
    snap = view_.Current();
    auto it = snap->shards.find(name);
    if (it != snap->shards.end() &&
        std::all_of(it->second.begin(), it->second.end(), [](const ShardEntry& e) { return e.leader.has_value(); })) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::OkStatus();
}

Status ClusterNode::DeleteCollection(const std::string& name) {
  // The collection's aliases go with it, in the same transaction (guarded: an alias created for it
  // meanwhile fails the compare, and the next attempt drops it too).
  for (int attempt = 0;; ++attempt) {
    BackOffBeforeRetry(attempt);  // lost to another writer: take turns (core/retry_backoff.h)
    VJ_ASSIGN_OR_RETURN(ClusterAliases::Stored aliases, aliases_.Read());
    AliasMap remaining = aliases.aliases;
    std::vector<TxnOp> ops{TxnOp::Delete(keys_.Collection(name)), TxnOp::DeletePrefix(keys_.Shards(name)),
                           TxnOp::DeletePrefix(keys_.Leaders(name)), TxnOp::DeletePrefix(keys_.ProgressOf(name))};
    if (remaining.RemoveCollection(name) != 0) ops.push_back(aliases_.Store(remaining));
    VJ_ASSIGN_OR_RETURN(TxnResult txn, etcd_.Txn({aliases_.Unchanged(aliases)}, ops));
    if (txn.succeeded) {
      if (txn.responses.empty() || txn.responses[0].deleted == 0) {
        return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
      }
      break;
    }
    if (attempt + 1 == ClusterAliases::kAttempts) {
      return absl::AbortedError("the aliases kept changing while collection " + name + " was deleted; try again");
    }
  }
  (void)view_.Refresh();
  Reconcile();
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<Collection>> ClusterNode::Get(const std::string& name) const {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  auto it = snap->collections.find(name);
  if (it == snap->collections.end()) return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
  return Routed(*snap, name, ReadConsistency());
}

StatusOr<std::shared_ptr<Collection>> ClusterNode::GetForReads(const std::string& name,
                                                               ReadConsistency consistency) const {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  auto it = snap->collections.find(name);
  if (it == snap->collections.end()) return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
  return Routed(*snap, name, consistency);
}

std::optional<std::string> ClusterNode::ResolveAlias(const std::string& name) const {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  if (snap->aliases.empty() || snap->collections.count(name) != 0) return std::nullopt;
  return snap->aliases.Resolve(name);
}

Status ClusterNode::UpdateAliases(const std::vector<AliasAction>& actions) {
  VJ_RETURN_IF_ERROR(aliases_.Update(actions));
  // This node answers with the change visible here; the others follow through their watches.
  if (Status refreshed = view_.Refresh(); !refreshed.ok()) {
    spdlog::warn("cluster: aliases stored, but the view could not be refreshed: {}", StatusMessage(refreshed));
  }
  return absl::OkStatus();
}

std::vector<AliasEntry> ClusterNode::ListAliases() const { return view_.Current()->aliases.List(); }

bool ClusterNode::Exists(const std::string& name) const { return view_.Current()->collections.count(name) != 0; }

std::vector<std::string> ClusterNode::List() const {
  std::vector<std::string> names;
  for (const auto& [name, config] : view_.Current()->collections) names.push_back(name);
  return names;
}

StatusOr<std::shared_ptr<Collection>> ClusterNode::ShardCollection(const std::string& collection, uint32_t shard,
                                                                   bool write, int64_t apply_by_unix_ms) {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  auto it = snap->collections.find(collection);
  if (it == snap->collections.end()) return absl::NotFoundError("Collection `" + collection + "` doesn't exist!");
  CollectionConfig one = it->second;
  one.shard_number = 1;
  if (write) {
    auto routed = std::make_shared<RoutedShard>(*this, collection, shard, /*forward=*/false, ReadConsistency(),
                                                apply_by_unix_ms);
    return std::shared_ptr<Collection>(Collection::Assemble(
        collection, one, {routed}, Collection::InMemoryConfig()));
  }
  std::shared_ptr<Shard> local = LocalReplica(collection, shard);
  if (local == nullptr) {
    return absl::UnavailableError("no replica of shard " + std::to_string(shard) + " of " + collection + " here");
  }
  return std::shared_ptr<Collection>(
      Collection::Assemble(collection, one, {local}, Collection::InMemoryConfig()));
}

// ---- Status -------------------------------------------------------------------------------------------

StatusOr<json::value> ClusterNode::CollectionClusterInfo(const std::string& collection) const {
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  auto shards = snap->shards.find(collection);
  if (shards == snap->shards.end()) return absl::NotFoundError("Collection `" + collection + "` doesn't exist!");
  json::array detail, local, remote;
  for (uint32_t s = 0; s < shards->second.size(); ++s) {
    const ShardEntry& entry = shards->second[s];
    const uint64_t head = entry.PrimarySequence();
    json::array replicas;
    for (const std::string& node : entry.placement.replicas) {
      const bool live = snap->nodes.count(node) != 0;
      auto p = entry.progress.find(node);
      std::string state = !live ? "Dead" : p == entry.progress.end() ? "Initializing"
                                           : !p->second.complete    ? "Partial"
                                                                    : "Active";
      json::object r{{"peer_id", node},
                     {"uri", live ? json::value(snap->nodes.at(node)) : json::value(nullptr)},
                     {"is_primary", entry.leader && entry.leader->node == node},
                     {"state", state}};
      if (p != entry.progress.end()) {
        r["sequence"] = p->second.sequence;
        r["term"] = p->second.term;
        r["lag"] = head > p->second.sequence ? head - p->second.sequence : 0;
      }
      replicas.push_back(std::move(r));
      if (node == options_.node_id) {
        auto replica = Replica({collection, s});
        local.push_back(json::object{{"shard_id", s},
                                     {"points_count", replica ? replica->shard->Info().points_count : 0},
                                     {"state", state}});
      } else {
        remote.push_back(json::object{{"shard_id", s}, {"peer_id", PeerNumber(node)}, {"state", state}, {"node_id", node}});
      }
    }
    detail.push_back(json::object{{"shard_id", s},
                                  {"term", entry.placement.term},
                                  {"primary", entry.leader ? json::value(entry.leader->node) : json::value(nullptr)},
                                  {"replicas", std::move(replicas)}});
  }
  // Qdrant's shape (integer peer ids) plus VJVector's own: node_id names, and `shards`, each shard's
  // placement, primary and replication progress.
  return json::object{{"peer_id", PeerNumber(options_.node_id)},
                      {"node_id", options_.node_id},
                      {"shard_count", shards->second.size()},
                      {"local_shards", std::move(local)},
                      {"remote_shards", std::move(remote)},
                      {"shard_transfers", json::array()},
                      {"shards", std::move(detail)}};
}

ClusterNode::Stats ClusterNode::GetStats() const {
  Stats stats;
  stats.elections_won = elections_won_.load();
  stats.forwarded_writes = forwarded_writes_.load();
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  stats.peers = snap->nodes.size();
  for (const auto& [name, entries] : snap->shards) {
    for (uint32_t s = 0; s < entries.size(); ++s) {
      const std::string id = ShardLabel(name, s);
      stats.terms[id] = entries[s].placement.term;
      stats.acting_primary[id] = Acting(entries[s]);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, replica] : replicas_) {
    if (replica->shard) stats.quarantined[key.first] += replica->shard->quarantined_records();
  }
  for (const auto& [key, replicator] : replicators_) {
    auto replica = replicas_.find(key);
    const uint64_t head = replica != replicas_.end() ? replica->second->shard->last_sequence() : 0;
    for (const auto& [node, p] : replicator->Progress()) {
      stats.lag[ShardLabel(key.first, key.second) + "/" + node] = head > p.acked ? head - p.acked : 0;
    }
  }
  return stats;
}

}  // namespace vj

// Membership: this node's lease-backed registration in etcd and the live view of every registered node.
//
// The node's key `<prefix>/nodes/<node_id>` holds {"node_id": ..., "url": ...} and is attached to a lease
// of `lease_ttl`, refreshed every lease_ttl/3 by a background thread. When the lease is lost (the process
// paused, etcd lost its data, ...) the key is registered again under a new lease and the event is logged.
// has_lease() is false from the moment the lease may have expired (no successful refresh for its TTL) until
// a refresh or re-registration succeeds: a primary must stop accepting writes while it is false.
//
// The peer view (node_id -> url, this node included once registered) follows `<prefix>/nodes/` through an
// etcd watch on a second background thread, re-listed in full at start and after the watch was compacted.
//
// Thread-safety: Start/Stop from one controlling thread; every other method may be called concurrently.
// OnChange callbacks run on the watch thread (or in Start), must not block, and must not call Stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "cluster/etcd_client.h"
#include "core/status.h"

namespace vj {

struct MembershipOptions {
  std::string prefix = "/vjvector";  // cluster key prefix; nodes live under <prefix>/nodes/
  std::string node_id;               // required: [A-Za-z0-9._-]+
  std::string url;                   // how peers reach this node, e.g. "http://10.0.0.5:6333"
  std::chrono::seconds lease_ttl{5};
  // Keepalive period; 0 = lease_ttl / 3.
  std::chrono::milliseconds keepalive_interval{0};
  // How long Start() waits for a previous holder of the node id (e.g. this node before a crash) to let its
  // lease expire before failing with AlreadyExists; 0 = fail at once.
  std::chrono::milliseconds collision_wait{0};
};

// node_id -> url of every node registered in etcd.
using PeerMap = std::map<std::string, std::string>;

class Membership {
 public:
  using ChangeCallback = std::function<void(const PeerMap& peers)>;

  // `etcd` must outlive this object.
  Membership(EtcdClient& etcd, MembershipOptions options);
  ~Membership();  // Stop()s
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // Registers the node (AlreadyExists when another live lease holds the node id), loads the peer view and
  // starts the keepalive and watch threads. Unavailable when etcd cannot be reached.
  [[nodiscard]] Status Start();
  // Stops the threads and revokes the lease, which removes the node's key at once. Idempotent.
  void Stop();

  PeerMap Peers() const;
  int64_t lease_id() const;
  bool has_lease() const;
  std::chrono::seconds lease_ttl() const { return options_.lease_ttl; }
  // How many times the node registered itself again after losing its lease.
  int64_t reregistrations() const { return reregistrations_.load(); }
  // Adds a callback called with the new view after each change of the peer view.
  void OnChange(ChangeCallback callback);

  std::string node_key() const { return options_.prefix + "/nodes/" + options_.node_id; }

  // Test hook: while paused the keepalive thread sends nothing (as if the process were stopped).
  void PauseKeepAlivesForTest(bool paused);

 private:
  using Clock = std::chrono::steady_clock;

  // Grants a lease and creates the node key under it if absent. AlreadyExists when the key is held.
  Status Register();
  void KeepAliveLoop();
  void WatchLoop();
  // Replaces the view with a full listing; returns the listing's revision.
  StatusOr<int64_t> Relist();
  void ApplyEvents(const std::vector<WatchEvent>& events);
  void NotifyChange();
  std::chrono::milliseconds keepalive_interval() const;

  EtcdClient& etcd_;
  // Fixed after construction.
  const MembershipOptions options_;
  const std::string nodes_prefix_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t lease_id_ ABSL_GUARDED_BY(mu_) = 0;  // 0 while unregistered
  // Until when the lease is surely alive: the TTL counted from before the last successful refresh.
  Clock::time_point lease_valid_until_ ABSL_GUARDED_BY(mu_){};
  PeerMap peers_ ABSL_GUARDED_BY(mu_);
  std::vector<ChangeCallback> callbacks_ ABSL_GUARDED_BY(mu_);
  bool paused_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> reregistrations_{0};
  bool started_ = false;  // controlling thread only
  std::thread keepalive_thread_;
  std::thread watch_thread_;
};

}  // namespace vj

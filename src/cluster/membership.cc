#include "cluster/membership.h"

#include <cctype>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/payload.h"

namespace vj {

namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kRetryInterval{500};

bool ValidNodeId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

Membership::Membership(EtcdClient& etcd, MembershipOptions options)
    : etcd_(etcd), options_(std::move(options)), nodes_prefix_(options_.prefix + "/nodes/") {}

Membership::~Membership() { Stop(); }

std::chrono::milliseconds Membership::keepalive_interval() const {
  if (options_.keepalive_interval.count() > 0) return options_.keepalive_interval;
  return std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl) / 3;
}

Status Membership::Start() {
  if (started_) return absl::FailedPreconditionError("membership already started");
  if (!ValidNodeId(options_.node_id)) {
    return absl::InvalidArgumentError("node id '" + options_.node_id +
                                      "': expected 1-128 characters of [A-Za-z0-9._-]");
  }
  if (options_.url.empty()) return absl::InvalidArgumentError("node url: must not be empty");
  if (options_.lease_ttl.count() < 1) return absl::InvalidArgumentError("lease ttl: must be at least 1 s");
  stop_.store(false);
  VJ_RETURN_IF_ERROR(Register());
  auto revision = Relist();
  if (!revision.ok()) {
    int64_t lease = lease_id();
    if (lease != 0) (void)etcd_.LeaseRevoke(lease);
    std::lock_guard<std::mutex> lock(mu_);
    lease_id_ = 0;
    return WithContext(revision.status(), "list cluster nodes");
  }
  spdlog::info("cluster: node {} registered at {} (lease {:x}, ttl {}s)", options_.node_id, node_key(),
               lease_id(), options_.lease_ttl.count());
  started_ = true;
  keepalive_thread_ = std::thread([this] { KeepAliveLoop(); });
  watch_thread_ = std::thread([this, rev = *revision] {
    int64_t next = rev + 1;
    while (!stop_.load()) {
      WatchOptions watch_options;
      watch_options.on_error = [](const Status& s) {
        spdlog::warn("cluster: membership watch interrupted: {}; reconnecting", StatusMessage(s));
      };
      Status s = etcd_.Watch(
          nodes_prefix_, next, [this](const std::vector<WatchEvent>& events) { ApplyEvents(events); }, stop_,
          watch_options);
      if (stop_.load()) break;
      spdlog::warn("cluster: membership watch ended: {}; listing nodes again", StatusMessage(s));
      while (!stop_.load()) {
        auto relisted = Relist();
        if (relisted.ok()) {
          next = *relisted + 1;
          break;
        }
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, kRetryInterval, [this] { return stop_.load(); });
      }
    }
  });
  return absl::OkStatus();
}

void Membership::Stop() {
  if (!started_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  keepalive_thread_.join();
  watch_thread_.join();
  int64_t lease;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lease = lease_id_;
    lease_id_ = 0;
    lease_valid_until_ = {};
  }
  if (lease != 0) {
    Status s = etcd_.LeaseRevoke(lease);
    if (!s.ok() && !absl::IsNotFound(s)) {
      spdlog::warn("cluster: revoking lease of node {}: {}", options_.node_id, StatusMessage(s));
    }
  }
  started_ = false;
}

Status Membership::Register() {
  Clock::time_point refreshed = Clock::now();  // when the lease's TTL last (re)started, at the latest
  VJ_ASSIGN_OR_RETURN(int64_t lease, etcd_.LeaseGrant(options_.lease_ttl.count()));
  json::object value;
  value["node_id"] = options_.node_id;
  value["url"] = options_.url;
  const std::string key = node_key();
  const std::string serialized = json::serialize(value);
  const Clock::time_point give_up = Clock::now() + options_.collision_wait;
  while (true) {
    auto txn = etcd_.Txn({TxnCompare::CreateRevisionEquals(key, 0)}, {TxnOp::Put(key, serialized, lease)},
                         {TxnOp::Get(key)});
    if (!txn.ok()) {
      (void)etcd_.LeaseRevoke(lease);
      return WithContext(txn.status(), "register node " + options_.node_id);
    }
    if (txn->succeeded) {
      std::lock_guard<std::mutex> lock(mu_);
      lease_id_ = lease;
      lease_valid_until_ = refreshed + options_.lease_ttl;
      return absl::OkStatus();
    }
    const std::vector<KeyValue>& existing = txn->responses.at(0).kvs;
    if (existing.empty()) continue;  // deleted in between: try again
    if (Clock::now() >= give_up || stop_.load()) {
      (void)etcd_.LeaseRevoke(lease);
      return absl::AlreadyExistsError("node id '" + options_.node_id + "' is already registered by a live node (" +
                                      existing[0].value + ")");
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_.load(); });
    }
    if (Clock::now() - refreshed >= keepalive_interval()) {  // keep our new lease while we wait
      const Clock::time_point sent = Clock::now();
      auto ttl = etcd_.LeaseKeepAliveOnce(lease);
      if (ttl.ok()) {
        refreshed = sent;
      } else {
        (void)etcd_.LeaseRevoke(lease);
        refreshed = Clock::now();
        VJ_ASSIGN_OR_RETURN(lease, etcd_.LeaseGrant(options_.lease_ttl.count()));
      }
    }
  }
}

void Membership::KeepAliveLoop() {
  bool failing = false;  // refreshes failed since the last success
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto wait = lease_id_ == 0 || failing ? std::min(kRetryInterval, keepalive_interval())
                                            : keepalive_interval();
      cv_.wait_for(lock, wait, [this] { return stop_.load(); });
      if (stop_.load()) return;
      if (paused_) continue;
    }
    int64_t lease = lease_id();
    if (lease == 0) {
      Status s = Register();
      if (s.ok()) {
        reregistrations_.fetch_add(1);
        failing = false;
        spdlog::warn("cluster: node {} registered again under lease {:x}", options_.node_id, lease_id());
      } else if (!failing) {
        failing = true;
        spdlog::error("cluster: node {} cannot register again: {}", options_.node_id, StatusMessage(s));
      }
      continue;
    }
    const Clock::time_point sent = Clock::now();
    auto ttl = etcd_.LeaseKeepAliveOnce(lease);
    if (ttl.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (lease_id_ == lease) lease_valid_until_ = sent + std::chrono::seconds(*ttl);
      }
      if (failing) {
        // After an outage make sure the key survived it (etcd may have been restored from older data).
        auto current = etcd_.Get(node_key());
        if (current.ok() && (current->kvs.empty() || current->kvs[0].lease != lease)) {
          spdlog::warn("cluster: node {}'s key vanished while etcd was unreachable; registering again",
                       options_.node_id);
          (void)etcd_.LeaseRevoke(lease);
          std::lock_guard<std::mutex> lock(mu_);
          if (lease_id_ == lease) {
            lease_id_ = 0;
            lease_valid_until_ = {};
          }
          continue;
        }
        if (!current.ok()) continue;
        spdlog::info("cluster: node {} reached etcd again; lease {:x} still held", options_.node_id, lease);
      }
      failing = false;
    } else if (absl::IsNotFound(ttl.status())) {
      spdlog::warn("cluster: node {} lost its lease {:x} (expired); registering again", options_.node_id, lease);
      std::lock_guard<std::mutex> lock(mu_);
      if (lease_id_ == lease) {
        lease_id_ = 0;
        lease_valid_until_ = {};
      }
    } else {
      if (!failing) {
        spdlog::warn("cluster: node {} cannot refresh its lease: {}", options_.node_id,
                     StatusMessage(ttl.status()));
      }
      failing = true;
    }
  }
}

StatusOr<int64_t> Membership::Relist() {
  VJ_ASSIGN_OR_RETURN(RangeResult range, etcd_.GetPrefix(nodes_prefix_));
  PeerMap peers;
  for (const KeyValue& kv : range.kvs) {
    std::string id = kv.key.substr(nodes_prefix_.size());
    std::string url;
    auto parsed = ParseJson(kv.value);
    if (parsed.ok() && parsed->is_object()) {
      if (const json::value* u = parsed->as_object().if_contains("url"); u != nullptr && u->is_string()) {
        url = std::string(u->as_string());
      }
    }
    peers[id] = url;
  }
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = peers != peers_;
    peers_ = std::move(peers);
  }
  if (changed) NotifyChange();
  return range.revision;
}

void Membership::ApplyEvents(const std::vector<WatchEvent>& events) {
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const WatchEvent& e : events) {
      if (e.kv.key.compare(0, nodes_prefix_.size(), nodes_prefix_) != 0) continue;
      std::string id = e.kv.key.substr(nodes_prefix_.size());
      if (e.type == WatchEvent::Type::kDelete) {
        changed |= peers_.erase(id) > 0;
        continue;
      }
      std::string url;
      auto parsed = ParseJson(e.kv.value);
      if (parsed.ok() && parsed->is_object()) {
        if (const json::value* u = parsed->as_object().if_contains("url"); u != nullptr && u->is_string()) {
          url = std::string(u->as_string());
        }
      }
      auto it = peers_.find(id);
      if (it == peers_.end() || it->second != url) {
        peers_[id] = url;
        changed = true;
      }
    }
  }
  if (changed) NotifyChange();
}

void Membership::NotifyChange() {
  std::vector<ChangeCallback> callbacks;
  PeerMap peers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    callbacks = callbacks_;
    peers = peers_;
  }
  for (const auto& callback : callbacks) callback(peers);
}

PeerMap Membership::Peers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peers_;
}

int64_t Membership::lease_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lease_id_;
}

bool Membership::has_lease() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lease_id_ != 0 && Clock::now() < lease_valid_until_;
}

void Membership::OnChange(ChangeCallback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.push_back(std::move(callback));
}

void Membership::PauseKeepAlivesForTest(bool paused) {
  std::lock_guard<std::mutex> lock(mu_);
  paused_ = paused;
}

}  // namespace vj

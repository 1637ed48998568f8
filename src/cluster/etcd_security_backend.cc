#include "cluster/etcd_security_backend.h"

#include <spdlog/spdlog.h>

namespace vj {
namespace {

constexpr std::chrono::milliseconds kRetryInterval{500};

}  // namespace

EtcdSecurityStateBackend::EtcdSecurityStateBackend(EtcdClient& etcd, const std::string& cluster_prefix)
    : etcd_(etcd), key_(cluster_prefix + "/security/state") {}

EtcdSecurityStateBackend::~EtcdSecurityStateBackend() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  if (watch_thread_.joinable()) watch_thread_.join();
}

StatusOr<std::string> EtcdSecurityStateBackend::Load() {
  StatusOr<RangeResult> read = etcd_.Get(key_);
  if (!read.ok()) return WithContext(read.status(), "read the security state from " + Describe());
  std::lock_guard<std::mutex> lock(mu_);
  read_revision_ = read->revision;
  if (read->kvs.empty()) {
    mod_revision_ = 0;
    return std::string();
  }
  mod_revision_ = read->kvs.front().mod_revision;
  return std::move(read->kvs.front().value);
}

Status EtcdSecurityStateBackend::Store(const std::string& document) {
  int64_t expected;
  {
    std::lock_guard<std::mutex> lock(mu_);
    expected = mod_revision_;
  }
  // CreateRevisionEquals(key, 0) is etcd's "the key does not exist".
  TxnCompare unchanged = expected == 0 ? TxnCompare::CreateRevisionEquals(key_, 0)
                                       : TxnCompare::ModRevisionEquals(key_, expected);
  StatusOr<TxnResult> txn = etcd_.Txn({unchanged}, {TxnOp::Put(key_, document)});
  if (!txn.ok()) return WithContext(txn.status(), "store the security state in " + Describe());
  if (!txn->succeeded) {
    return absl::AbortedError("the security state in " + Describe() +
                              " was changed by another node since this node read it");
  }
  std::lock_guard<std::mutex> lock(mu_);
  // The put is the transaction's only write, so its mod_revision is the revision after it.
  mod_revision_ = txn->revision;
  read_revision_ = txn->revision;
  own_write_ = txn->revision;
  return absl::OkStatus();
}

void EtcdSecurityStateBackend::OnChange(std::function<void()> callback) {
  if (watch_thread_.joinable()) return;  // at most once (the header says so)
  callback_ = std::move(callback);
  int64_t from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = read_revision_ == 0 ? 0 : read_revision_ + 1;
  }
  watch_thread_ = std::thread([this, from] { WatchLoop(from); });
}

void EtcdSecurityStateBackend::HandleEvents(const std::vector<WatchEvent>& events) {
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const WatchEvent& e : events) {
      // The watch is on a prefix: "<prefix>/security/state2" would match too.
      if (e.kv.key == key_ && e.kv.mod_revision != own_write_) changed = true;
    }
  }
  if (changed) callback_();
}

void EtcdSecurityStateBackend::WatchLoop(int64_t start_revision) {
  int64_t next = start_revision;
  WatchOptions watch_options;
  watch_options.on_error = [this](const Status& s) {
    spdlog::warn("security: watch of {} interrupted: {}; reconnecting", key_, StatusMessage(s));
  };
  while (!stop_.load()) {
    Status s = etcd_.Watch(
        key_, next, [this](const std::vector<WatchEvent>& events) { HandleEvents(events); }, stop_,
        watch_options);
    if (stop_.load()) break;
    spdlog::warn("security: watch of {} ended: {}; reading it again", key_, StatusMessage(s));
    rewatches_.fetch_add(1);
    while (!stop_.load()) {
      StatusOr<RangeResult> read = etcd_.Get(key_);
      if (read.ok()) {
        next = read->revision + 1;
        callback_();  // the store reloads: whatever changed while unwatched is seen
        break;
      }
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, kRetryInterval, [this] { return stop_.load(); });
    }
  }
}

}  // namespace vj

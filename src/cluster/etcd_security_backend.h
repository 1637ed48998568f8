// EtcdSecurityStateBackend: a cluster's managed API keys and custom roles (the security state document of
// security_state.h) under one etcd key, <cluster_prefix>/security/state, shared by every node.
//
// Store is a compare-and-swap: one transaction that writes only while the key's mod_revision is still
// the one this backend last read or wrote (absent: the key must still not exist), else Aborted, upon
// which SecurityStore reloads and applies its change again. So two nodes changing keys at once never
// lose one of the changes. After a Store whose outcome is unknown (etcd unreachable mid-write) the next
// Store fails the comparison and the store reloads: nothing is overwritten blindly.
//
// OnChange starts a thread that watches the key from the revision of the last read, and calls back
// after each change this backend did not write itself. When the watch ends with an error (the revision
// to resume from was compacted, etcd came back with older data), the thread reads the key again, calls
// back, and watches from that read, retrying every 500 ms while etcd cannot be read.
//
// Thread-safety: Load, Store and Describe may be called concurrently; OnChange at most once. The
// destructor stops the watch thread (within about 100 ms) and waits for a callback that is running.
// `etcd` must outlive this object.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "cluster/etcd_client.h"
#include "security/security_state_backend.h"

namespace vj {

class EtcdSecurityStateBackend : public SecurityStateBackend {
 public:
  EtcdSecurityStateBackend(EtcdClient& etcd, const std::string& cluster_prefix);
  ~EtcdSecurityStateBackend() override;
  EtcdSecurityStateBackend(const EtcdSecurityStateBackend&) = delete;
  EtcdSecurityStateBackend& operator=(const EtcdSecurityStateBackend&) = delete;

  // The key's value ("" when absent); etcd's error (Unavailable, DeadlineExceeded, ...) naming the key.
  StatusOr<std::string> Load() override;
  // Aborted when the key changed since the last Load or Store of this backend; etcd's error otherwise.
  Status Store(const std::string& document) override;
  void OnChange(std::function<void()> callback) override;
  std::string Describe() const override { return "etcd key " + key_; }

  const std::string& key() const { return key_; }
  // How many times the watch ended with an error and the key was read again. For tests and logs.
  int64_t rewatches() const { return rewatches_.load(); }

 private:
  void WatchLoop(int64_t start_revision);
  void HandleEvents(const std::vector<WatchEvent>& events);

  EtcdClient& etcd_;
  // Fixed after construction.
  const std::string key_;

  std::mutex mu_;
  std::condition_variable cv_;  // wakes the watch thread's retry wait on stop
  int64_t mod_revision_ ABSL_GUARDED_BY(mu_) = 0;   // the key's, as last read or written; 0: absent
  int64_t read_revision_ ABSL_GUARDED_BY(mu_) = 0;  // etcd's revision at the last read or write
  int64_t own_write_ ABSL_GUARDED_BY(mu_) = 0;      // mod_revision of the last successful Store

  std::function<void()> callback_;  // set by OnChange before the thread starts, then read by it only
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> rewatches_{0};
  std::thread watch_thread_;
};

}  // namespace vj

// EtcdClient: etcd v3 through its JSON gateway (/v3/kv/*, /v3/lease/*, /v3/watch) over HttpClient.
// Keys and values are raw bytes here; base64 and etcd's string-encoded int64s stay inside.
//
// Endpoints: requests go to the endpoint that last answered; when it cannot be reached (Unavailable) the
// request is tried on the next ones, each once.
//
// Errors: unreachable / timed out -> Unavailable / DeadlineExceeded; an etcd error body carries a gRPC code
// which becomes the same absl code with etcd's message (e.g. "requested lease not found" -> NotFound,
// compacted or future revision -> OutOfRange); malformed gateway answers -> Internal.
//
// Thread-safety: all methods may be called concurrently. Watch blocks the calling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cluster/http_client.h"
#include "core/status.h"

namespace vj {

struct EtcdClientOptions {
  std::vector<std::string> endpoints;  // e.g. {"http://127.0.0.1:2379"}, or https:// with `tls`
  HttpClientTls tls{};  // CA and client certificate for https:// endpoints
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds connect_timeout{1000};
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;  // the store's revision when the range was read
};

// One comparison of a transaction's guard; build with the factories.
struct TxnCompare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue };
  std::string key;
  Target target = Target::kCreateRevision;
  int64_t number = 0;  // revision or version
  std::string value;
  // Set by NothingChangedUnderPrefixSince only: the compare covers [key, range_end) and holds when every
  // key there has a mod revision below `number`.
  std::string range_end;
  bool less = false;

  // CreateRevisionEquals(key, 0) is "key does not exist".
  static TxnCompare CreateRevisionEquals(std::string key, int64_t revision);
  static TxnCompare ModRevisionEquals(std::string key, int64_t revision);
  static TxnCompare VersionEquals(std::string key, int64_t version);
  static TxnCompare ValueEquals(std::string key, std::string value);
  // No key under `prefix` was created or changed after `revision` (deletions do not count): a guard for
  // a decision made from a range read at that revision (e.g. a count of keys).
  static TxnCompare NothingChangedUnderPrefixSince(const std::string& prefix, int64_t revision);
};

// One operation of a transaction branch.
struct TxnOp {
  enum class Kind { kPut, kDelete, kDeletePrefix, kGet, kGetPrefix };
  Kind kind = Kind::kGet;
  std::string key;
  std::string value;
  int64_t lease = 0;

  static TxnOp Put(std::string key, std::string value, int64_t lease = 0);
  static TxnOp Delete(std::string key);
  static TxnOp DeletePrefix(std::string prefix);
  static TxnOp Get(std::string key);
  static TxnOp GetPrefix(std::string prefix);
};

struct TxnOpResult {
  TxnOp::Kind kind = TxnOp::Kind::kGet;
  std::vector<KeyValue> kvs;  // kGet / kGetPrefix
  int64_t deleted = 0;        // kDelete / kDeletePrefix
};

struct TxnResult {
  bool succeeded = false;  // whether every compare held (the success branch ran)
  int64_t revision = 0;    // the store's revision after the transaction
  std::vector<TxnOpResult> responses;  // one per op of the branch that ran
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete only key and mod_revision are set
};

struct WatchOptions {
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  // Called (on the watching thread) for each connection error before the watch reconnects.
  std::function<void(const Status&)> on_error;
};

class EtcdClient {
 public:
  explicit EtcdClient(EtcdClientOptions options);
  // Reads the TLS files again (SIGHUP): new connections to etcd present the new client certificate;
  // open watch streams keep theirs. On error (naming the file) nothing changes.
  [[nodiscard]] Status ReloadTls() { return http_.ReloadTls(); }

  [[nodiscard]] StatusOr<RangeResult> Get(const std::string& key);
  [[nodiscard]] StatusOr<RangeResult> GetPrefix(const std::string& prefix);
  // Returns the store's revision after the put.
  [[nodiscard]] StatusOr<int64_t> Put(const std::string& key, const std::string& value, int64_t lease = 0);
  // Return how many keys were deleted.
  [[nodiscard]] StatusOr<int64_t> Delete(const std::string& key);
  [[nodiscard]] StatusOr<int64_t> DeletePrefix(const std::string& prefix);
  // If every compare holds, runs `success`, else `failure`, atomically.
  [[nodiscard]] StatusOr<TxnResult> Txn(const std::vector<TxnCompare>& compares,
                                        const std::vector<TxnOp>& success,
                                        const std::vector<TxnOp>& failure = {});

  // Grants a lease of `ttl_seconds` (etcd enforces a minimum, 2 s with default timings); returns its id.
  [[nodiscard]] StatusOr<int64_t> LeaseGrant(int64_t ttl_seconds);
  // Refreshes the lease once; returns the TTL it now has. NotFound when the lease has expired.
  [[nodiscard]] StatusOr<int64_t> LeaseKeepAliveOnce(int64_t lease_id);
  // Revokes the lease, deleting the keys attached to it. NotFound when it already expired.
  [[nodiscard]] Status LeaseRevoke(int64_t lease_id);

  // Watches every key starting with `prefix` from `start_revision` (0 = from now) and calls `on_events`
  // with each batch, in revision order. Reconnects after errors (with backoff, trying each endpoint) and
  // resumes after the last revision delivered, so no event is lost or repeated. Returns OK once `stop` is
  // true, OutOfRange when the revision to resume from was compacted or etcd's revision went backwards
  // after a reconnect (its data was lost or restored): the caller re-lists, then watches from the listing's
  // revision + 1. Other errors: etcd refused the watch itself (InvalidArgument ...).
  // With start_revision 0, events between a failure before the first answer and the reconnect are lost.
  // Runs on the calling thread.
  [[nodiscard]] Status Watch(const std::string& prefix, int64_t start_revision,
                             const std::function<void(const std::vector<WatchEvent>&)>& on_events,
                             const std::atomic<bool>& stop, const WatchOptions& watch_options = {});

  const std::vector<std::string>& endpoints() const { return options_.endpoints; }

 private:
  // POSTs `body` to `path` (e.g. "/v3/kv/range") with endpoint failover; returns the parsed JSON object.
  StatusOr<std::string> Call(const std::string& path, const std::string& body);

  // Fixed after construction.
  const EtcdClientOptions options_;

  HttpClient http_;
  std::atomic<size_t> current_endpoint_{0};
};

// The key right after every key starting with `prefix` (etcd's range_end for a prefix); "\0" for "".
std::string PrefixRangeEnd(const std::string& prefix);

}  // namespace vj

// RateLimiter: token buckets that bound how fast a principal (security/permission.h) may read and write,
// and, reused by strict mode (api/strict_mode.h), how fast a collection is read and written on this node.
//
// A bucket holds up to `burst` tokens and gains `per_s` tokens a second; a request takes `cost` tokens
// (1 unless said otherwise) or is refused with the whole seconds after which it would fit. A rate of 0
// is unlimited (no bucket is kept). Buckets live in a sharded map (a mutex per shard) capped at
// `max_buckets`: a bucket that has refilled to its burst is the same as no bucket, so it is dropped
// first; when every bucket of a shard is in use the one idle longest goes, so a flood of distinct
// principals costs bounded memory (at worst it resets some other principal's partial bucket).
//
// Thread-safety: Check and CheckKey may be called concurrently; settings are fixed at construction.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <absl/base/thread_annotations.h>

#include "security/permission.h"

namespace vj {

// One operation class's rate: `per_s` tokens a second (0 = unlimited) and up to `burst` at once
// (0 = max(1, per_s)).
struct RateLimit {
  double per_s = 0;
  double burst = 0;
  bool unlimited() const { return per_s <= 0; }
  double capacity() const { return burst > 0 ? burst : std::max(1.0, per_s); }
  bool operator==(const RateLimit&) const = default;
};

struct OperationLimits {
  RateLimit read;
  RateLimit write;
  bool operator==(const OperationLimits&) const = default;
};

// ServerConfig's security.rate_limits. A principal's limits are, in order: its id's entry in `keys`;
// else the most generous of its roles' entries in `roles` (per operation class; unlimited wins); else
// `defaults`. Entries are whole limits (the config reader fills unset fields from `defaults`).
struct RateLimitSettings {
  OperationLimits defaults;
  std::map<std::string, OperationLimits> roles;  // role name -> limits
  std::map<std::string, OperationLimits> keys;   // principal id -> limits
  size_t max_buckets = 100000;                   // all shards together
  bool operator==(const RateLimitSettings&) const = default;
};

struct RateDecision {
  bool allowed = true;
  // When refused: whole seconds, at least 1, after which the same request would be allowed.
  int64_t retry_after_s = 0;
  // When refused: the request costs more than the burst, so waiting never helps (split it).
  bool over_capacity = false;
};

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit RateLimiter(RateLimitSettings settings, Clock clock = nullptr);

  // Takes one token from the principal's read or write bucket.
  RateDecision Check(const Principal& principal, bool write) { return Check(principal, write, clock_()); }
  RateDecision Check(const Principal& principal, bool write, std::chrono::steady_clock::time_point now);
  // The limits that apply to `principal` (see RateLimitSettings).
  OperationLimits LimitsFor(const Principal& principal) const;

  // Takes `cost` tokens from the bucket named `key` with the given limits (a bucket whose limits
  // changed is resized, keeping its tokens up to the new burst). Keys share one map with principals'
  // buckets; use a prefix that no principal id has ("collection:<name>").
  RateDecision CheckKey(std::string_view key, const RateLimit& limit, bool write, double cost,
                        std::chrono::steady_clock::time_point now);
  RateDecision CheckKey(std::string_view key, const RateLimit& limit, bool write, double cost) {
    return CheckKey(key, limit, write, cost, clock_());
  }

  // Replaces the defaults, role and key limits (SIGHUP). Buckets keep what was spent, within their new
  // burst, from their next request on; max_buckets stays as constructed.
  void SetSettings(RateLimitSettings settings);

  // Buckets held now (for tests and a metric).
  size_t BucketCount() const;

 private:
  struct Bucket {
    RateLimit limit;
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets ABSL_GUARDED_BY(mu);
  };

  // Makes room for one more bucket in a full shard.
  void Evict(Shard& shard, std::chrono::steady_clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  std::atomic<std::shared_ptr<const RateLimitSettings>> settings_;
  // Fixed after construction.
  const Clock clock_;
  const size_t max_per_shard_;

  std::array<Shard, kShards> shards_;
};

}  // namespace vj

#include "security/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace vj {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

// The more generous of two limits: unlimited wins, then the higher rate, then the higher burst.
RateLimit MoreGenerous(const RateLimit& a, const RateLimit& b) {
  if (a.unlimited()) return a;
  if (b.unlimited()) return b;
  return RateLimit{std::max(a.per_s, b.per_s), std::max(a.capacity(), b.capacity())};
}

// Tokens after refilling for the time since `last`, capped at the burst.
double Refilled(double tokens, const RateLimit& limit, TimePoint last, TimePoint now) {
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - last).count());
  return std::min(limit.capacity(), tokens + elapsed * limit.per_s);
}

}  // namespace

RateLimiter::RateLimiter(RateLimitSettings settings, Clock clock)
    : settings_(std::make_shared<const RateLimitSettings>(settings)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      max_per_shard_(std::max<size_t>(1, settings.max_buckets / kShards)) {}

void RateLimiter::SetSettings(RateLimitSettings settings) {
  settings_.store(std::make_shared<const RateLimitSettings>(std::move(settings)));
}

OperationLimits RateLimiter::LimitsFor(const Principal& principal) const {
  const std::shared_ptr<const RateLimitSettings> held = settings_.load();
  const RateLimitSettings& settings = *held;
  if (auto it = settings.keys.find(principal.id); it != settings.keys.end()) return it->second;
  bool found = false;
  OperationLimits best;
  for (const std::string& role : principal.roles) {
    auto it = settings.roles.find(role);
    if (it == settings.roles.end()) continue;
    if (!found) {
      best = it->second;
      found = true;
    } else {
      best.read = MoreGenerous(best.read, it->second.read);
      best.write = MoreGenerous(best.write, it->second.write);
    }
  }
  return found ? best : settings.defaults;
}

RateDecision RateLimiter::Check(const Principal& principal, bool write, TimePoint now) {
  const OperationLimits limits = LimitsFor(principal);
  return CheckKey(principal.id, write ? limits.write : limits.read, write, 1, now);
}

RateDecision RateLimiter::CheckKey(std::string_view key, const RateLimit& limit, bool write, double cost,
                                   TimePoint now) {
  if (limit.unlimited()) return RateDecision{};
  const double capacity = limit.capacity();
  if (cost > capacity) {
    // Waiting never makes room for it: over_capacity says so (strict mode tells the client to split the
    // request); retry_after_s is still the time a full bucket takes, for callers that only pass a wait on.
    return RateDecision{false, static_cast<int64_t>(std::ceil(capacity / limit.per_s)), true};
  }
  std::string name;
  name.reserve(key.size() + 2);
  name += write ? "w:" : "r:";
  name += key;
  Shard& shard = shards_[std::hash<std::string>()(name) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(name);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) Evict(shard, now);
    it = shard.buckets.emplace(std::move(name), Bucket{limit, capacity, now}).first;
  }
  Bucket& bucket = it->second;
  if (!(bucket.limit == limit)) {
    // New limits (a changed strict mode config): keep what was spent, within the new burst.
    bucket.tokens = std::min(Refilled(bucket.tokens, bucket.limit, bucket.last, now), capacity);
    bucket.limit = limit;
  } else {
    bucket.tokens = Refilled(bucket.tokens, limit, bucket.last, now);
  }
  bucket.last = std::max(bucket.last, now);
  if (bucket.tokens >= cost) {
    bucket.tokens -= cost;
    return RateDecision{};
  }
  const double seconds = (cost - bucket.tokens) / limit.per_s;
  return RateDecision{false, std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds))), false};
}

void RateLimiter::Evict(Shard& shard, TimePoint now) {
  // Full buckets first: dropping one loses nothing (a new bucket starts full).
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    const Bucket& b = it->second;
    if (Refilled(b.tokens, b.limit, b.last, now) >= b.limit.capacity()) {
      it = shard.buckets.erase(it);
    } else {
      ++it;
    }
  }
  if (shard.buckets.size() < max_per_shard_) return;
  auto oldest = std::min_element(shard.buckets.begin(), shard.buckets.end(),
                                 [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
  shard.buckets.erase(oldest);
}

size_t RateLimiter::BucketCount() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace vj

// The wall clock in unix milliseconds: what a forwarded write's deadline is written in and checked
// against (collection/write_queue.h, cluster/routed_shard.h), what /livez tells peers' probes
// (cluster/peer_prober.h), and what audit records carry. One function, so that the deadline argument
// compares readings of the same clock; spans' timestamps read it too, in nanoseconds.
// WallClockDeadlineUnixMs turns a request's Deadline (steady clock) into the same wall-clock form, for
// the write queue's ordering check of a client's own write.
// Thread-safety: a pure read of the system clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

#include "core/deadline.h"

namespace vj {

inline int64_t WallClockUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The wall-clock unix milliseconds at which `deadline` passes (now plus what is left of it; already in
// the past once it has expired; at least 1), or 0 when it is not set (0 means "no deadline" wherever
// such a time is taken).
inline int64_t WallClockDeadlineUnixMs(const Deadline& deadline) {
  if (!deadline.is_set()) return 0;
  const int64_t now = WallClockUnixMs();
  if (deadline.Expired()) return std::max<int64_t>(1, now - 1);
  return std::max<int64_t>(1, now + static_cast<int64_t>(std::floor(deadline.remaining_seconds() * 1000)));
}

// The earlier of two such deadlines, where 0 is none.
inline int64_t EarlierUnixMs(int64_t a, int64_t b) {
  if (a <= 0) return b;
  if (b <= 0) return a;
  return std::min(a, b);
}

// The same clock in nanoseconds: OTLP's span timestamps (tracing/).
inline uint64_t WallClockUnixNanos() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace vj

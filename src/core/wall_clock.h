// The wall clock in unix milliseconds: what a forwarded write's deadline is written in and checked
// against (collection/write_queue.h, cluster/routed_shard.h), what /livez tells peers' probes
// (cluster/peer_prober.h), and what audit records carry. One function, so that the deadline argument
// compares readings of the same clock; spans' timestamps read it too, in nanoseconds.
// Thread-safety: a pure read of the system clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace vj {

inline int64_t WallClockUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The same clock in nanoseconds: OTLP's span timestamps (tracing/).
inline uint64_t WallClockUnixNanos() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace vj

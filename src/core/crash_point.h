// Crash points: named places where a test can make the process die as if killed with kill -9.
//
//   VJ_CRASH_POINT("flush");
//
// Off unless InitCrashPoints() found VJVECTOR_TEST_CRASH_POINTS="name:probability,..." in the
// environment (the server calls it at start-up). Then each time a listed point is reached the process
// raises SIGKILL with that probability, drawn from a generator seeded by VJVECTOR_TEST_CRASH_SEED
// (default 1). Before dying it writes "crash point NAME: raising SIGKILL" to stderr. Off, a point
// costs one atomic load. For tests only: docs/operations.md, "Testing: fault injection".
//
// The points placed in the code are kCrashPointNames; a name outside it is refused, so that a typo in
// a test does not silently test nothing.
//
// Delay points are their sibling: VJ_DELAY_POINT("open_replica") sleeps the listed number of
// milliseconds each time it is reached, when VJVECTOR_TEST_DELAY_POINTS="name:milliseconds,..." armed it
// (a slow disk or a huge replica, made on purpose). Off, a point costs one atomic load.
//
// Thread-safety: VJ_CRASH_POINT and VJ_DELAY_POINT may be reached from any thread. InitCrashPoints and
// InitDelayPoints are called once, before other threads reach a point.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

inline constexpr char kCrashPointsEnvVar[] = "VJVECTOR_TEST_CRASH_POINTS";
inline constexpr char kCrashSeedEnvVar[] = "VJVECTOR_TEST_CRASH_SEED";

// Every name a VJ_CRASH_POINT uses: "flush", "compaction" (RocksDB memtable flush and compaction
// begin), "index_snapshot" (between a shard's vector index files and its id map), "replica_snapshot"
// (a replica has applied a chunk of its primary's snapshot), "election" (a replica won a shard's
// leadership in etcd and has not yet acted on it), "collection_snapshot" (a collection snapshot's
// archive and checksum are written, the archive is not yet renamed into place), "backup_manifest" (a
// backup's blobs are stored, its manifest is not: backup/backup.h).
inline constexpr std::string_view kCrashPointNames[] = {"flush",           "compaction", "index_snapshot",
                                                        "replica_snapshot", "election", "collection_snapshot",
                                                        "backup_manifest"};

// Parses "name:probability,..." (probability in [0, 1]; spaces around items allowed; empty = none).
// InvalidArgument naming the item when a name is unknown, repeated, or a probability is not a number
// in [0, 1].
StatusOr<std::map<std::string, double>> ParseCrashPoints(std::string_view spec);

// Reads the environment and arms the listed points. InvalidArgument (from ParseCrashPoints, or for a
// seed that is not an unsigned integer) leaves every point off. Returns the armed points.
StatusOr<std::map<std::string, double>> InitCrashPoints();

inline constexpr char kDelayPointsEnvVar[] = "VJVECTOR_TEST_DELAY_POINTS";

// Every name a VJ_DELAY_POINT uses: "open_replica" (a cluster node opens a local replica of a shard, before
// it reads the replica's files), "forwarded_write" (a shard's primary received a write a peer forwarded, before
// it orders it: the write arrives late, as if held by the network).
inline constexpr std::string_view kDelayPointNames[] = {"open_replica", "forwarded_write"};

// Parses "name:milliseconds,..." (a whole number of milliseconds, at most one hour). InvalidArgument
// naming the item as ParseCrashPoints does.
StatusOr<std::map<std::string, double>> ParseDelayPoints(std::string_view spec);

// Reads VJVECTOR_TEST_DELAY_POINTS and arms the listed points; returns them (name -> milliseconds).
StatusOr<std::map<std::string, double>> InitDelayPoints();

namespace crash_point_internal {
class Table;
extern std::atomic<const std::map<std::string, double>*> g_delays;
void Delay(const std::map<std::string, double>& delays, std::string_view name);
extern std::atomic<const Table*> g_armed;
void Reach(const Table& table, std::string_view name);
}  // namespace crash_point_internal

}  // namespace vj

#define VJ_CRASH_POINT(name)                                                                  \
  do {                                                                                        \
    if (const auto* vj_crash_table = ::vj::crash_point_internal::g_armed.load(                \
            std::memory_order_acquire)) {                                                     \
      ::vj::crash_point_internal::Reach(*vj_crash_table, name);                               \
    }                                                                                         \
  } while (0)

#define VJ_DELAY_POINT(name)                                                                  \
  do {                                                                                        \
    if (const auto* vj_delays = ::vj::crash_point_internal::g_delays.load(                    \
            std::memory_order_acquire)) {                                                     \
      ::vj::crash_point_internal::Delay(*vj_delays, name);                                    \
    }                                                                                         \
  } while (0)

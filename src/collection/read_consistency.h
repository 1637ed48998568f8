// ReadConsistency: how many replicas of each shard a read asks, from Qdrant's `consistency` query
// parameter (a number, majority, quorum, all) plus VJVector's `primary`; and ReplicaPosition: where one
// replica of a shard stands, which decides whose answer a read that asked several replicas keeps
// (cluster/replica_read.h). A standalone node has one copy of everything: every level reads it.
// Thread-safety: plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

struct ReadConsistency {
  enum class Level : uint8_t { kFactor, kMajority, kQuorum, kAll, kPrimary };
  Level level = Level::kFactor;
  uint32_t factor = 1;  // kFactor only: how many replicas to ask, 1 to kMaxFactor

  // A factor above the replica count means every replica (as in Qdrant); larger numbers than this are
  // stored as this, so that the values a node keeps apart stay few.
  static constexpr uint32_t kMaxFactor = 64;

  static ReadConsistency Primary() { return ReadConsistency{Level::kPrimary, 1}; }
  // How many replicas of a shard with `replicas` replicas (its placement, unreachable ones included) must
  // answer: a factor is capped at `replicas`, majority and quorum need more than half, all needs all.
  // kPrimary: 1, the acting primary.
  size_t Required(size_t replicas) const;
  // As the query parameter spells it: "2", "majority", "quorum", "all", "primary".
  std::string ToString() const;

  auto operator<=>(const ReadConsistency&) const = default;
};

// Parses the query parameter `parameter`'s value; InvalidArgument naming the parameter for anything but
// a positive integer, majority, quorum, all or primary.
StatusOr<ReadConsistency> ParseReadConsistency(std::string_view value, std::string_view parameter);

// A replica's term (of the primary whose log entries it last applied) and last applied sequence. Within
// a term every replica's log is a prefix of the primary's, and a newer term's primary was elected with
// every acknowledged write, so the replica with the greatest (term, sequence) holds the newest state of
// every point of the shard, deletions included.
struct ReplicaPosition {
  uint64_t term = 0;
  uint64_t sequence = 0;

  auto operator<=>(const ReplicaPosition&) const = default;
  std::string ToString() const;  // "<term>:<sequence>", the form peers exchange
};

// Parses "<term>:<sequence>"; InvalidArgument otherwise.
StatusOr<ReplicaPosition> ParseReplicaPosition(std::string_view text);

// A read's answer measured against the position of the replica that gave it: the position was taken
// before the read, so the answer is at least that new. OK when `before` and `after` (taken after the
// read) show the same replica history (same term, no sequence going back, as a snapshot load does);
// Unavailable otherwise, and the answer must be dropped.
Status CheckPositionHeld(const ReplicaPosition& before, const ReplicaPosition& after, const std::string& what);

}  // namespace vj

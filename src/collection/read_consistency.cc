#include "collection/read_consistency.h"

#include <algorithm>

#include <charconv>

namespace vj {
namespace {

// Decimal digits only (no sign, blank or leading '+', which from_chars and SimpleAtoi would accept in
// part or whole), fitting 64 bits.
bool ParseDigits(std::string_view s, uint64_t* out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return error == std::errc() && end == s.data() + s.size();
}

}  // namespace

size_t ReadConsistency::Required(size_t replicas) const {
  switch (level) {
    case Level::kFactor: return std::min<size_t>(std::max<uint32_t>(factor, 1), std::max<size_t>(replicas, 1));
    case Level::kMajority:
    case Level::kQuorum: return replicas / 2 + 1;
    case Level::kAll: return std::max<size_t>(replicas, 1);
    case Level::kPrimary: return 1;
  }
  return 1;
}

std::string ReadConsistency::ToString() const {
  switch (level) {
    case Level::kFactor: return std::to_string(factor);
    case Level::kMajority: return "majority";
    case Level::kQuorum: return "quorum";
    case Level::kAll: return "all";
    case Level::kPrimary: return "primary";
  }
  return "?";
}

StatusOr<ReadConsistency> ParseReadConsistency(std::string_view value, std::string_view parameter) {
  if (value == "majority") return ReadConsistency{ReadConsistency::Level::kMajority, 1};
  if (value == "quorum") return ReadConsistency{ReadConsistency::Level::kQuorum, 1};
  if (value == "all") return ReadConsistency{ReadConsistency::Level::kAll, 1};
  if (value == "primary") return ReadConsistency::Primary();
  uint64_t n = 0;
  if (ParseDigits(value, &n) && n > 0) {
    return ReadConsistency{ReadConsistency::Level::kFactor,
                           static_cast<uint32_t>(std::min<uint64_t>(n, ReadConsistency::kMaxFactor))};
  }
  std::string shown(value.substr(0, 64));
  return absl::InvalidArgumentError("query parameter " + std::string(parameter) +
                                    ": expected a positive number of replicas, majority, quorum, all or "
                                    "primary, got \"" + shown + (value.size() > 64 ? "...\"" : "\""));
}

std::string ReplicaPosition::ToString() const { return std::to_string(term) + ":" + std::to_string(sequence); }

StatusOr<ReplicaPosition> ParseReplicaPosition(std::string_view text) {
  const size_t colon = text.find(':');
  ReplicaPosition p;
  if (colon == std::string_view::npos || !ParseDigits(text.substr(0, colon), &p.term) ||
      !ParseDigits(text.substr(colon + 1), &p.sequence)) {
    return absl::InvalidArgumentError("replica position: expected <term>:<sequence>, got \"" +
                                      std::string(text.substr(0, 64)) + "\"");
  }
  return p;
}

Status CheckPositionHeld(const ReplicaPosition& before, const ReplicaPosition& after, const std::string& what) {
  if (after.term == before.term && after.sequence >= before.sequence) return absl::OkStatus();
  return absl::UnavailableError(what + " changed history during the read (from " + before.ToString() + " to " +
                                after.ToString() + "); its answer is dropped");
}

}  // namespace vj

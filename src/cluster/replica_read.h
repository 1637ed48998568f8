// ReadNewest: one shard's read at a read consistency above one replica (collection/read_consistency.h).
// It asks `required` of the shard's candidate replicas at once; a replica that does not answer (down,
// paused past the request timeout, loading a snapshot, no longer primary: Unavailable or
// DeadlineExceeded) is replaced by the next candidate, in order, until `required` answered or the
// candidates ran out. Of the answers it keeps the one of the replica furthest along (the greatest
// ReplicaPosition; on a tie the one asked first): that replica holds the newest state of every point of
// the shard, deletions included, so its answer is the shard's answer, whatever the read (retrieve,
// scroll, count, query). Per-answer positions, not per-point versions, because the store keeps no version
// per point; a whole answer from one replica also keeps a query's top-k consistent with itself.
//
// Errors: fewer answers than required is Unavailable naming how many answered (the caller never reads
// fewer replicas than asked); any other error (a bad filter, a peer's internal error) is returned as is.
// Thread-safety: `read` is called from threads this call starts, at most `required` at a time; all of them
// have returned when ReadNewest returns.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "collection/read_consistency.h"
#include "core/status.h"

namespace vj {

template <typename T>
struct Positioned {
  T value;
  ReplicaPosition position;  // of the replica that answered, taken before its read
};

// Runs fn(i) for i in [0, n) at the same time (fn(0) on the calling thread) and returns when all are done.
void RunOnOwnThreads(size_t n, const std::function<void(size_t)>& fn);

// True for the errors that mean "this replica did not answer" rather than "the read is wrong".
inline bool DidNotAnswer(const Status& s) { return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s); }

// `what` names the read in messages, e.g. "read consistency all: shard 0 of collection `c`".
// read(i) reads candidate i (0 <= i < candidates).
template <typename T>
StatusOr<T> ReadNewest(size_t candidates, size_t required,
                       const std::function<StatusOr<Positioned<T>>(size_t)>& read, const std::string& what) {
  if (required == 0) required = 1;
  if (candidates < required) {
    return absl::UnavailableError(what + " needs " + std::to_string(required) +
                                  " replicas to answer, 0 answered: only " + std::to_string(candidates) +
                                  " are on live nodes");
  }
  std::optional<Positioned<T>> newest;
  size_t next = 0, answered = 0;
  std::string missing;  // why the replicas that did not answer did not
  while (answered < required && next < candidates) {
    const size_t wave = std::min(required - answered, candidates - next);
    std::vector<StatusOr<Positioned<T>>> got(wave, absl::UnknownError("not run"));
    RunOnOwnThreads(wave, [&](size_t i) { got[i] = read(next + i); });
    for (auto& answer : got) {
      if (answer.ok()) {
        ++answered;
        if (!newest || answer->position > newest->position) newest = std::move(*answer);
      } else if (DidNotAnswer(answer.status())) {
        missing += (missing.empty() ? "" : "; ") + StatusMessage(answer.status());
      } else {
        return answer.status();
      }
    }
    next += wave;
  }
  if (answered < required) {
    return absl::UnavailableError(what + " needs " + std::to_string(required) + " replicas to answer, " +
                                  std::to_string(answered) + " answered (" + missing + ")");
  }
  return std::move(newest->value);
}

}  // namespace vj

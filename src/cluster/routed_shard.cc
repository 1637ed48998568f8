#include "cluster/routed_shard.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/crash_point.h"
#include "core/wall_clock.h"
#include "core/write_not_applied.h"

namespace vj {

namespace {

// How long a write waits for a shard to get an acting primary (an election takes a lease TTL plus a
// second or two), and how often it looks.
constexpr auto kPrimaryWait = std::chrono::seconds(15);
constexpr auto kRetryInterval = std::chrono::milliseconds(100);
// How long a forwarded write waits for the primary's answer (which, with wait=true, comes after the
// replicas' acknowledgements), at least; its deadline to be ordered is ForwardPolicy::window.
constexpr auto kForwardAnswerTimeout = std::chrono::milliseconds(10000);

// A final refusal (core/status.h) is answered at once: waiting would not cure it.
bool Retryable(const Status& s) { return absl::IsUnavailable(s) && !IsFinalUnavailable(s); }

}  // namespace

Status RoutedShard::Write(const LocalWrite& local, const RemoteWrite& remote, bool wait,
                          const RequestContext& context, std::string_view operation) {
  // A peer's forwarded write is held here when a test asks (the primary receiving it late).
  if (!forward_) VJ_DELAY_POINT("forwarded_write");
  using Steady = std::chrono::steady_clock;
  const ShardRouter::ForwardPolicy policy = router_.forward_policy();
  const Deadline& deadline = context.deadline;
  const auto give_up = Steady::now() + kPrimaryWait;
  // The window of the copies sent so far (on this node's steady clock; none before the first), the
  // moment after which none of them can be ordered by a primary any more, and whether one of them got
  // no answer (then no answer leaves before `settled`). `ever_in_doubt`: a copy of any window got no
  // answer, so a failure must not claim that nothing was written (a copy of an earlier window may have
  // been ordered).
  std::optional<Steady::time_point> window_end;
  Steady::time_point settled;
  bool in_doubt = false;
  bool ever_in_doubt = false;
  // A copy was answered with an error that does not say "not applied" (a primary that wrote the write to
  // its log and then lost its role answers Unavailable): that copy may have been applied, and may stay.
  bool maybe_applied = false;
  auto doubt = [&]() -> std::string {
    if (ever_in_doubt) {
      return "a forwarded copy of this write got no answer from the shard's primary: it may have been applied, "
             "but it will not be any more (its deadline has passed; assuming node clocks drift by at most "
             "cluster.max_clock_skew_ms)";
    }
    return "an earlier copy of this write was refused by a primary that may have written it first: it may "
           "have been applied";
  };
  auto answer = [&](Status status) -> Status {
    if (in_doubt) std::this_thread::sleep_until(settled);
    if (status.ok() || !(ever_in_doubt || maybe_applied)) return status;
    // Not "not applied" any more: that holds for the last copy only.
    Status out = WithContext(status, doubt());
    out.ErasePayload(kWriteNotAppliedPayload);
    return out;
  };
  // The client's deadline has passed (or is too near to forward a copy and hear back in time): Qdrant's
  // timeout, saying what became of the write.
  auto timed_out = [&](const Status& last) -> Status {
    if (in_doubt) std::this_thread::sleep_until(settled);
    std::string what = ever_in_doubt || maybe_applied ? doubt() : "the write was not applied";
    if (!last.ok()) what += " (last attempt: " + std::string(StatusMessage(last)) + ")";
    return RequestTimeoutError(std::string(deadline.TimeoutError(operation).message()) + "; " + what);
  };
  Status last;
  bool last_unanswered = false;  // `last` is a copy's that got no answer
  while (true) {
    auto target = router_.WriteTarget(collection_, shard_);
    if (target.ok() && !target->has_value()) {
      std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
      if (shard == nullptr) {
        return answer(absl::UnavailableError("shard " + std::to_string(shard_) + " is not open here"));
      }
      // Ordered by the forwarding node's deadline (a peer's write) and by this request's own.
      Status applied = local(*shard, EarlierUnixMs(apply_by_unix_ms_, WallClockDeadlineUnixMs(deadline)));
      if (!applied.ok()) {
        if (IsWriteNotApplied(applied)) {
          spdlog::warn("request {}: shard {} of {}: {}", context.request_id, shard_, collection_,
                       StatusMessage(applied));
          // A client's own write that missed its deadline: Qdrant's timeout. A peer's forwarded one
          // stays "not applied", which the forwarding node reads.
          if (forward_ && !ever_in_doubt && !maybe_applied) return ClientWriteTimeout(applied, deadline, operation);
        }
        return answer(applied);
      }
      return answer(router_.AfterLocalWrite(collection_, shard_, shard->last_sequence(), wait));
    }
    if (target.ok()) {
      if (!forward_) {
        return absl::UnavailableError("this node is not the primary of shard " + std::to_string(shard_) +
                                      " of " + collection_);
      }
      const PeerShard& to = **target;
      const std::optional<ClockOffset> clock = router_.PeerClockOffset(to.url);
      const auto clock_error = std::chrono::milliseconds(clock ? clock->error_ms : 0);
      if (!window_end || Steady::now() > *window_end) {
        // A new window. Copies of the last one may still arrive until it closes: wait for that first, so
        // that copies of two windows are never appliable at once.
        if (in_doubt) std::this_thread::sleep_until(settled);
        in_doubt = false;
        auto window = std::chrono::duration_cast<Steady::duration>(policy.window);
        if (deadline.is_set()) {
          // Settled (window end + clock error + skew) by the client's deadline.
          const auto left = std::chrono::duration_cast<Steady::duration>(
              std::chrono::duration<double>(deadline.remaining_seconds()) - clock_error - policy.max_clock_skew);
          if (left <= Steady::duration::zero()) return timed_out(last);
          window = std::min(window, left);
        }
        window_end = Steady::now() + window;
        settled = *window_end;
      }
      // The deadline on the primary's wall clock: this node's, moved by the offset the prober measured
      // (unknown: none), plus what is left of the window.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*window_end - Steady::now());
      ForwardAttempt attempt;
      attempt.apply_by_unix_ms =
          WallClockUnixMs() + (clock ? clock->offset_ms : 0) + std::max<int64_t>(0, left.count());
      attempt.timeout = std::max(policy.window, kForwardAnswerTimeout);
      if (deadline.is_set()) {
        // The primary's answer is awaited until the client's deadline, not longer (rounded up: the answer
        // must not leave before the deadline has passed).
        attempt.timeout = std::min(attempt.timeout, std::chrono::milliseconds(static_cast<int64_t>(
                                                        std::ceil(deadline.remaining_seconds() * 1000)) + 1));
      }
      attempt.context = &context;
      settled = std::max(settled, *window_end + clock_error + policy.max_clock_skew);
      auto sequence = remote(to, &attempt);
      last_unanswered = !attempt.answered;
      if (!attempt.answered) {
        in_doubt = ever_in_doubt = true;
        spdlog::warn("request {}: a write forwarded to {}, the primary of shard {} of {}, got no answer ({}); "
                     "it may have been applied until its deadline passes",
                     context.request_id, to.url, shard_, collection_, StatusMessage(sequence.status()));
      }
      if (sequence.ok()) {
        remote_sequence_.store(*sequence);
        return answer(absl::OkStatus());
      }
      if (attempt.answered && !IsWriteNotApplied(sequence.status())) maybe_applied = true;
      last = sequence.status();
    } else {
      last = target.status();
      last_unanswered = false;
    }
    // An answer the primary gave stands (unless retrying it is what the deadline cut short); a copy
    // without an answer, or a retry the deadline leaves no time for, ends in the timeout answer.
    if (deadline.Expired() && (last_unanswered || Retryable(last))) return timed_out(last);
    if (!Retryable(last) || Steady::now() >= give_up) return answer(last);
    std::this_thread::sleep_for(kRetryInterval);
  }
}

template <typename T>
StatusOr<T> RoutedShard::Read(const LocalRead<T>& local, const RemoteRead<T>& remote,
                               const Deadline& deadline) const {
  if (reads_.level == ReadConsistency::Level::kPrimary) return ReadPrimary(local, remote, deadline);
  if (reads_ == ReadConsistency()) return ReadOne(local, remote);
  return ReadSeveral(local, remote);
}

template <typename T>
StatusOr<T> RoutedShard::ReadOne(const LocalRead<T>& local, const RemoteRead<T>& remote) const {
  Status last;
  for (size_t attempt = 0; attempt < 4; ++attempt) {
    auto target = router_.ReadTarget(collection_, shard_, attempt, reads_);
    if (!target.ok()) return target.status();
    if (!target->has_value()) {
      std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
      if (shard != nullptr) return local(*shard);
      last = absl::UnavailableError("shard " + std::to_string(shard_) + " is not open here");
      continue;
    }
    auto result = remote(**target, nullptr);
    if (result.ok() || !Retryable(result.status())) return result;
    last = result.status();
  }
  return last;
}

template <typename T>
StatusOr<T> RoutedShard::ReadPrimary(const LocalRead<T>& local, const RemoteRead<T>& remote,
                                      const Deadline& deadline) const {
  // Served by the node the shard map names acting primary, which checks itself, before and after the
  // read, with the same fencing as its writes (lease, leader key, term): a node that is not sure it still
  // leads answers 503 rather than what may be stale. Another attempt looks at a newer shard map.
  // While no primary acts (an election, or this node's view of a new shard's first claim lagging), the
  // read waits for one as a write does, bounded by kPrimaryWait and the request's deadline.
  const auto give_up = std::chrono::steady_clock::now() + kPrimaryWait;
  Status last;
  for (size_t attempt = 0;; ++attempt) {
    auto target = router_.ReadTarget(collection_, shard_, attempt, reads_);
    if (target.ok()) {
      auto result = ReadPositioned<T>(*target, /*primary=*/true, local, remote);
      if (result.ok()) return std::move(result->value);
      last = result.status();
    } else {
      last = target.status();
    }
    if (!Retryable(last) || std::chrono::steady_clock::now() >= give_up || deadline.Expired()) break;
    if (attempt >= 3) std::this_thread::sleep_for(kRetryInterval);  // the first retries look at once
  }
  return WithContext(last, "read consistency primary: shard " + std::to_string(shard_) + " of collection `" +
                               collection_ + "`");
}

template <typename T>
StatusOr<T> RoutedShard::ReadSeveral(const LocalRead<T>& local, const RemoteRead<T>& remote) const {
  VJ_ASSIGN_OR_RETURN(ShardRouter::ReadReplicaSet set, router_.ReadReplicas(collection_, shard_));
  const size_t required = reads_.Required(set.total);
  return ReadNewest<T>(
      set.live.size(), required,
      [&](size_t i) { return ReadPositioned<T>(set.live[i], /*primary=*/false, local, remote); },
      "read consistency " + reads_.ToString() + ": shard " + std::to_string(shard_) + " of collection `" +
          collection_ + "`");
}

template <typename T>
StatusOr<Positioned<T>> RoutedShard::ReadPositioned(const std::optional<PeerShard>& replica, bool primary,
                                                    const LocalRead<T>& local, const RemoteRead<T>& remote) const {
  if (replica) {
    ReplicaPosition at;
    PositionRequest position{&at, primary};
    VJ_ASSIGN_OR_RETURN(T value, remote(*replica, &position));
    return Positioned<T>{std::move(value), at};
  }
  VJ_ASSIGN_OR_RETURN(ReplicaPosition before, router_.LocalPosition(collection_, shard_, primary));
  std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
  if (shard == nullptr) return absl::UnavailableError("shard " + std::to_string(shard_) + " is not open here");
  VJ_ASSIGN_OR_RETURN(T value, local(*shard));
  VJ_ASSIGN_OR_RETURN(ReplicaPosition after, router_.LocalPosition(collection_, shard_, primary));
  VJ_RETURN_IF_ERROR(CheckPositionHeld(before, after, "this node's replica of shard " + std::to_string(shard_)));
  return Positioned<T>{std::move(value), before};
}

Status RoutedShard::EveryReplica(const LocalWrite& local, const RemoteWrite& remote) {
  if (!forward_) {
    std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
    if (shard == nullptr) return absl::UnavailableError("shard " + std::to_string(shard_) + " is not open here");
    return local(*shard, 0);
  }
  for (const std::optional<PeerShard>& replica : router_.AllReplicas(collection_, shard_)) {
    if (!replica) {
      std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
      if (shard != nullptr) VJ_RETURN_IF_ERROR(local(*shard, 0));
    } else {
      VJ_RETURN_IF_ERROR(remote(*replica, nullptr).status());
    }
  }
  return absl::OkStatus();
}

CollectionInfo RoutedShard::Info() const {
  // Counts come from one replica; a shard that cannot be reached counts as empty (and yellow).
  CollectionInfo info;
  auto count = Read<uint64_t>([](const Shard& s) -> StatusOr<uint64_t> { return s.Info().points_count; },
                              [this](const PeerShard& p, const PositionRequest* at) {
                                return router_.peers().Count(p, std::nullopt, true, at);
                              });
  if (count.ok()) {
    info.points_count = *count;
    info.indexed_vectors_count = *count;
  } else {
    info.status = "yellow";
  }
  info.last_sequence = last_sequence();
  return info;
}

uint64_t RoutedShard::last_sequence() const {
  std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
  return shard != nullptr ? shard->last_sequence() : remote_sequence_.load();
}

Status RoutedShard::Upsert(std::vector<PointInput> points, bool wait, const RequestContext& context) {
  return Write([&](Shard& s, int64_t apply_by) { return s.Upsert(points, wait, apply_by); },
               [&](const PeerShard& p, ForwardAttempt* f) { return router_.peers().Upsert(p, points, wait, f); },
               wait, context, "Upsert");
}

Status RoutedShard::Delete(const PointSelector& selector, bool wait, const RequestContext& context) {
  return Write([&](Shard& s, int64_t apply_by) { return s.Delete(selector, wait, apply_by); },
               [&](const PeerShard& p, ForwardAttempt* f) { return router_.peers().Delete(p, selector, wait, f); },
               wait, context, "Delete");
}

Status RoutedShard::UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                  std::vector<std::string> keys, std::optional<std::string> key, bool wait,
                                  const RequestContext& context) {
  return Write([&](Shard& s, int64_t apply_by) { return s.UpdatePayload(op, selector, payload, keys, key, wait, apply_by); },
               [&](const PeerShard& p, ForwardAttempt* f) {
                 return router_.peers().UpdatePayload(p, op, selector, payload, keys, key, wait, f);
               },
               wait, context, "SetPayload");
}

Status RoutedShard::UpdateVectors(std::vector<PointInput> points, bool wait, const RequestContext& context) {
  return Write([&](Shard& s, int64_t apply_by) { return s.UpdateVectors(points, wait, apply_by); },
               [&](const PeerShard& p, ForwardAttempt* f) { return router_.peers().UpdateVectors(p, points, wait, f); },
               wait, context, "UpdateVectors");
}

Status RoutedShard::DeleteVectors(const PointSelector& selector, std::vector<std::string> names, bool wait,
                                  const RequestContext& context) {
  return Write([&](Shard& s, int64_t apply_by) { return s.DeleteVectors(selector, names, wait, apply_by); },
               [&](const PeerShard& p, ForwardAttempt* f) {
                 return router_.peers().DeleteVectors(p, selector, names, wait, f);
               },
               wait, context, "DeleteVectors");
}

Status RoutedShard::CreatePayloadIndex(const std::string& key, const PayloadFieldSchema& type, bool wait) {
  return EveryReplica([&](Shard& s, int64_t) { return s.CreatePayloadIndex(key, type, wait); },
                      [&](const PeerShard& p, ForwardAttempt*) {
                        return router_.peers().CreatePayloadIndex(p, key, type, wait);
                      });
}

Status RoutedShard::DeletePayloadIndex(const std::string& key, bool wait) {
  return EveryReplica([&](Shard& s, int64_t) { return s.DeletePayloadIndex(key, wait); },
                      [&](const PeerShard& p, ForwardAttempt*) {
                        return router_.peers().DeletePayloadIndex(p, key, wait);
                      });
}

StatusOr<std::vector<PointView>> RoutedShard::Retrieve(const std::vector<PointId>& ids,
                                                       const PayloadSelector& with_payload,
                                                       const VectorSelector& with_vector) const {
  return Read<std::vector<PointView>>(
      [&](const Shard& s) { return s.Retrieve(ids, with_payload, with_vector); },
      [&](const PeerShard& p, const PositionRequest* at) {
        return router_.peers().Retrieve(p, ids, with_payload, with_vector, at);
      });
}

StatusOr<ScrollResult> RoutedShard::Scroll(const ScrollRequest& request) const {
  return Read<ScrollResult>([&](const Shard& s) { return s.Scroll(request); },
                            [&](const PeerShard& p, const PositionRequest* at) {
                              return router_.peers().Scroll(p, request, at);
                            },
                            request.deadline);
}

StatusOr<uint64_t> RoutedShard::Count(const std::optional<Filter>& filter, bool exact,
                                      const Deadline& deadline) const {
  return Read<uint64_t>([&](const Shard& s) { return s.Count(filter, exact, deadline); },
                        [&](const PeerShard& p, const PositionRequest* at) {
                          return router_.peers().Count(p, filter, exact, at);
                        },
                        deadline);
}

StatusOr<std::vector<PointView>> RoutedShard::Query(const QueryRequest& request) const {
  return Read<std::vector<PointView>>([&](const Shard& s) { return s.Query(request); },
                                      [&](const PeerShard& p, const PositionRequest* at) {
                                        return router_.peers().Query(p, request, at);
                                      },
                                      request.deadline);
}

void RoutedShard::WaitForQueuedWrites() {
  if (std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_)) shard->WaitForQueuedWrites();
}

Status RoutedShard::Flush() {
  std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
  return shard != nullptr ? shard->Flush() : absl::OkStatus();
}

}  // namespace vj

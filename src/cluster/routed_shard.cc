#include "cluster/routed_shard.h"

#include <chrono>
#include <thread>

namespace vj {

namespace {

// How long a write waits for a shard to get an acting primary (an election takes a lease TTL plus a
// second or two), and how often it looks.
constexpr auto kPrimaryWait = std::chrono::seconds(15);
constexpr auto kRetryInterval = std::chrono::milliseconds(100);

// A final refusal (core/status.h) is answered at once: waiting would not cure it.
bool Retryable(const Status& s) { return absl::IsUnavailable(s) && !IsFinalUnavailable(s); }

}  // namespace

Status RoutedShard::Write(const LocalWrite& local, const RemoteWrite& remote, bool wait) {
  const auto give_up = std::chrono::steady_clock::now() + kPrimaryWait;
  Status last;
  while (true) {
    auto target = router_.WriteTarget(collection_, shard_);
    if (target.ok() && !target->has_value()) {
      std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
      if (shard == nullptr) return absl::UnavailableError("shard " + std::to_string(shard_) + " is not open here");
      VJ_RETURN_IF_ERROR(local(*shard));
      return router_.AfterLocalWrite(collection_, shard_, shard->last_sequence(), wait);
    }
    if (target.ok()) {
      if (!forward_) {
        return absl::UnavailableError("this node is not the primary of shard " + std::to_string(shard_) +
                                      " of " + collection_);
      }
      auto sequence = remote(**target);
      if (sequence.ok()) {
        remote_sequence_.store(*sequence);
        return absl::OkStatus();
      }
      last = sequence.status();
    } else {
      last = target.status();
    }
    if (!Retryable(last) || std::chrono::steady_clock::now() >= give_up) return last;
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
    return local(*shard);
  }
  for (const std::optional<PeerShard>& replica : router_.AllReplicas(collection_, shard_)) {
    if (!replica) {
      std::shared_ptr<Shard> shard = router_.LocalReplica(collection_, shard_);
      if (shard != nullptr) VJ_RETURN_IF_ERROR(local(*shard));
    } else {
      VJ_RETURN_IF_ERROR(remote(*replica).status());
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

Status RoutedShard::Upsert(std::vector<PointInput> points, bool wait) {
  return Write([&](Shard& s) { return s.Upsert(points, wait); },
               [&](const PeerShard& p) { return router_.peers().Upsert(p, points, wait); }, wait);
}

Status RoutedShard::Delete(const PointSelector& selector, bool wait) {
  return Write([&](Shard& s) { return s.Delete(selector, wait); },
               [&](const PeerShard& p) { return router_.peers().Delete(p, selector, wait); }, wait);
}

Status RoutedShard::UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                  std::vector<std::string> keys, std::optional<std::string> key, bool wait) {
  return Write([&](Shard& s) { return s.UpdatePayload(op, selector, payload, keys, key, wait); },
               [&](const PeerShard& p) {
                 return router_.peers().UpdatePayload(p, op, selector, payload, keys, key, wait);
               },
               wait);
}

Status RoutedShard::UpdateVectors(std::vector<PointInput> points, bool wait) {
  return Write([&](Shard& s) { return s.UpdateVectors(points, wait); },
               [&](const PeerShard& p) { return router_.peers().UpdateVectors(p, points, wait); }, wait);
}

Status RoutedShard::DeleteVectors(const PointSelector& selector, std::vector<std::string> names, bool wait) {
  return Write([&](Shard& s) { return s.DeleteVectors(selector, names, wait); },
               [&](const PeerShard& p) { return router_.peers().DeleteVectors(p, selector, names, wait); }, wait);
}

Status RoutedShard::CreatePayloadIndex(const std::string& key, const PayloadFieldSchema& type, bool wait) {
  return EveryReplica([&](Shard& s) { return s.CreatePayloadIndex(key, type, wait); },
                      [&](const PeerShard& p) { return router_.peers().CreatePayloadIndex(p, key, type, wait); });
}

Status RoutedShard::DeletePayloadIndex(const std::string& key, bool wait) {
  return EveryReplica([&](Shard& s) { return s.DeletePayloadIndex(key, wait); },
                      [&](const PeerShard& p) { return router_.peers().DeletePayloadIndex(p, key, wait); });
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

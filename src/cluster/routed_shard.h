// RoutedShard: one shard of a cluster collection as the node that received a request sees it. Writes go
// to the shard's primary: applied here when this node is the acting primary (then replicated and
// acknowledged after write_consistency_factor copies, see ShardRouter::AfterLocalWrite), forwarded to
// the primary otherwise. Reads go to one replica, chosen by the router (round-robin over healthy ones); at a
// read consistency above one replica they ask several and keep the newest answer (cluster/replica_read.h);
// at `primary` they are served by the acting primary only, which checks before and after the read that it
// still is (503 otherwise).
// While a shard has no acting primary (an election, a node starting), writes are retried for a few
// seconds before Unavailable is returned.
//
// Forwarded writes are bounded in time (issue 20). A forwarded write that gets no answer (a timeout, a
// partition, a peer the prober gave up on) may still be on its way: held in a network buffer, it could
// reach the primary and be applied after this node answered the client "failed", and after a later
// write the client made because of that answer (a delete of the same point: the delete would be undone).
// So every copy of a forwarded write carries a deadline, in wall-clock unix milliseconds of the primary
// (kForwardDeadlineHeader, cluster/peer_protocol.h): ForwardPolicy::window after it was first sent. The
// primary refuses the write, unapplied, unless it takes its place in the shard's write order by then: the
// check is made in the same step that orders it (collection/write_queue.h), so a write that waited
// anywhere before (network, HTTP queue, a full write queue, the `forwarded_write` delay point) cannot slip
// in later.
// This node, when a copy it sent got no answer, answers the client only once the window has closed, plus
// the error of the clock offset it used, plus ForwardPolicy::max_clock_skew (measured on its steady
// clock): by then the primary's clock has passed the deadline, and the answer says the write may have
// been applied but will not be after it. An answer from the primary (whatever it says) settles the copy
// it answers.
// Clocks: the deadline is written on the primary's clock, as this node's plus the offset its prober
// measured from the primary's /livez answers (ShardRouter::PeerClockOffset, within half a probe's round
// trip), so a constant skew between nodes, however large (a node minutes off), neither lets a late copy
// in nor refuses timely ones. The assumption left: between the last probe and the window's end, no
// node's wall clock moves by more than max_clock_skew (cluster.max_clock_skew_ms) against real time
// (NTP slews by far less; a step of the primary's clock backwards in that moment, or a primary never
// probed, could let a late copy in).
// Retries (another primary after an election, a refused late copy) stay in the same window while it is
// open; once it has closed they first wait until its copies are settled, then open a new window, so
// copies of two windows are never appliable at once, and a success answer after an unanswered copy also
// waits for that copy's window to settle.
// The client's deadline (RequestContext::deadline: ?timeout, else limits.default_timeout_s) bounds all of
// this: a window never ends later than the deadline less max_clock_skew and the clock offset's error, so
// that the answer, which waits for the window to settle, leaves by the deadline; the wait for the
// primary's answer ends at the deadline. Past it the client gets Qdrant's timeout (408) saying whether
// the write may have been applied (a copy got no answer: not after this answer) or was not. A local write
// (this node is the primary) must be ordered by the deadline, else it is refused, not applied.
// The request id and trace context of the context go with every forwarded copy (X-Request-Id,
// traceparent), so that the primary's log lines and spans for it name the client's request; a
// forwarded write the primary refuses, and a copy that got no answer, are logged with it.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/peer_client.h"
#include "cluster/peer_prober.h"
#include "cluster/replica_read.h"
#include "collection/catalog.h"
#include "collection/shard.h"
#include "collection/shard_access.h"

namespace vj {

// What a RoutedShard asks of the cluster (implemented by ClusterNode).
class ShardRouter {
 public:
  virtual ~ShardRouter() = default;
  // This node's replica of the shard, or nullptr.
  virtual std::shared_ptr<Shard> LocalReplica(const std::string& collection, uint32_t shard) = 0;
  // nullopt when this node is the shard's acting primary; the primary otherwise. Unavailable while the
  // shard has no acting primary.
  virtual StatusOr<std::optional<PeerShard>> WriteTarget(const std::string& collection, uint32_t shard) = 0;
  // After this node (the primary) wrote locally up to `sequence`: streams it to the replicas and, when
  // `wait`, returns once write_consistency_factor copies hold it and this node is still primary.
  [[nodiscard]] virtual Status AfterLocalWrite(const std::string& collection, uint32_t shard, uint64_t sequence,
                                               bool wait) = 0;
  // The replica to read from: nullopt = this node's. `attempt` > 0 asks for another one after a failure;
  // kPrimary allows the acting primary only.
  virtual StatusOr<std::optional<PeerShard>> ReadTarget(const std::string& collection, uint32_t shard,
                                                        size_t attempt, ReadConsistency consistency) = 0;
  // For a read that asks several replicas: how many replicas the shard has (its placement, replicas on
  // dead nodes included) and those on live nodes to ask, in order of preference (nullopt = this node's).
  struct ReadReplicaSet {
    size_t total = 0;
    std::vector<std::optional<PeerShard>> live;
  };
  virtual StatusOr<ReadReplicaSet> ReadReplicas(const std::string& collection, uint32_t shard) = 0;
  // Where this node's replica of the shard stands (collection/read_consistency.h). Unavailable while it
  // is not open or is loading a snapshot, and, with `primary`, unless this node is the acting primary.
  virtual StatusOr<ReplicaPosition> LocalPosition(const std::string& collection, uint32_t shard, bool primary) = 0;
  // Every replica of the shard (nullopt = this node's), for changes every replica applies (payload indexes).
  virtual std::vector<std::optional<PeerShard>> AllReplicas(const std::string& collection, uint32_t shard) = 0;
  virtual PeerClient& peers() = 0;
  // How forwarded writes are bounded in time (see RoutedShard).
  struct ForwardPolicy {
    // A copy sent now must be ordered by the primary within this long, or it is refused.
    std::chrono::milliseconds window{3000};
    // The most the nodes' wall clocks may differ.
    std::chrono::milliseconds max_clock_skew{500};
  };
  virtual ForwardPolicy forward_policy() const { return ForwardPolicy(); }
  // The wall clock of the peer at `url` minus this node's, as last measured (cluster/peer_prober.h);
  // nullopt when unknown.
  virtual std::optional<ClockOffset> PeerClockOffset(const std::string& url) const { return std::nullopt; }
};

class RoutedShard final : public ShardAccess {
 public:
  // `forward` false: this shard serves a peer's forwarded write, which must not be forwarded again
  // (Unavailable when this node is not the primary), and payload index changes apply to this node only;
  // `apply_by_unix_ms` is then the write's deadline (kForwardDeadlineHeader; 0 = none): it is refused,
  // unapplied (IsWriteNotApplied), unless it is ordered by then.
  RoutedShard(ShardRouter& router, std::string collection, uint32_t shard, bool forward,
              ReadConsistency reads = ReadConsistency(), int64_t apply_by_unix_ms = 0)
      : router_(router),
        collection_(std::move(collection)),
        shard_(shard),
        forward_(forward),
        reads_(reads),
        apply_by_unix_ms_(apply_by_unix_ms) {}

  CollectionInfo Info() const override;
  uint64_t last_sequence() const override;

  [[nodiscard]] Status Upsert(std::vector<PointInput> points, bool wait, const RequestContext& context) override;
  [[nodiscard]] Status Delete(const PointSelector& selector, bool wait, const RequestContext& context) override;
  [[nodiscard]] Status UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                     std::vector<std::string> keys, std::optional<std::string> key,
                                     bool wait, const RequestContext& context) override;
  [[nodiscard]] Status UpdateVectors(std::vector<PointInput> points, bool wait, const RequestContext& context) override;
  [[nodiscard]] Status DeleteVectors(const PointSelector& selector, std::vector<std::string> names,
                                     bool wait, const RequestContext& context) override;
  // Nothing to do here: every node rebuilds its own replicas when it sees the new config in etcd
  // (ClusterNode's reconcile).
  [[nodiscard]] Status UpdateIndexConfig(const CollectionConfig&) override { return absl::OkStatus(); }
  [[nodiscard]] Status CreatePayloadIndex(const std::string& key, const PayloadFieldSchema& type, bool wait) override;
  [[nodiscard]] Status DeletePayloadIndex(const std::string& key, bool wait) override;

  [[nodiscard]] StatusOr<std::vector<PointView>> Retrieve(const std::vector<PointId>& ids,
                                                          const PayloadSelector& with_payload,
                                                          const VectorSelector& with_vector) const override;
  [[nodiscard]] StatusOr<ScrollResult> Scroll(const ScrollRequest& request) const override;
  [[nodiscard]] StatusOr<uint64_t> Count(const std::optional<Filter>& filter, bool exact,
                                         const Deadline& deadline) const override;
  [[nodiscard]] StatusOr<std::vector<PointView>> Query(const QueryRequest& request) const override;

  void WaitForQueuedWrites() override;
  [[nodiscard]] Status Flush() override;

 private:
  // `apply_by_unix_ms`: when the write must be ordered by (0 = no limit).
  using LocalWrite = std::function<Status(Shard&, int64_t apply_by_unix_ms)>;
  // `forward`: the attempt's deadline, timeout and context (null for changes sent to every replica).
  using RemoteWrite = std::function<StatusOr<uint64_t>(const PeerShard&, ForwardAttempt* forward)>;
  template <typename T>
  using LocalRead = std::function<StatusOr<T>(const Shard&)>;
  // `position`: null for a plain read; else where the peer's replica stood is asked for (PositionRequest).
  template <typename T>
  using RemoteRead = std::function<StatusOr<T>(const PeerShard&, const PositionRequest* position)>;

  // `operation` names the write in a timeout answer ("Upsert", "Delete", ...).
  Status Write(const LocalWrite& local, const RemoteWrite& remote, bool wait, const RequestContext& context,
               std::string_view operation);
  // A read at reads_: one replica, several (ReadNewest) or the acting primary. `deadline` bounds the
  // wait for an acting primary (the request's; kPrimaryWait at most).
  template <typename T>
  StatusOr<T> Read(const LocalRead<T>& local, const RemoteRead<T>& remote, const Deadline& deadline = Deadline()) const;
  template <typename T>
  StatusOr<T> ReadOne(const LocalRead<T>& local, const RemoteRead<T>& remote) const;
  template <typename T>
  StatusOr<T> ReadPrimary(const LocalRead<T>& local, const RemoteRead<T>& remote, const Deadline& deadline) const;
  template <typename T>
  StatusOr<T> ReadSeveral(const LocalRead<T>& local, const RemoteRead<T>& remote) const;
  // One replica's answer with its position: this node's (`replica` nullopt) or a peer's.
  template <typename T>
  StatusOr<Positioned<T>> ReadPositioned(const std::optional<PeerShard>& replica, bool primary,
                                         const LocalRead<T>& local, const RemoteRead<T>& remote) const;
  // Applies a payload index change to every replica (or to this node's only, when !forward_).
  Status EveryReplica(const LocalWrite& local, const RemoteWrite& remote);

  ShardRouter& router_;
  const std::string collection_;
  const uint32_t shard_;
  const bool forward_;
  const ReadConsistency reads_;
  const int64_t apply_by_unix_ms_;
  // The shard's last sequence as the primary last reported it (operation_id), when it is remote.
  std::atomic<uint64_t> remote_sequence_{0};
};

}  // namespace vj

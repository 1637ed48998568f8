// Replication of one shard from its primary to its replicas (cluster mode).
//
// The primary's Replicator streams the shard's mutation log (PointStore sequence numbers) to every other
// replica over POST /internal/replication/{collection}/{shard}?term=T&start=E with a binary LogBatch, and
// records the sequence each replica reports durable. A replica that cannot continue from the log (the
// entries it needs were trimmed, or it holds writes of an older term that this primary never had) gets a
// snapshot first: every point of the shard, then the sequence the snapshot stands for, then the log.
// Writes wait in WaitForAcks until write_consistency_factor copies hold them.
//
// A batch that carries entries of a sampled write (Shard::TraceOfLog) is sent as a client span of that
// write's trace, which the replica continues: a traced write's tree reaches every replica.
//
// Each replica is streamed to by a thread of its own, so a replica that hangs (a paused process keeps
// its TCP connections open, and a request to it waits for its timeout) or that is receiving a long
// snapshot delays nobody else: writes are acknowledged as soon as enough of the others confirm.
//
// Thread-safety: all public methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/http_client.h"
#include "cluster/log_batch.h"
#include "collection/shard.h"
#include "core/status.h"
#include "core/trace_context.h"
#include "storage/point_record.h"

namespace vj {

struct ReplicaTarget {
  std::string node;
  std::string url;
};

struct ReplicaProgress {
  uint64_t acked = 0;         // last sequence the replica reported durable
  bool reachable = false;     // the last request got an answer
  bool snapshotting = false;  // a snapshot transfer is under way
  bool needs_snapshot = false;  // the replica cannot continue from the log (its answer, or the log was trimmed)
  // The replica answered that its disk is full (507): it lags, retried with a back-off until it has room.
  bool disk_full = false;
  std::chrono::steady_clock::time_point retry_at{};
  std::chrono::milliseconds backoff{0};
};

class Replicator {
 public:
  // `local` is the primary's shard; `term` and `start_sequence` come from its shard map entry.
  // `headers` go with every request (the cluster's internal token).
  Replicator(std::string collection, uint32_t shard, std::shared_ptr<Shard> local, uint64_t term,
             uint64_t start_sequence, HttpClient& http, HttpHeaders headers);
  ~Replicator();  // stops the thread

  uint64_t term() const { return term_; }
  // Replaces the replicas to stream to (the primary excluded). Does not wait for the streams it ends.
  void SetTargets(std::vector<ReplicaTarget> targets);
  // Wakes the streaming threads (after a local write).
  void Notify();

  // Blocks until `copies` replicas report `sequence` durable. DeadlineExceeded at `deadline`; Aborted
  // when a replica answered with a newer term (this node is no longer primary).
  [[nodiscard]] Status WaitForAcks(uint64_t sequence, size_t copies, std::chrono::steady_clock::time_point deadline);
  std::map<std::string, ReplicaProgress> Progress() const;
  // True once a replica rejected this term as stale, or Supersede() was called.
  bool superseded() const { return superseded_.load(); }
  // Stops acting for this term (a newer term was seen); pending WaitForAcks return Aborted.
  void Supersede();

 private:
  // One replica's streaming thread; `stop` ends it (it finishes the request in flight first).
  struct Stream {
    ReplicaTarget target;
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    std::thread thread;
  };

  void Run(Stream& stream);
  bool Stopping(const Stream& stream) const { return stop_.load() || stream.stop.load(); }
  // The progress entry `stream` may read and write (mu_ held): null once its replica is no longer a
  // target or the stream was stopped, so nothing a stale stream learns is recorded.
  ReplicaProgress* Owned(const Stream& stream);
  // One round of work for one target; returns false when it could not make progress.
  bool Step(const Stream& stream);
  Status SendSnapshot(const Stream& stream);
  // POSTs a replication request to the stream's replica (abandoned once the stream stops); returns the
  // replica's last durable sequence and whether it needs a snapshot.
  StatusOr<std::pair<uint64_t, bool>> Post(const Stream& stream, const std::string& query,
                                           const std::string& body, const TraceContext& parent = TraceContext(),
                                           size_t entries = 0);


  static constexpr size_t kBatchEntries = 512;
  static constexpr size_t kSnapshotPagePoints = 256;

  const std::string collection_;
  const uint32_t shard_;
  const std::shared_ptr<Shard> local_;
  const uint64_t term_;
  const uint64_t start_sequence_;
  HttpClient& http_;
  const HttpHeaders headers_;  // with every request: the caller's, and the body's Content-Type

  mutable std::mutex mu_;
  std::condition_variable cv_;        // wakes the streams
  std::condition_variable acked_cv_;  // wakes WaitForAcks
  std::map<std::string, ReplicaProgress> progress_;    // guarded by mu_
  uint64_t generation_ = 0;                            // guarded by mu_; bumped by Notify
  std::atomic<bool> stop_{false};
  std::atomic<bool> superseded_{false};

  std::mutex streams_mu_;  // taken before mu_ when both are needed
  std::map<std::string, std::unique_ptr<Stream>> streams_;  // guarded by streams_mu_, by node
  std::vector<std::unique_ptr<Stream>> retired_;          // guarded by streams_mu_: stopping, not joined
};

}  // namespace vj

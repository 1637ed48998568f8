// Shard: one part of a collection's points with its vectors, payloads and indexes: a PointStore
// (RocksDB), a VectorIndex per named vector, payload indexes and the query planner. A Collection routes
// points to its shards by a hash of their ids.
//
// Writes are validated synchronously, then queued to the shard's single writer thread, which
// groups queued requests into one durable PointStore batch (group commit), then applies them to the
// in-memory indexes in sequence order. With wait=true a write returns after it is durable and visible
// (or DeadlineExceeded after options.write_timeout_ms, when it may still be applied); with wait=false
// once it is validated and queued (or Unavailable when the shard's bounded write queue stays full:
// nothing is written). Vector indexes are rebuilt without their tombstones on a background thread,
// and snapshotted on another (collection/index_snapshotter.h), so that Open, after a crash too, loads
// the newest snapshot and replays only the log written since (collection/shard_snapshot.h).
//
// Thread-safety: all public methods are safe to call concurrently. Reads see a consistent state under a
// shared lock; the writer applies each batch under an exclusive lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "collection/collection_config.h"
#include "collection/index_snapshotter.h"
#include "collection/requests.h"
#include "collection/shard_access.h"
#include "core/payload.h"
#include "core/point_id.h"
#include "core/status.h"
#include "core/wall_clock.h"
#include "core/write_not_applied.h"
#include "index/filter.h"
#include "index/payload_index.h"
#include "index/vector_index.h"
#include "storage/point_store.h"
#include "tracing/span.h"

namespace vj {

struct ShardState;
class IndexCompactor;
class ShardWriter;
struct WriteRequest;

class Shard final : public ShardAccess {
 public:
  // Opens the shard stored in `dir` (creating storage if new) and loads its points into the indexes.
  // `config` is the collection's config (the Collection persists it). Errors: IOError/DataLoss.
  [[nodiscard]] static StatusOr<std::unique_ptr<Shard>> Open(std::string name, std::string dir,
                                                                   CollectionConfig config,
                                                                   const CollectionOptions& options);
  ~Shard() override;  // stops the writer after draining queued writes

  const std::string& name() const { return name_; }
  CollectionConfig config() const;
  CollectionInfo Info() const override;
  // The sequence number of the last durable write.
  uint64_t last_sequence() const override;

  // Writes. InvalidArgument (naming the point and field) leaves nothing changed. These forms have no
  // deadline to be ordered by (tests, tools).
  [[nodiscard]] Status Upsert(std::vector<PointInput> points, bool wait);
  [[nodiscard]] Status Delete(const PointSelector& selector, bool wait);
  // kSet merges `payload` into each point's payload (at `key` path's object when key is set); kOverwrite
  // replaces it; kDeleteKeys removes `keys`; kClear empties it.
  [[nodiscard]] Status UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                     std::vector<std::string> keys, std::optional<std::string> key,
                                     bool wait);

  // Replaces the vectors each point names and keeps its others and its payload (shard_vectors.cc).
  // InvalidArgument as ValidateVectorUpdate, NotFound for a point not stored: nothing changes then.
  [[nodiscard]] Status UpdateVectors(std::vector<PointInput> points, bool wait);
  // Removes the named vectors from the selected points; the points stay (with their payload and other
  // vectors) and searches over a removed vector skip them. InvalidArgument for a name not configured,
  // NotFound for an explicit id not stored.
  [[nodiscard]] Status DeleteVectors(const PointSelector& selector, std::vector<std::string> names,
                                     bool wait);

  // The writes of a request (ShardAccess): ordered by the context's deadline or refused, not applied, with
  // Qdrant's timeout (ClientWriteTimeout).
  [[nodiscard]] Status Upsert(std::vector<PointInput> points, bool wait, const RequestContext& context) override {
    return ClientWriteTimeout(Upsert(std::move(points), wait, WallClockDeadlineUnixMs(context.deadline)),
                              context.deadline, "Upsert");
  }
  [[nodiscard]] Status Delete(const PointSelector& selector, bool wait, const RequestContext& context) override {
    return ClientWriteTimeout(Delete(selector, wait, WallClockDeadlineUnixMs(context.deadline)), context.deadline,
                              "Delete");
  }
  [[nodiscard]] Status UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                     std::vector<std::string> keys, std::optional<std::string> key, bool wait,
                                     const RequestContext& context) override {
    return ClientWriteTimeout(UpdatePayload(op, selector, std::move(payload), std::move(keys), std::move(key), wait,
                                            WallClockDeadlineUnixMs(context.deadline)),
                              context.deadline, "SetPayload");
  }
  [[nodiscard]] Status UpdateVectors(std::vector<PointInput> points, bool wait,
                                     const RequestContext& context) override {
    return ClientWriteTimeout(UpdateVectors(std::move(points), wait, WallClockDeadlineUnixMs(context.deadline)),
                              context.deadline, "UpdateVectors");
  }
  [[nodiscard]] Status DeleteVectors(const PointSelector& selector, std::vector<std::string> names, bool wait,
                                     const RequestContext& context) override {
    return ClientWriteTimeout(DeleteVectors(selector, std::move(names), wait, WallClockDeadlineUnixMs(context.deadline)),
                              context.deadline, "DeleteVectors");
  }

  // The same writes, refused (Unavailable marked kWriteNotAppliedPayload, nothing changed) unless they
  // are ordered by the wall-clock time `apply_by_unix_ms` (0 = no limit): a write a peer forwarded to
  // this shard's primary, or a client's write with a deadline (WriteQueue::Push checks it when the write
  // takes its place in the order).
  [[nodiscard]] Status Upsert(std::vector<PointInput> points, bool wait, int64_t apply_by_unix_ms);
  [[nodiscard]] Status Delete(const PointSelector& selector, bool wait, int64_t apply_by_unix_ms);
  [[nodiscard]] Status UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                     std::vector<std::string> keys, std::optional<std::string> key, bool wait,
                                     int64_t apply_by_unix_ms);
  [[nodiscard]] Status UpdateVectors(std::vector<PointInput> points, bool wait, int64_t apply_by_unix_ms);
  [[nodiscard]] Status DeleteVectors(const PointSelector& selector, std::vector<std::string> names, bool wait,
                                     int64_t apply_by_unix_ms);

  // Takes `config`'s HNSW and quantization settings (PATCH /collections): when they differ from the
  // ones last asked for, queues a rebuild of the vector indexes on the writer thread and returns. The
  // rebuild copies every live vector into new indexes while searches go on over the old ones (writes wait
  // behind it in the queue), then swaps them in; Info() reports "yellow" until then. A point's vectors
  // are the same before and after, so no search fails or misses points meanwhile.
  [[nodiscard]] Status UpdateIndexConfig(const CollectionConfig& config) override;

  // Payload indexes. InvalidArgument for a malformed key; NotFound when deleting an absent index.
  [[nodiscard]] Status CreatePayloadIndex(const std::string& key, const PayloadFieldSchema& type, bool wait) override;
  [[nodiscard]] Status DeletePayloadIndex(const std::string& key, bool wait) override;

  // Reads.
  [[nodiscard]] StatusOr<std::vector<PointView>> Retrieve(const std::vector<PointId>& ids,
                                                          const PayloadSelector& with_payload,
                                                          const VectorSelector& with_vector) const override;
  [[nodiscard]] StatusOr<ScrollResult> Scroll(const ScrollRequest& request) const override;
  [[nodiscard]] StatusOr<uint64_t> Count(const std::optional<Filter>& filter, bool exact,
                                         const Deadline& deadline = Deadline()) const override;
  [[nodiscard]] StatusOr<std::vector<PointView>> Query(const QueryRequest& request) const override;

  // Replication (cluster mode). A primary streams its log to replicas; a replica applies it unchanged,
  // so both assign the same sequence numbers to the same mutations.
  // Appends the log entries with sequence >= from, at most max_entries; OutOfRange when trimmed.
  [[nodiscard]] Status ReadLog(uint64_t from, size_t max_entries, std::vector<LoggedMutation>* out) const;
  // The trace of the first sampled group commit that wrote entries in (after, upto] (its
  // "storage.commit" span), for the replication requests that carry them; invalid when none.
  TraceContext TraceOfLog(uint64_t after, uint64_t upto) const;
  // Applies a primary's log entries durably and visibly, in order: entries at or below last_sequence()
  // are skipped (already applied: entries hold each point's resulting state, so this is idempotent);
  // the rest must continue at last_sequence() + 1, else FailedPrecondition naming the gap.
  [[nodiscard]] Status ApplyLogged(std::vector<LoggedMutation> entries);
  // Calls fn for every stored point (reads a consistent RocksDB snapshot; concurrent writes go on).
  [[nodiscard]] Status ForEachPoint(const std::function<Status(PointRecord&&)>& fn) const;
  // Loading a primary's snapshot: delete every point, apply the snapshot's points (ApplyMutations), then
  // ResetSequence to the sequence the snapshot was taken at, which empties the log. Each is durable
  // when it returns.
  [[nodiscard]] Status DeleteAllPoints();
  [[nodiscard]] Status ApplyMutations(std::vector<Mutation> mutations);
  [[nodiscard]] Status ResetSequence(uint64_t sequence);

  // Blocks until every write queued so far is durable and applied.
  void WaitForQueuedWrites() override;
  // Blocks until no background index rebuild runs or is due (tests and benchmarks).
  void WaitForIndexMaintenance();
  // Background index rebuilds completed since Open.
  uint64_t compactions() const;
  // Flushes storage; the destructor calls it too.
  [[nodiscard]] Status Flush() override;
  // A consistent copy of the point store and a fresh index snapshot (ShardAccess::Checkpoint).
  [[nodiscard]] Status Checkpoint(const std::string& shard_dir, uint64_t* sequence) override;

  // Time the last Open spent loading points and building indexes, in seconds.
  double load_seconds() const { return load_seconds_; }
  // Whether the last Open loaded the indexes from their snapshot rather than rebuilding them, and how
  // many log entries it replayed over the snapshot then.
  bool loaded_from_snapshot() const { return loaded_from_snapshot_; }
  uint64_t replayed_log_entries() const { return replayed_log_entries_; }
  // The store sequence the newest index snapshot covers (written in the background or loaded by Open);
  // 0 when there is none yet.
  uint64_t index_snapshot_sequence() const { return snapshot_sequence_.load(std::memory_order_acquire); }
  // Writes an index snapshot now (what the background snapshots do). Errors: the file system's.
  [[nodiscard]] Status SaveIndexSnapshot();
  // Point records held in the shard's quarantine (storage/point_store.h), this Open's included.
  uint64_t quarantined_records() const;
  // True while the store refuses writes for a full disk (storage/point_store.h write_blocked).
  bool write_blocked() const;

 private:
  Shard(std::string name, std::string dir, CollectionOptions options);
  Status Load();
  IndexSnapshotPolicy snapshotter_policy() const;
  // Logs each record Load quarantined (collection/shard, point id, reason).
  void ReportQuarantined(const std::vector<QuarantinedRecord>& quarantined) const;
  // How a caller waits for its write: not at all (a client's wait=false), up to the write deadline (a
  // client's wait=true), or as long as it takes (internal writes: replication, snapshots, barriers).
  enum class WriteWait { kNone, kClient, kInternal };
  static WriteWait ClientWait(bool wait) { return wait ? WriteWait::kClient : WriteWait::kNone; }
  // Queues a write and, unless kNone, blocks until it is durable and applied.
  Status Submit(std::unique_ptr<WriteRequest> request, WriteWait wait, int64_t apply_by_unix_ms = 0);
  Status SubmitUntraced(std::unique_ptr<WriteRequest> request, WriteWait wait);
  // Query without its span (Query adds the "shard.search" span around it).
  StatusOr<std::vector<PointView>> QueryUntraced(const QueryRequest& request) const;
  // Sets the database attributes of a span of this shard (db.collection.name, vjvector.shard).
  void DescribeSpan(Span& span, std::string_view operation) const;
  // Dimension, finiteness and names of a query vector; the vector index it targets.
  StatusOr<const VectorIndex*> QueryIndex(const QueryRequest& request) const;
  // A search of a sparse vector (request.sparse_vector set; shard_sparse.cc). Called with state_->mu
  // held shared.
  StatusOr<std::vector<PointView>> QuerySparse(const QueryRequest& request) const;
  // Scroll with order_by (shard_order_by.cc).
  StatusOr<ScrollResult> ScrollOrdered(const ScrollRequest& request) const;
  PointView View(uint32_t internal, const PayloadSelector& with_payload,
                 const VectorSelector& with_vector) const;

  // Fields that never change after Open.
  const std::string name_;
  const std::string dir_;
  const CollectionOptions options_;
  double load_seconds_ = 0;
  bool loaded_from_snapshot_ = false;
  uint64_t replayed_log_entries_ = 0;

  // Serializes index snapshots with each other and with ResetSequence, which removes the snapshot: one
  // that began before the reset must not be swapped in after it.
  std::mutex snapshot_mu_;
  std::atomic<uint64_t> snapshot_sequence_{0};

  std::unique_ptr<ShardState> state_;
  // The index settings last asked for by UpdateIndexConfig (to ask once per change), and rebuilds queued
  // and not yet done.
  std::mutex index_config_mu_;
  std::optional<CollectionConfig> index_config_asked_;  // guarded by index_config_mu_
  std::atomic<int> index_rebuilds_pending_{0};
  std::unique_ptr<IndexCompactor> compactor_;  // outlives writer_, which pokes it
  std::unique_ptr<IndexSnapshotter> snapshotter_;  // outlives writer_, which counts mutations to it
  std::unique_ptr<ShardWriter> writer_;
};

}  // namespace vj

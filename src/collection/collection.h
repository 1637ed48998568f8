// Collection: a named set of points, split into `shard_number` shards by a consistent hash of the point
// id (collection/hash_ring.h). It routes writes to the shards that own the points, fans reads out to
// every shard at once (collection/fan_out.h) and merges the results (top-k by score for queries, id
// order for scroll, sums for counts), and owns the collection's config file.
//
// Thread-safety: all public methods are safe to call concurrently (shards synchronize themselves; the
// config is guarded by mu_).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collection/aggregations.h"
#include "collection/collection_config.h"
#include "collection/requests.h"
#include "collection/shard.h"
#include "collection/shard_access.h"
#include "core/status.h"

namespace vj {

class HashRing;

class Collection {
 public:
  // Opens (or creates) the collection stored in `dir`: its shards live in dir/shards/<n>. `config` is
  // its config; the collection rewrites dir/config.json whenever the config changes.
  [[nodiscard]] static StatusOr<std::unique_ptr<Collection>> Open(std::string name, std::string dir,
                                                                   CollectionConfig config,
                                                                   const CollectionOptions& options);
  // A change of the config (a payload index, a PATCH, strict mode): the config it applies to in, the
  // changed one out (or the change's refusal).
  using ConfigChange = std::function<StatusOr<CollectionConfig>(CollectionConfig)>;
  // Persists a change and returns the config now stored. A standalone collection applies it to its own
  // config (`local`) and writes config.json; a cluster applies it to the config stored in etcd with a
  // compare-and-swap, so changes made at once through different nodes all survive even when a node's
  // `local` view lags behind the store.
  using ConfigSink = std::function<StatusOr<CollectionConfig>(const CollectionConfig& local, const ConfigChange& change)>;
  // A sink that keeps changes in memory only (a peer's one-shard view of a collection).
  static ConfigSink InMemoryConfig();
  // Builds a collection over shards that live elsewhere (cluster mode: routed shards). `save_config`
  // persists the config whenever it changes.
  [[nodiscard]] static std::unique_ptr<Collection> Assemble(
      std::string name, CollectionConfig config, std::vector<std::shared_ptr<ShardAccess>> shards,
      ConfigSink save_config);
  ~Collection();

  const std::string& name() const { return name_; }
  CollectionConfig config() const;
  CollectionInfo Info() const;
  // Points of each shard, in shard order (a shard that cannot be reached counts 0).
  std::vector<uint64_t> ShardPointCounts() const;
  // Sum of the shards' last durable sequence numbers: grows with every write (Qdrant's operation_id).
  uint64_t last_sequence() const;
  double load_seconds() const { return load_seconds_; }
  // Point records its shards quarantined because they did not decode (storage/point_store.h); set at
  // Open, 0 for an assembled (cluster) collection.
  uint64_t quarantined_records() const { return quarantined_records_; }

  // Writes: see Shard. With several shards a write is durable on every shard it touches when it returns
  // with wait=true; InvalidArgument leaves nothing changed. `context` is the request's (ShardAccess): it
  // goes to every shard the write touches, on the shard pool's threads too, and is read only during
  // the call.
  [[nodiscard]] Status Upsert(std::vector<PointInput> points, bool wait, const RequestContext& context);
  [[nodiscard]] Status Delete(const PointSelector& selector, bool wait, const RequestContext& context);
  [[nodiscard]] Status UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                     std::vector<std::string> keys, std::optional<std::string> key,
                                     bool wait, const RequestContext& context);
  // Vector edits (Shard::UpdateVectors / DeleteVectors). Every point is validated, and every explicit
  // id must exist, before any shard changes.
  [[nodiscard]] Status UpdateVectors(std::vector<PointInput> points, bool wait, const RequestContext& context);
  [[nodiscard]] Status DeleteVectors(const PointSelector& selector, std::vector<std::string> names, bool wait,
                                     const RequestContext& context);
  [[nodiscard]] Status CreatePayloadIndex(const std::string& key, const PayloadFieldSchema& type, bool wait);
  [[nodiscard]] Status DeletePayloadIndex(const std::string& key, bool wait);
  // Merges `update` into the stored strict_mode_config (MergeStrictModeConfig) and persists it
  // (config.json, or etcd in cluster mode), under the config's lock, so that concurrent updates never
  // lose one another; on a failed save nothing changes.
  [[nodiscard]] Status UpdateStrictMode(const StrictModeConfig& update);
  // Applies a PATCH body's index settings (ApplyCollectionUpdate: hnsw_config, quantization_config, per
  // vector too), persists the config and asks every shard to rebuild its indexes (in the background).
  // InvalidArgument naming a setting that cannot change; on a failed save nothing changes.
  [[nodiscard]] Status UpdateIndexSettings(const boost::json::object& body);
  // The strict_mode_config alone (no copy of the rest of the config; asked by every request).
  StrictModeConfig strict_mode() const;

  // Reads, merged over the shards. Each shard checks the request's deadline before it starts and as
  // it scans; the first timeout is the answer.
  [[nodiscard]] StatusOr<std::vector<PointView>> Retrieve(const std::vector<PointId>& ids,
                                                          const PayloadSelector& with_payload,
                                                          const VectorSelector& with_vector) const;
  [[nodiscard]] StatusOr<ScrollResult> Scroll(const ScrollRequest& request) const;
  [[nodiscard]] StatusOr<uint64_t> Count(const std::optional<Filter>& filter, bool exact,
                                         const Deadline& deadline = Deadline()) const;
  [[nodiscard]] StatusOr<std::vector<PointView>> Query(const QueryRequest& request) const;

  // Aggregating reads (collection/aggregations.h), exact over all shards.
  // Groups: queries for group_size * limit candidates, then twice as many each round until the groups
  // fill, the candidates run out or max_candidates is reached (collection_groups.cc).
  [[nodiscard]] StatusOr<std::vector<PointGroup>> QueryGroups(const GroupRequest& request) const;
  // Facet counts from every matching point's payload, shards scanned in parallel (collection_facet.cc).
  [[nodiscard]] StatusOr<std::vector<FacetHit>> Facet(const FacetRequest& request) const;
  // Samples ids of matching points, then computes the sample's pairwise scores (collection_matrix.cc).
  [[nodiscard]] StatusOr<MatrixResult> SearchMatrix(const MatrixRequest& request) const;

  void WaitForQueuedWrites();
  [[nodiscard]] Status Flush();
  // Copies each shard into dir/shards/<n> (its point store into store/, its index snapshot into index/:
  // Shard::Checkpoint) while writes go on; returns each shard's sequence, in shard order. `dir` must exist; Unimplemented for shards stored
  // on other nodes.
  [[nodiscard]] StatusOr<std::vector<uint64_t>> Checkpoint(const std::string& dir) const;

 private:
  Collection(std::string name, ConfigSink save_config);
  // Scroll with order_by: each shard's first page, merged (collection_order_by.cc).
  StatusOr<ScrollResult> ScrollOrdered(const ScrollRequest& request) const;
  // Pages through every shard's points matching request.filter (in parallel, request.limit per page),
  // calling fn with each page; fn runs concurrently for different shards, never for one shard.
  Status ScanShards(const ScrollRequest& request,
                    const std::function<Status(size_t shard, std::vector<PointView>&& page)>& fn) const;
  // Groups ids by the shard that owns them.
  std::vector<std::vector<PointId>> SplitIds(const std::vector<PointId>& ids) const;
  // NotFound naming the first id of parts[i] that shard i does not hold.
  Status CheckAllExist(const std::vector<std::vector<PointId>>& parts) const;

  // Fields that never change after Open.
  const std::string name_;
  const ConfigSink save_config_;
  std::vector<std::shared_ptr<ShardAccess>> shards_;
  std::unique_ptr<HashRing> ring_;
  double load_seconds_ = 0;
  uint64_t quarantined_records_ = 0;

  mutable std::mutex mu_;
  CollectionConfig config_;  // guarded by mu_
};

}  // namespace vj

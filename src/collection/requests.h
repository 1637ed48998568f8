// The request and result types of collection and shard operations (plain values).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collection/collection_config.h"
#include "core/deadline.h"
#include "core/payload.h"
#include "core/point_id.h"
#include "index/filter.h"
#include "storage/point_record.h"

namespace vj {

class RebuildSlots;  // collection/rebuild_slots.h

struct PointInput {
  PointId id;
  // Configured names only. A collection with one unnamed vector needs it; with named vectors a point
  // may hold any subset of them (Qdrant's meaning: searches over a vector the point lacks skip it).
  NamedVectors vectors;
  Payload payload;
  // Configured sparse vector names only; any subset. Canonicalized (sorted) by the shard.
  NamedSparseVectors sparse;
};

struct PayloadSelector {
  enum class Mode { kNone, kAll, kInclude, kExclude };
  Mode mode = Mode::kNone;
  std::vector<std::string> keys;  // top-level or dotted keys for kInclude/kExclude
};

struct VectorSelector {
  bool all = false;
  std::vector<std::string> names;  // when !all; empty = no vectors
  bool any() const { return all || !names.empty(); }
};

// A point as returned to users: selected payload and vectors, and a score for search results.
struct PointView {
  PointId id;
  std::optional<Payload> payload;
  NamedVectors vectors;  // vectors as stored (Cosine vectors normalized, as Qdrant returns them)
  std::optional<float> score;
  // The order_by key's value this point was listed under (scroll with order_by only).
  std::optional<double> order_value;
  NamedSparseVectors sparse;  // sparse vectors as stored (indices sorted)
};

// Which points a write addresses: explicit ids, or every point matching a filter.
struct PointSelector {
  std::vector<PointId> ids;
  std::optional<Filter> filter;
};

enum class PayloadUpdate { kSet, kOverwrite, kDeleteKeys, kClear };

// The queries that score each point against a set of examples instead of searching with one vector:
// recommend best_score and sum_scores (average_vector is a plain nearest search), discover and context,
// as Qdrant defines them (docs/api.md, "Query API"). A shard scores its matching points exactly; scores
// are higher-is-better whatever the metric.
struct ExampleScoring {
  enum class Strategy { kBestScore, kSumScores, kDiscover, kContext };
  Strategy strategy = Strategy::kBestScore;
  // Raw vectors (normalized inside for Cosine). For kDiscover and kContext, positive[i] and negative[i]
  // are the i-th context pair (the two lists have one length).
  std::vector<std::vector<float>> positive;
  std::vector<std::vector<float>> negative;
  std::vector<float> target;  // kDiscover only
};

struct QueryRequest {
  std::vector<float> vector;  // unused when `examples` or `sparse_vector` is set
  // Set: a search of the sparse vector named using_vector by this query (scores are dot products,
  // higher is better; only points sharing an index with the query are found).
  std::optional<SparseVector> sparse_vector;
  // Set: rank by the score over the examples (an exact scan) instead of by distance to `vector`.
  std::optional<ExampleScoring> examples;
  std::string using_vector;  // vector name; "" = the unnamed vector
  std::optional<Filter> filter;
  size_t limit = 10;
  size_t offset = 0;
  std::optional<float> score_threshold;
  size_t hnsw_ef = 0;  // 0 = default
  bool exact = false;
  // params.quantization: search on quantized codes unless ignored, re-rank the best
  // limit * oversampling candidates with float vectors when rescore. The default oversampling is 2 (Qdrant
  // uses 1): re-ranking twice the limit costs a few float distances and recovers most of the recall that
  // lossy codes give away.
  bool ignore_quantization = false;
  bool rescore = true;
  float oversampling = 2.0f;
  PayloadSelector with_payload;
  VectorSelector with_vector;
  // The work stops with Qdrant's timeout error once this passes (checked per shard, and every few
  // hundred points inside filtered scans and walks). Sent to peers as what is left of it (?timeout).
  Deadline deadline;
};

// Qdrant's order_by of scroll: points in the order of a payload key's values (its payload index must
// be integer, float or datetime: date-times order as microseconds since the epoch), ties broken by id
// ascending; a point with several values is listed once per value. start_from is inclusive (>=
// ascending, <= descending).
struct OrderBy {
  std::string key;
  bool descending = false;
  std::optional<double> start_from;
};

struct ScrollRequest {
  std::optional<PointId> offset;  // first id to return (inclusive); not with order_by
  size_t limit = 10;
  std::optional<Filter> filter;
  PayloadSelector with_payload{PayloadSelector::Mode::kAll, {}};
  VectorSelector with_vector;
  std::optional<OrderBy> order_by;  // then offset is unset and next_page_offset stays empty
  Deadline deadline;  // as QueryRequest::deadline
};

struct ScrollResult {
  std::vector<PointView> points;
  std::optional<PointId> next_page_offset;
};

struct CollectionInfo {
  uint64_t points_count = 0;
  uint64_t indexed_vectors_count = 0;
  std::string status = "green";  // "green" when loaded and indexed
  CollectionConfig config;
  std::map<std::string, uint64_t> payload_index_points;  // key -> indexed points
  uint64_t last_sequence = 0;
  // Graph nodes of replaced or deleted points not yet compacted away, over all vectors.
  uint64_t tombstones = 0;
};

struct CollectionOptions {
  size_t max_batch_mutations = 4096;  // group commit: mutations per PointStore write
  size_t build_threads = 2;           // threads for index (re)build at load
  // The write queue of each shard (collection/write_queue.h) and write deadlines; docs/operations.md
  // "Write queue, write deadline and index compaction" says what a client sees at each limit.
  size_t write_queue_max_mutations = 16384;
  size_t write_queue_max_bytes = size_t{64} << 20;
  uint64_t write_queue_full_wait_ms = 500;  // a wait=false write waits this long for room, then 503
  uint64_t write_timeout_ms = 30000;        // a wait=true write answers 504 after this; 0 = no deadline
  size_t compaction_threads = 1;            // threads of a shard's background index rebuild
  // Shared by every shard of the node: background rebuilds running at once (null: no cap).
  std::shared_ptr<RebuildSlots> rebuild_slots;
  // A shard refuses writes (DiskFullError, 507) while its disk has less free (PointStoreOptions).
  uint64_t min_free_disk_bytes = 64ull << 20;
  // Background index snapshots (collection/index_snapshotter.h): after this many mutations, or this
  // many seconds after the last one when anything changed; 0 turns a trigger off. A restart, after
  // kill -9 too, replays the mutations since the newest snapshot instead of rebuilding the indexes.
  uint64_t index_snapshot_every_mutations = 50000;
  uint64_t index_snapshot_interval_s = 300;
  // Whether closing the shard writes a snapshot (tests turn it off to stand for a crash).
  bool index_snapshot_on_close = true;
};

// InvalidArgument naming the point and vector unless every vector of `point` is configured, of the
// configured dimension and finite, and, in a collection with one unnamed vector, that vector is there;
// every sparse vector configured and valid (core/sparse_vector.h, at most kMaxSparseNnzHardLimit).
Status ValidatePointVectors(const CollectionConfig& config, const PointInput& point);
// The same checks for update_vectors, which replaces only the vectors it names: any configured subset,
// at least one.
Status ValidateVectorUpdate(const CollectionConfig& config, const PointInput& point);
// InvalidArgument naming `where` unless `names` is non-empty and every name is a configured vector
// ("" is the unnamed one).
Status ValidateVectorNames(const CollectionConfig& config, const std::vector<std::string>& names,
                           const std::string& where);

}  // namespace vj

// Collection: one named set of points with its vectors, payloads and indexes; in this release one
// collection is one shard: a PointStore (RocksDB), a VectorIndex per named vector, payload indexes and
// the query planner.
//
// Writes are validated synchronously, then queued to the collection's single writer thread, which
// groups queued requests into one durable PointStore batch (group commit), then applies them to the
// in-memory indexes in sequence order. With wait=true a write returns after it is durable and visible;
// with wait=false once it is validated and queued.
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
#include "core/payload.h"
#include "core/point_id.h"
#include "core/status.h"
#include "index/filter.h"
#include "index/payload_index.h"
#include "index/vector_index.h"
#include "storage/point_store.h"

namespace vj {

struct ShardState;
class CollectionWriter;
struct WriteRequest;

struct PointInput {
  PointId id;
  NamedVectors vectors;  // must hold every configured vector name
  Payload payload;
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
};

// Which points a write addresses: explicit ids, or every point matching a filter.
struct PointSelector {
  std::vector<PointId> ids;
  std::optional<Filter> filter;
};

enum class PayloadUpdate { kSet, kOverwrite, kDeleteKeys, kClear };

struct QueryRequest {
  std::vector<float> vector;
  std::string using_vector;  // vector name; "" = the unnamed vector
  std::optional<Filter> filter;
  size_t limit = 10;
  size_t offset = 0;
  std::optional<float> score_threshold;
  size_t hnsw_ef = 0;  // 0 = default
  bool exact = false;
  PayloadSelector with_payload;
  VectorSelector with_vector;
};

struct ScrollRequest {
  std::optional<PointId> offset;  // first id to return (inclusive)
  size_t limit = 10;
  std::optional<Filter> filter;
  PayloadSelector with_payload{PayloadSelector::Mode::kAll, {}};
  VectorSelector with_vector;
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
};

struct CollectionOptions {
  size_t max_batch_mutations = 4096;  // group commit: mutations per PointStore write
  size_t build_threads = 2;           // threads for index (re)build at load
};

class Collection {
 public:
  // Opens the collection stored in `dir` (creating storage if new) and loads its points into the
  // indexes. `config` is its config; the collection persists it (config.json in dir) whenever it
  // changes. Errors: IOError/DataLoss from storage.
  [[nodiscard]] static StatusOr<std::unique_ptr<Collection>> Open(std::string name, std::string dir,
                                                                   CollectionConfig config,
                                                                   const CollectionOptions& options);
  ~Collection();  // stops the writer after draining queued writes

  const std::string& name() const { return name_; }
  CollectionConfig config() const;
  CollectionInfo Info() const;

  // Writes. InvalidArgument (naming the point and field) leaves nothing changed.
  [[nodiscard]] Status Upsert(std::vector<PointInput> points, bool wait);
  [[nodiscard]] Status Delete(const PointSelector& selector, bool wait);
  // kSet merges `payload` into each point's payload (at `key` path's object when key is set); kOverwrite
  // replaces it; kDeleteKeys removes `keys`; kClear empties it.
  [[nodiscard]] Status UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                     std::vector<std::string> keys, std::optional<std::string> key,
                                     bool wait);

  // Payload indexes. InvalidArgument for a malformed key; NotFound when deleting an absent index.
  [[nodiscard]] Status CreatePayloadIndex(const std::string& key, PayloadSchemaType type, bool wait);
  [[nodiscard]] Status DeletePayloadIndex(const std::string& key, bool wait);

  // Reads.
  [[nodiscard]] StatusOr<std::vector<PointView>> Retrieve(const std::vector<PointId>& ids,
                                                          const PayloadSelector& with_payload,
                                                          const VectorSelector& with_vector) const;
  [[nodiscard]] StatusOr<ScrollResult> Scroll(const ScrollRequest& request) const;
  [[nodiscard]] StatusOr<uint64_t> Count(const std::optional<Filter>& filter, bool exact) const;
  [[nodiscard]] StatusOr<std::vector<PointView>> Query(const QueryRequest& request) const;

  // Blocks until every write queued so far is durable and applied.
  void WaitForQueuedWrites();
  // Flushes storage; the destructor calls it too.
  [[nodiscard]] Status Flush();

  // Time the last Open spent loading points and building indexes, in seconds.
  double load_seconds() const { return load_seconds_; }

 private:
  Collection(std::string name, std::string dir, CollectionOptions options);
  Status Load();
  // Queues a write and, when `wait`, blocks until it is durable and applied.
  Status Submit(std::unique_ptr<WriteRequest> request, bool wait);
  // Dimension, finiteness and names of a query vector; the vector index it targets.
  StatusOr<const VectorIndex*> QueryIndex(const QueryRequest& request) const;
  PointView View(uint32_t internal, const PayloadSelector& with_payload,
                 const VectorSelector& with_vector) const;

  // Fields that never change after Open.
  const std::string name_;
  const std::string dir_;
  const CollectionOptions options_;
  double load_seconds_ = 0;

  std::unique_ptr<ShardState> state_;
  std::unique_ptr<CollectionWriter> writer_;
};

}  // namespace vj

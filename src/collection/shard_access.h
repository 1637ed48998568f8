// ShardAccess: the operations a Collection needs of one of its shards, wherever that shard lives. A
// Shard (collection/shard.h) serves them from local storage; in cluster mode a routed shard
// (cluster/routed_shard.h) sends writes to the shard's primary and reads to one of its replicas, which
// may be on other nodes. Semantics of each method are Shard's.
// Point writes take the request's context (core/request_context.h), by const reference and only for the
// call: its deadline is when the write must have taken its place in the shard's write order (after it
// the write is refused, not applied: IsWriteNotApplied), and bounds the wait for a primary elsewhere;
// its request id and trace context go with the write to the node that applies it, and name it in logs.
// Thread-safety: implementations are safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collection/requests.h"
#include "core/request_context.h"
#include "core/status.h"

namespace vj {

class ShardAccess {
 public:
  virtual ~ShardAccess() = default;

  virtual CollectionInfo Info() const = 0;
  virtual uint64_t last_sequence() const = 0;

  [[nodiscard]] virtual Status Upsert(std::vector<PointInput> points, bool wait, const RequestContext& context) = 0;
  [[nodiscard]] virtual Status Delete(const PointSelector& selector, bool wait, const RequestContext& context) = 0;
  [[nodiscard]] virtual Status UpdatePayload(PayloadUpdate op, const PointSelector& selector,
                                             Payload payload, std::vector<std::string> keys,
                                             std::optional<std::string> key, bool wait,
                                             const RequestContext& context) = 0;
  [[nodiscard]] virtual Status UpdateVectors(std::vector<PointInput> points, bool wait,
                                             const RequestContext& context) = 0;
  [[nodiscard]] virtual Status DeleteVectors(const PointSelector& selector, std::vector<std::string> names,
                                             bool wait, const RequestContext& context) = 0;
  // Rebuilds the vector indexes with `config`'s HNSW and quantization settings when they differ from the
  // ones in use, in the background (Shard::UpdateIndexConfig).
  [[nodiscard]] virtual Status UpdateIndexConfig(const CollectionConfig& config) = 0;
  [[nodiscard]] virtual Status CreatePayloadIndex(const std::string& key, const PayloadFieldSchema& type,
                                                  bool wait) = 0;
  [[nodiscard]] virtual Status DeletePayloadIndex(const std::string& key, bool wait) = 0;

  [[nodiscard]] virtual StatusOr<std::vector<PointView>> Retrieve(
      const std::vector<PointId>& ids, const PayloadSelector& with_payload,
      const VectorSelector& with_vector) const = 0;
  [[nodiscard]] virtual StatusOr<ScrollResult> Scroll(const ScrollRequest& request) const = 0;
  [[nodiscard]] virtual StatusOr<uint64_t> Count(const std::optional<Filter>& filter, bool exact,
                                                 const Deadline& deadline) const = 0;
  [[nodiscard]] virtual StatusOr<std::vector<PointView>> Query(const QueryRequest& request) const = 0;

  virtual void WaitForQueuedWrites() = 0;
  [[nodiscard]] virtual Status Flush() = 0;

  // Writes a consistent copy of the shard into `shard_dir` (which exists): its point store into
  // shard_dir/store (must not exist) while writes go on, setting *sequence to the last write it holds
  // (PointStore::Checkpoint), and, where it has them, its index snapshot files into shard_dir/index,
  // taken at or before *sequence (a shard that opens the copy loads them and replays the log after
  // them). Unimplemented for a shard that is not stored here.
  [[nodiscard]] virtual Status Checkpoint(const std::string& shard_dir, uint64_t* sequence) {
    (void)shard_dir;
    (void)sequence;
    return absl::UnimplementedError("snapshots of shards stored on other nodes are not supported yet");
  }
};

}  // namespace vj

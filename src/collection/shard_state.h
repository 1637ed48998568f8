// ShardState: the in-memory side of one shard (internal to collection/): the id map, payloads, vector
// indexes and payload indexes, kept in step with the shard's PointStore by the collection's writer.
//
// Internal ids are dense uint32 offsets. A point whose vectors change gets a fresh internal id and the
// old one becomes a tombstone in the vector indexes, so a concurrent search never sees a half-updated
// vector. Thread-safety: readers hold `mu` shared; the writer holds it exclusively while it changes the
// maps, and inserts into the (internally synchronized) vector indexes before that, without it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <roaring/roaring.hh>

#include "collection/collection_config.h"
#include "collection/requests.h"
#include "core/deadline.h"
#include "core/payload.h"
#include "core/point_id.h"
#include "index/filter.h"
#include "index/payload_index.h"
#include "index/sparse_index.h"
#include "index/vector_index.h"
#include "storage/point_store.h"

namespace vj {

struct ShardState {
  mutable std::shared_mutex mu;
  CollectionConfig config;
  std::unique_ptr<PointStore> store;

  std::map<PointId, uint32_t> internal_of;  // ordered for scroll
  std::vector<PointId> external_of;          // by internal id
  std::vector<Payload> payloads;             // by internal id; cleared when the id dies
  roaring::Roaring live;                     // internal ids of current points
  uint32_t next_internal = 0;                // written by the writer only, without mu (phase 1)
  // The store sequence of the last mutation applied to the maps above (written under mu exclusively,
  // with them), so that a copy taken under mu knows which log entries it covers.
  uint64_t applied_sequence = 0;
  std::map<std::string, std::unique_ptr<VectorIndex>> vector_indexes;    // by vector name
  std::map<std::string, std::unique_ptr<PayloadIndex>> payload_indexes;  // by key
  // By sparse vector name. Internally synchronized like the vector indexes, and kept in step with them
  // by the same phases (shard_apply.h). Never snapshotted: Open rebuilds them from the store.
  std::map<std::string, std::unique_ptr<SparseIndex>> sparse_indexes;

  // The index parameters of one vector: its HNSW config and quantization.
  HnswParams IndexParamsFor(const std::string& vector_name) const;
  // Creates an empty index for every configured vector, and an empty sparse index for every configured
  // sparse vector.
  void CreateVectorIndexes();
  void CreateSparseIndexes();
  // Drops every point from the in-memory state (before a rebuild).
  void Clear();
  // Builds a payload index over every live point; InvalidArgument for a bad key.
  Status BuildPayloadIndex(const std::string& key, const PayloadFieldSchema& schema);

  // The ids of the points matching filter, exactly (payload indexes answer what they can; the rest is
  // evaluated on payloads). Requires mu held (shared is enough). With a ticker, stops early once it
  // expires (the caller checks ticker->expired() and discards the partial answer).
  roaring::Roaring MatchingIds(const Filter& filter, DeadlineTicker* ticker = nullptr) const;
  // A superset of MatchingIds from payload indexes alone (all live ids when none applies).
  roaring::Roaring CandidateIds(const Filter& filter) const;
};

// Evaluates one filter on points of a shard. What the filter needs beyond payloads (the vectors a point
// holds for has_vector, full-text indexes for text conditions) is worked out once, at construction, so
// that the per-point call walks the filter once and allocates nothing. A has_vector condition asks the
// vector indexes whether they hold the point (a point may lack a named vector: delete_vectors, or an
// upsert that left it out); a text condition on a key with a full-text index is answered from its
// posting lists, as the index answers it.
// Thread-safety: one thread (it keeps per-point scratch). The state and the filter must outlive it, with
// the state's mu held (shared is enough) while it is used.
class FilterMatcher {
 public:
  FilterMatcher(const ShardState& state, const Filter& filter);
  FilterMatcher(const FilterMatcher&) = delete;  // the match context points into this object
  FilterMatcher& operator=(const FilterMatcher&) = delete;

  // True when the point with this internal id satisfies the filter.
  bool operator()(uint32_t internal) const;

 private:
  const ShardState& state_;
  const Filter& filter_;
  const FilterNeeds needs_;
  MatchContext context_;
  mutable uint32_t internal_ = 0;  // the point being evaluated, for context_.indexed_text
  mutable VectorNames held_;       // the vectors it holds, when needs_.vectors
};

// The ids of the points a selector addresses, read under s.mu (taken here): a filter's matches, or the
// selector's ids (NotFound naming the first that is not stored when `require_existing`).
StatusOr<std::vector<PointId>> SelectedIds(const ShardState& s, const PointSelector& selector,
                                           bool require_existing);

}  // namespace vj

// RequestLimits: the most work one request may ask of a node. The API refuses a request over a limit
// with 400 and Qdrant's error envelope, naming the field, the value and the limit, before any work or
// any write; the deadline (core/deadline.h) bounds the work of what is accepted. Filled from
// ServerConfig (YAML `limits: {...}`, VJVECTOR_LIMITS_*); docs/operations.md lists every limit.
//
// Defaults protect a node while leaving room for what real Qdrant clients send: LangChain and
// LlamaIndex upsert in batches of 64 to a few thousand points and search in batches of tens to ~100;
// filters built by applications hold a handful of conditions and match lists of up to thousands of ids
// (tenants, documents). Each default is one or two orders of magnitude above that, and far below what
// the attacks that motivated them sent (1M-value any lists, 50k-condition should clauses, 1,000-query
// batches, 1,024 shards).
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace vj {

// Bytes of a `match.text` string. Fixed, not a setting: a substring is searched in linear time
// (memmem), so the bound is on the request, and no real query needs more.
inline constexpr size_t kMaxMatchTextBytes = 4096;

struct FilterLimits {
  // Values in one match.any / match.except list. Evaluated with a hash set, so the bound is on the
  // request's memory and parse time, not on per-point cost.
  size_t max_match_values = 10000;
  // Ids in one has_id condition.
  size_t max_has_id = 10000;
  // Conditions in one must / should / must_not / min_should.conditions list.
  size_t max_clause_conditions = 1000;
  // Conditions in the whole filter, nested filters included (a nested filter counts as one, and so do
  // its own conditions). Unindexed conditions are evaluated per point, so this bounds the per-point cost.
  size_t max_conditions = 5000;
  // Nesting depth of filters inside conditions (the top filter is depth 1).
  size_t max_depth = 32;
  bool operator==(const FilterLimits&) const = default;
};

struct RequestLimits {
  FilterLimits filter;
  // Queries in one /points/search/batch or /points/query/batch request, and operations in one
  // /points/batch request.
  size_t max_batch_queries = 256;
  // Points (or ids) in one upsert, delete, retrieve or set-payload request.
  size_t max_points_per_request = 10000;
  // `limit` of search, query and scroll, and `offset` of search and query (offset + limit points are
  // ranked per shard).
  size_t max_limit = 10000;
  size_t max_offset = 10000;
  // The Query API's plan (/points/query): levels of nested prefetch (a prefetch of the request is level
  // 1), prefetches in the whole request, and candidate points the prefetches may hand up (the sum of
  // every prefetch's limit and of every mmr candidates_limit). Candidates are re-scored through a has_id
  // filter, so the last is kept at or below filter_has_id. Examples in one recommend query (each is
  // scored against every point a best_score or sum_scores recommend scans).
  size_t max_prefetch_depth = 8;
  size_t max_prefetches = 64;
  size_t max_query_candidates = 10000;
  size_t max_recommend_examples = 256;
  // Keys in a with_payload include/exclude list.
  size_t max_payload_keys = 256;
  // Non-zero entries of one sparse vector in a point or a query (SPLADE-like models give tens to a few
  // hundred, BM25 over a long document a few thousand). At most kMaxSparseNnzHardLimit, which stored
  // records are checked against.
  size_t max_sparse_nnz = 16384;
  // At collection create: every shard is a RocksDB instance with its own files and writer thread.
  uint32_t max_shard_number = 64;
  uint32_t max_replication_factor = 8;
  // Collections this node serves (create refuses the next one).
  size_t max_collections = 1000;
  // Qdrant's `timeout` query parameter (seconds) on search/query/scroll/count and their batches:
  // the default when absent, and the most a client may ask for (larger values are lowered to it).
  double default_timeout_s = 30;
  double max_timeout_s = 300;
  bool operator==(const RequestLimits&) const = default;
};

// InvalidArgument "<where>: <count> <what> is over the limit of <limit> (setting limits.<setting>)":
// the one message for every request limit.
inline Status OverLimit(const std::string& where, size_t count, const std::string& what, size_t limit,
                        const std::string& setting) {
  return absl::InvalidArgumentError(where + ": " + std::to_string(count) + " " + what +
                                    " is over the limit of " + std::to_string(limit) +
                                    " (setting limits." + setting + ")");
}

}  // namespace vj

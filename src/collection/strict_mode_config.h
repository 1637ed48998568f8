// StrictModeConfig: Qdrant's per-collection `strict_mode_config`, the limits a collection's owner puts on
// what requests to it may ask. Stored with the collection's config (config.json; in cluster mode the
// collection's etcd key), returned by GET /collections/{name} under config.strict_mode_config, set at
// create and changed with PATCH /collections/{name}. Every field is optional; nothing is enforced unless
// `enabled` is true (as in Qdrant). api/strict_mode.h enforces the fields VJVector supports; the others
// are kept and returned so that a Qdrant client's config survives a round trip (docs/api.md lists which).
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <optional>

#include <boost/json.hpp>

#include "core/status.h"

namespace vj {

struct StrictModeConfig {
  std::optional<bool> enabled;
  std::optional<uint64_t> max_query_limit;   // `limit` of search, query, scroll (min 1)
  std::optional<uint64_t> max_timeout;       // `timeout` query parameter, seconds (min 1)
  std::optional<bool> unindexed_filtering_retrieve;  // false: read filters only on indexed keys
  std::optional<bool> unindexed_filtering_update;    // false: write filters only on indexed keys
  std::optional<uint64_t> search_max_hnsw_ef;
  std::optional<bool> search_allow_exact;
  std::optional<double> search_max_oversampling;
  std::optional<uint64_t> upsert_max_batchsize;
  std::optional<uint64_t> search_max_batchsize;
  std::optional<uint64_t> max_collection_vector_size_bytes;
  std::optional<uint64_t> read_rate_limit;   // reads a minute (min 1)
  std::optional<uint64_t> write_rate_limit;  // writes a minute (min 1)
  std::optional<uint64_t> max_collection_payload_size_bytes;
  std::optional<uint64_t> max_points_count;  // (min 1)
  std::optional<uint64_t> filter_max_conditions;
  std::optional<uint64_t> condition_max_size;
  std::optional<uint64_t> max_payload_index_count;
  std::optional<uint64_t> max_resident_memory_percent;  // 1 to 100 (deprecated in Qdrant)

  bool is_enabled() const { return enabled.value_or(false); }
  bool operator==(const StrictModeConfig&) const = default;
};

// Reads Qdrant's strict_mode_config object. InvalidArgument naming the field (`where` + "." + field) for
// an unknown field, a wrong type or a value out of range; null fields are absent.
StatusOr<StrictModeConfig> ParseStrictModeConfig(const boost::json::value& v, const std::string& where);
// The set fields only (what ParseStrictModeConfig reads back).
boost::json::object StrictModeConfigToJson(const StrictModeConfig& config);
// PATCH semantics (Qdrant's config diff): each field set in `update` replaces the one in `base`; fields
// not set in `update` keep their value.
StrictModeConfig MergeStrictModeConfig(const StrictModeConfig& base, const StrictModeConfig& update);

}  // namespace vj

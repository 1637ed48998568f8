// CollectionConfig: what a collection is created with, in Qdrant's shapes. It is persisted as the JSON
// of Qdrant's create-collection body (ToJson), so ParseCollectionConfig reads both user requests and the
// stored file. Thread-safety: a plain value.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "collection/strict_mode_config.h"
#include "core/distance.h"
#include "core/status.h"
#include "index/payload_index.h"
#include "index/vector_index.h"

namespace vj {

// Qdrant's quantization_config: {"scalar": {"type": "int8", "quantile", "always_ram"}} or
// {"binary": {"always_ram"}}. VJVector extension: scalar "ranges": "auto" (default; written back only
// when not auto), "global" or "per_dimension" (index/vector_index.h Sq8Ranges).
struct QuantizationConfig {
  enum class Kind { kScalarInt8, kBinary };
  Kind kind = Kind::kScalarInt8;
  float quantile = 1.0f;  // 1.0 = the full value range (lossless for integer data in 0..255)
  Sq8Ranges ranges = Sq8Ranges::kAuto;
  bool always_ram = false;
};

struct VectorParams {
  size_t size = 0;
  Metric distance = Metric::kCosine;
  std::optional<HnswParams> hnsw;  // per-vector override of the collection's hnsw_config
  bool on_disk = false;
  std::optional<QuantizationConfig> quantization;  // per-vector override of the collection's
};

// Qdrant's sparse_vectors.<name>: {"index": {"on_disk", "full_scan_threshold", "datatype"}, "modifier"}.
// Sparse vectors are searched by dot product in an exact inverted index (index/sparse_index.h) held in
// memory whatever on_disk says (accepted and returned for compatibility).
struct SparseVectorParams {
  bool on_disk = false;
  // Qdrant's meaning: a filtered search whose filter admits fewer points than this scores them one by
  // one instead of walking the posting lists. Unset: kDefaultSparseFullScanThreshold.
  std::optional<size_t> full_scan_threshold;
  bool idf = false;  // modifier "idf" (query weights times the index's idf) or "none"
  friend bool operator==(const SparseVectorParams&, const SparseVectorParams&) = default;
};
inline constexpr size_t kDefaultSparseFullScanThreshold = 5000;

struct CollectionConfig {
  // Vector name -> params. The unnamed vector of `"vectors": {"size":..,"distance":..}` is "".
  std::map<std::string, VectorParams> vectors;
  // Sparse vector name -> params; names are distinct from `vectors`' names. A collection may have only
  // sparse vectors.
  std::map<std::string, SparseVectorParams> sparse_vectors;
  HnswParams hnsw;
  std::optional<QuantizationConfig> quantization;
  uint32_t shard_number = 1;
  uint32_t replication_factor = 1;
  uint32_t write_consistency_factor = 1;
  // Payload indexes, key -> schema; part of the config so they survive restarts.
  std::map<std::string, PayloadFieldSchema> payload_schema;
  // Qdrant's strict_mode_config (collection/strict_mode_config.h); all unset by default.
  StrictModeConfig strict_mode;

  bool has_unnamed_vector() const { return vectors.size() == 1 && vectors.begin()->first.empty(); }
  HnswParams EffectiveHnsw(const std::string& vector_name) const;
  std::optional<QuantizationConfig> EffectiveQuantization(const std::string& vector_name) const;
};

// Validates and reads a create-collection body. InvalidArgument naming the offending field; unknown
// fields are rejected too (a typo should not silently fall back to a default).
StatusOr<CollectionConfig> ParseCollectionConfig(const boost::json::value& body);
// The create body that ParseCollectionConfig reads back, plus payload_schema.
boost::json::object CollectionConfigToJson(const CollectionConfig& config);
// Qdrant's `config` object of GET /collections/{name} (params, hnsw_config, optimizer/wal stubs).
boost::json::object CollectionInfoConfigJson(const CollectionConfig& config);

// Applies the body of PATCH /collections/{name} (Qdrant's UpdateCollection) to `current`: hnsw_config
// and quantization_config (an object, or "Disabled"), collection-wide or per vector under
// vectors.<name>, with Qdrant's diff meaning (given fields replace, others stay). strict_mode_config is
// left to the caller. Any other setting (optimizers_config.*, params.*, vectors.<name>.on_disk,
// sparse_vectors, metadata) is refused with InvalidArgument naming it; null or empty objects are
// accepted as "nothing to change".
StatusOr<CollectionConfig> ApplyCollectionUpdate(const CollectionConfig& current, const boost::json::object& body);
// Whether two configs build the same vector indexes (the effective HNSW parameters and quantization of
// every vector).
bool SameIndexSettings(const CollectionConfig& a, const CollectionConfig& b);

// Writes config.json in `dir` atomically (temporary file, fsync, rename, fsync of the directory), and
// reads it back (DataLoss when unreadable).
Status SaveCollectionConfig(const std::string& dir, const CollectionConfig& config);
StatusOr<CollectionConfig> LoadCollectionConfig(const std::string& dir);

// Stored collection names: 1-255 characters of [A-Za-z0-9_.-] not starting with '.', or a tenant's
// namespaced name "<tenant>~<name>" (collection/collection_namespace.h) of at most 255 characters.
// InvalidArgument otherwise. Storage, aliases and the cluster check stored names.
Status ValidateCollectionName(std::string_view name);
// A name a client chooses (the Qdrant API): as above, but never with the tenant separator '~', so no
// client-chosen name collides with a tenant's namespaced name.
Status ValidateUserCollectionName(std::string_view name);

}  // namespace vj

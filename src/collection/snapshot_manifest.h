// SnapshotManifest: what a snapshot archive holds, as the archive's manifest.json says it. A collection
// snapshot records the collection's config and, per shard, the sequence number its store copy ends
// with; a full (node) snapshot lists the collection snapshots nested in it. The format carries a
// version: a reader refuses a version it does not know rather than guess.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/status.h"

namespace vj {

inline constexpr int kSnapshotFormatVersion = 1;
inline constexpr char kSnapshotManifestName[] = "manifest.json";

struct SnapshotManifest {
  enum class Kind { kCollection, kFull };
  struct ShardEntry {
    uint32_t shard = 0;
    uint64_t sequence = 0;  // the last write the shard's store copy holds
  };
  struct CollectionEntry {
    std::string name;
    std::string path;      // of its collection snapshot inside the full archive
    std::string checksum;  // sha256 hex of that nested archive
  };
  int format_version = kSnapshotFormatVersion;
  Kind kind = Kind::kCollection;
  std::string created_at;  // UTC, "YYYY-MM-DDTHH:MM:SS"
  // kCollection:
  std::string collection;
  boost::json::object config;  // CollectionConfigToJson of the collection's config
  std::vector<ShardEntry> shards;
  // kFull:
  std::vector<CollectionEntry> collections;
};

std::string EncodeSnapshotManifest(const SnapshotManifest& manifest);
// InvalidArgument naming the field for anything malformed, missing or of an unknown format_version.
// The config object is returned as stored; ParseCollectionConfig validates it.
StatusOr<SnapshotManifest> DecodeSnapshotManifest(std::string_view text);

}  // namespace vj

#include "collection/snapshot_manifest.h"

#include "collection/collection_config.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;
namespace {

Status Bad(const std::string& what) {
  return absl::InvalidArgumentError("snapshot manifest: " + what);
}

StatusOr<std::string> String(const json::object& obj, const char* key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) return Bad(where + key + ": expected a string");
  return std::string(v->get_string());
}

StatusOr<uint64_t> Unsigned(const json::object& obj, const char* key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (v != nullptr && v->is_uint64()) return v->get_uint64();
  if (v != nullptr && v->is_int64() && v->get_int64() >= 0) return static_cast<uint64_t>(v->get_int64());
  return Bad(where + key + ": expected a non-negative integer");
}

const json::array* Array(const json::object& obj, const char* key) {
  const json::value* v = obj.if_contains(key);
  return v == nullptr ? nullptr : v->if_array();
}

}  // namespace

std::string EncodeSnapshotManifest(const SnapshotManifest& m) {
  json::object out{{"format_version", m.format_version},
                   {"kind", m.kind == SnapshotManifest::Kind::kCollection ? "collection" : "full"},
                   {"created_at", m.created_at}};
  if (m.kind == SnapshotManifest::Kind::kCollection) {
    out["collection"] = m.collection;
    out["config"] = m.config;
    json::array shards;
    for (const auto& s : m.shards) shards.push_back(json::object{{"shard", s.shard}, {"sequence", s.sequence}});
    out["shards"] = std::move(shards);
  } else {
    json::array collections;
    for (const auto& c : m.collections) {
      collections.push_back(json::object{{"name", c.name}, {"path", c.path}, {"checksum", c.checksum}});
    }
    out["collections"] = std::move(collections);
  }
  return json::serialize(out);
}

StatusOr<SnapshotManifest> DecodeSnapshotManifest(std::string_view text) {
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return Bad("not JSON: " + StatusMessage(parsed.status()));
  const json::object* obj = parsed->if_object();
  if (obj == nullptr) return Bad("expected a JSON object");
  SnapshotManifest m;
  VJ_ASSIGN_OR_RETURN(uint64_t version, Unsigned(*obj, "format_version", ""));
  if (version != static_cast<uint64_t>(kSnapshotFormatVersion)) {
    return Bad("format_version " + std::to_string(version) + " is not supported (this node reads version " +
               std::to_string(kSnapshotFormatVersion) + ")");
  }
  VJ_ASSIGN_OR_RETURN(std::string kind, String(*obj, "kind", ""));
  VJ_ASSIGN_OR_RETURN(m.created_at, String(*obj, "created_at", ""));
  if (kind == "collection") {
    m.kind = SnapshotManifest::Kind::kCollection;
    VJ_ASSIGN_OR_RETURN(m.collection, String(*obj, "collection", ""));
    const json::value* config = obj->if_contains("config");
    if (config == nullptr || !config->is_object()) return Bad("config: expected an object");
    m.config = config->get_object();
    const json::array* shards = Array(*obj, "shards");
    if (shards == nullptr || shards->empty()) return Bad("shards: expected a non-empty array");
    for (size_t i = 0; i < shards->size(); ++i) {
      const std::string where = "shards[" + std::to_string(i) + "].";
      const json::object* s = (*shards)[i].if_object();
      if (s == nullptr) return Bad(where + ": expected an object");
      VJ_ASSIGN_OR_RETURN(uint64_t shard, Unsigned(*s, "shard", where));
      if (shard != i) return Bad(where + "shard: expected " + std::to_string(i) + ", got " + std::to_string(shard));
      VJ_ASSIGN_OR_RETURN(uint64_t sequence, Unsigned(*s, "sequence", where));
      m.shards.push_back({static_cast<uint32_t>(shard), sequence});
    }
  } else if (kind == "full") {
    m.kind = SnapshotManifest::Kind::kFull;
    const json::array* collections = Array(*obj, "collections");
    if (collections == nullptr) return Bad("collections: expected an array");
    for (size_t i = 0; i < collections->size(); ++i) {
      const std::string where = "collections[" + std::to_string(i) + "].";
      const json::object* c = (*collections)[i].if_object();
      if (c == nullptr) return Bad(where + ": expected an object");
      SnapshotManifest::CollectionEntry e;
      VJ_ASSIGN_OR_RETURN(e.name, String(*c, "name", where));
      VJ_ASSIGN_OR_RETURN(e.path, String(*c, "path", where));
      VJ_ASSIGN_OR_RETURN(e.checksum, String(*c, "checksum", where));
      m.collections.push_back(std::move(e));
    }
  } else {
    return Bad("kind: expected \"collection\" or \"full\", got \"" + kind.substr(0, 64) + "\"");
  }
  return m;
}

}  // namespace vj

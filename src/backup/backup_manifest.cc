#include "backup/backup_manifest.h"

#include <boost/json.hpp>

#include "collection/collection_config.h"
#include "collection/snapshot_archive.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;
namespace {

Status Bad(const std::string& what) { return absl::DataLossError("backup manifest: " + what); }

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

StatusOr<const json::array*> Array(const json::object& obj, const char* key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_array()) return Bad(where + key + ": expected an array");
  return &v->get_array();
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

json::array EncodeFiles(const std::vector<BackupFile>& files) {
  json::array out;
  for (const BackupFile& f : files) {
    json::array chunks;
    for (const std::string& c : f.chunks) chunks.push_back(json::string(c));
    out.push_back(json::object{{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}, {"chunks", std::move(chunks)}});
  }
  return out;
}

StatusOr<std::vector<BackupFile>> DecodeFiles(const json::object& obj, const char* key, const std::string& where,
                                              uint64_t chunk_bytes) {
  VJ_ASSIGN_OR_RETURN(const json::array* files, Array(obj, key, where));
  std::vector<BackupFile> out;
  for (size_t i = 0; i < files->size(); ++i) {
    const std::string at = where + key + "[" + std::to_string(i) + "].";
    const json::object* f = (*files)[i].if_object();
    if (f == nullptr) return Bad(at + ": expected an object");
    BackupFile file;
    VJ_ASSIGN_OR_RETURN(file.path, String(*f, "path", at));
    if (!IsSafeArchiveName(file.path)) return Bad(at + "path: \"" + file.path.substr(0, 128) + "\" is not a safe relative path");
    VJ_ASSIGN_OR_RETURN(file.size, Unsigned(*f, "size", at));
    VJ_ASSIGN_OR_RETURN(file.sha256, String(*f, "sha256", at));
    if (!IsSha256Hex(file.sha256)) return Bad(at + "sha256: expected 64 lower-case hex digits");
    VJ_ASSIGN_OR_RETURN(const json::array* chunks, Array(*f, "chunks", at));
    for (const json::value& c : *chunks) {
      if (!c.is_string() || !IsSha256Hex(c.get_string())) return Bad(at + "chunks: expected sha256 hex strings");
      file.chunks.emplace_back(c.get_string());
    }
    const uint64_t wanted = chunk_bytes == 0 ? 0 : (file.size + chunk_bytes - 1) / chunk_bytes;
    if (file.chunks.size() != wanted) {
      return Bad(at + "chunks: " + std::to_string(file.chunks.size()) + " listed, a file of " +
                 std::to_string(file.size) + " bytes has " + std::to_string(wanted));
    }
    out.push_back(std::move(file));
  }
  return out;
}

}  // namespace

uint64_t BackupManifest::Bytes() const {
  uint64_t total = 0;
  for (const auto& c : collections) {
    for (const auto& f : c.files) total += f.size;
  }
  for (const auto& f : node_files) total += f.size;
  return total;
}

uint64_t BackupManifest::Points() const {
  uint64_t total = 0;
  for (const auto& c : collections) {
    for (const auto& s : c.shards) total += s.points;
  }
  return total;
}

Status ValidateBackupId(std::string_view id) {
  if (id.empty() || id.size() > 64) return absl::InvalidArgumentError("backup: an id has 1 to 64 characters");
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
      return absl::InvalidArgumentError("backup: an id is made of letters, digits and '-', got \"" +
                                        std::string(id.substr(0, 64)) + "\"");
    }
  }
  return absl::OkStatus();
}

std::string BackupManifestKey(std::string_view id) { return std::string(kBackupsPrefix) + std::string(id) + ".json"; }
std::string BlobKey(std::string_view sha256) { return std::string(kBlobsPrefix) + std::string(sha256); }

std::string EncodeBackupManifest(const BackupManifest& m) {
  json::array collections;
  for (const BackupCollection& c : m.collections) {
    json::array shards;
    for (const BackupShard& s : c.shards) {
      shards.push_back(json::object{{"shard", s.shard}, {"sequence", s.sequence}, {"points", s.points}});
    }
    collections.push_back(json::object{{"name", c.name},
                                       {"encrypted", c.encrypted},
                                       {"shards", std::move(shards)},
                                       {"files", EncodeFiles(c.files)}});
  }
  json::object out{{"format_version", m.format_version},
                   {"id", m.id},
                   {"created_at", m.created_at},
                   {"chunk_bytes", m.chunk_bytes},
                   {"collections", std::move(collections)},
                   {"node_files", EncodeFiles(m.node_files)}};
  return json::serialize(out);
}

StatusOr<BackupManifest> DecodeBackupManifest(std::string_view text) {
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return Bad("not JSON: " + StatusMessage(parsed.status()));
  const json::object* obj = parsed->if_object();
  if (obj == nullptr) return Bad("expected a JSON object");
  BackupManifest m;
  VJ_ASSIGN_OR_RETURN(uint64_t version, Unsigned(*obj, "format_version", ""));
  if (version != kBackupFormatVersion) {
    return Bad("format_version " + std::to_string(version) + " is not one this version reads (" +
               std::to_string(kBackupFormatVersion) + ")");
  }
  VJ_ASSIGN_OR_RETURN(m.id, String(*obj, "id", ""));
  if (!ValidateBackupId(m.id).ok()) return Bad("id: not a backup id");
  VJ_ASSIGN_OR_RETURN(m.created_at, String(*obj, "created_at", ""));
  VJ_ASSIGN_OR_RETURN(m.chunk_bytes, Unsigned(*obj, "chunk_bytes", ""));
  if (m.chunk_bytes == 0 || m.chunk_bytes > (256ull << 20)) return Bad("chunk_bytes: expected 1 to 2^28");
  VJ_ASSIGN_OR_RETURN(const json::array* collections, Array(*obj, "collections", ""));
  for (size_t i = 0; i < collections->size(); ++i) {
    const std::string at = "collections[" + std::to_string(i) + "].";
    const json::object* c = (*collections)[i].if_object();
    if (c == nullptr) return Bad(at + ": expected an object");
    BackupCollection collection;
    VJ_ASSIGN_OR_RETURN(collection.name, String(*c, "name", at));
    if (!ValidateCollectionName(collection.name).ok()) return Bad(at + "name: not a collection name");
    const json::value* encrypted = c->if_contains("encrypted");
    if (encrypted == nullptr || !encrypted->is_bool()) return Bad(at + "encrypted: expected true or false");
    collection.encrypted = encrypted->get_bool();
    VJ_ASSIGN_OR_RETURN(const json::array* shards, Array(*c, "shards", at));
    for (size_t s = 0; s < shards->size(); ++s) {
      const std::string sat = at + "shards[" + std::to_string(s) + "].";
      const json::object* so = (*shards)[s].if_object();
      if (so == nullptr) return Bad(sat + ": expected an object");
      BackupShard shard;
      VJ_ASSIGN_OR_RETURN(uint64_t number, Unsigned(*so, "shard", sat));
      if (number != s) return Bad(sat + "shard: expected " + std::to_string(s));
      shard.shard = static_cast<uint32_t>(number);
      VJ_ASSIGN_OR_RETURN(shard.sequence, Unsigned(*so, "sequence", sat));
      VJ_ASSIGN_OR_RETURN(shard.points, Unsigned(*so, "points", sat));
      collection.shards.push_back(shard);
    }
    VJ_ASSIGN_OR_RETURN(collection.files, DecodeFiles(*c, "files", at, m.chunk_bytes));
    m.collections.push_back(std::move(collection));
  }
  VJ_ASSIGN_OR_RETURN(m.node_files, DecodeFiles(*obj, "node_files", "", m.chunk_bytes));
  // A node file is restored into the data directory itself: only the alias file, once, may be one, so
  // no manifest can write over another file there (a collection's, a key file).
  if (m.node_files.size() > 1 || (m.node_files.size() == 1 && m.node_files[0].path != "aliases.json")) {
    return Bad("node_files: only aliases.json may be restored into the data directory");
  }
  return m;
}

}  // namespace vj

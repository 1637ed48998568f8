// BackupManifest: what one backup holds, stored as backups/<id>.json on the target (backup_target.h)
// and written last, once every blob it names is stored. The files themselves are content-addressed
// blobs (blobs/sha256/<hex of the chunk's bytes>): a file is cut into chunks of chunk_bytes, each
// stored once however many backups and files share it.
//
// Per collection: per shard, the store sequence its copy ends at and the number of point records it
// holds; its files (config.json, keys.json with encryption, shards/<n>/store/*, shards/<n>/index/*),
// each with its size, its whole sha256 and its chunks. Node files: aliases.json.
// Decoding treats the text as untrusted (it comes from storage other people can write): names, paths
// and hashes are checked, so that a manifest cannot make a restore write outside its directory.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vj {

inline constexpr int kBackupFormatVersion = 1;

struct BackupFile {
  std::string path;  // relative to the collection's directory (or the data directory for node files)
  uint64_t size = 0;
  std::string sha256;               // of the whole file
  std::vector<std::string> chunks;  // sha256 of each chunk, in order
};

struct BackupShard {
  uint32_t shard = 0;
  uint64_t sequence = 0;  // the last write the shard's copy holds
  uint64_t points = 0;    // point records in that copy
};

struct BackupCollection {
  std::string name;
  bool encrypted = false;  // its files are encrypted at rest (a restore needs the master key)
  std::vector<BackupShard> shards;
  std::vector<BackupFile> files;
};

struct BackupManifest {
  int format_version = kBackupFormatVersion;
  std::string id;          // also its key: backups/<id>.json
  std::string created_at;  // UTC, "YYYY-MM-DDTHH:MM:SSZ"
  uint64_t chunk_bytes = 0;
  std::vector<BackupCollection> collections;
  std::vector<BackupFile> node_files;

  uint64_t Bytes() const;   // of every file
  uint64_t Points() const;  // of every shard
};

std::string EncodeBackupManifest(const BackupManifest& manifest);
// DataLoss naming the field for anything malformed, missing, unsafe or of an unknown format_version.
StatusOr<BackupManifest> DecodeBackupManifest(std::string_view text);

// Backup ids: 1-64 characters of [A-Za-z0-9-]. InvalidArgument naming "backup" otherwise.
Status ValidateBackupId(std::string_view id);
// The keys of a backup's manifest and of a blob.
std::string BackupManifestKey(std::string_view id);
std::string BlobKey(std::string_view sha256);
inline constexpr char kBackupsPrefix[] = "backups/";
inline constexpr char kBlobsPrefix[] = "blobs/sha256/";

}  // namespace vj

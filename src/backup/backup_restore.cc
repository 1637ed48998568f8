// RestoreBackup and VerifyBackup (backup.h).
#include <algorithm>
#include <filesystem>
#include <set>

#include "backup/backup.h"
#include "backup/sigv4.h"
#include "collection/snapshot_archive.h"
#include "core/durable_file.h"

namespace vj {
namespace fs = std::filesystem;
namespace {

// Writes `file` to `path` from its chunks, checking every chunk's hash and the whole file's.
Status AssembleFile(BackupTarget& target, const BackupFile& file, const std::string& path, uint64_t* bytes) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return absl::UnavailableError("restore: cannot create " + fs::path(path).parent_path().string());
  // Sealing::kNever: the bytes are written as they were on the node (encrypted ones stay encrypted).
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<DurableFileWriter> writer, DurableFileWriter::Create(path, Sealing::kNever));
  uint64_t size = 0;
  for (const std::string& hash : file.chunks) {
    auto chunk = target.Get(BlobKey(hash));
    if (absl::IsNotFound(chunk.status())) {
      return absl::DataLossError("blob " + hash + " of " + file.path + " is missing from the target");
    }
    VJ_RETURN_IF_ERROR(chunk.status());
    const std::string actual = Sha256Hex(*chunk);
    if (actual != hash) {
      return absl::DataLossError("blob " + hash + " of " + file.path + " is corrupt: its bytes hash to " + actual);
    }
    VJ_RETURN_IF_ERROR(writer->Append(chunk->data(), chunk->size()));
    size += chunk->size();
  }
  if (size != file.size) {
    return absl::DataLossError(file.path + ": its chunks hold " + std::to_string(size) + " bytes, the manifest says " +
                               std::to_string(file.size));
  }
  VJ_RETURN_IF_ERROR(writer->Commit());
  // The whole-file hash, read back from what was written.
  VJ_ASSIGN_OR_RETURN(std::string written, Sha256OfFile(path));
  if (written != file.sha256) {
    return absl::DataLossError(file.path + ": the restored file hashes to " + written + ", the manifest says " +
                               file.sha256);
  }
  *bytes += size;
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::vector<BackupManifest>> ListBackups(BackupTarget& target) {
  VJ_ASSIGN_OR_RETURN(std::vector<std::string> keys, target.List(kBackupsPrefix));
  std::vector<BackupManifest> out;
  for (const std::string& key : keys) {
    if (key.size() < 5 || key.substr(key.size() - 5) != ".json") continue;
    VJ_ASSIGN_OR_RETURN(std::string text, target.Get(key));
    auto manifest = DecodeBackupManifest(text);
    if (!manifest.ok()) return absl::DataLossError(key + ": " + StatusMessage(manifest.status()));
    out.push_back(std::move(*manifest));
  }
  std::sort(out.begin(), out.end(), [](const BackupManifest& a, const BackupManifest& b) { return a.id < b.id; });
  return out;
}

StatusOr<BackupManifest> ReadBackup(BackupTarget& target, const std::string& id) {
  VJ_RETURN_IF_ERROR(ValidateBackupId(id));
  auto text = target.Get(BackupManifestKey(id));
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError("backup: no backup " + id + " in " + target.Describe());
  }
  VJ_RETURN_IF_ERROR(text.status());
  auto manifest = DecodeBackupManifest(*text);
  if (!manifest.ok()) return absl::DataLossError(BackupManifestKey(id) + ": " + StatusMessage(manifest.status()));
  if (manifest->id != id) return absl::DataLossError(BackupManifestKey(id) + ": its id is " + manifest->id);
  return manifest;
}

Status RestoreBackup(BackupTarget& target, const std::string& id, const std::string& data_dir, RestoreStats* stats) {
  VJ_ASSIGN_OR_RETURN(BackupManifest manifest, ReadBackup(target, id));
  const std::string root = data_dir + "/collections";
  std::error_code ec;
  for (const BackupCollection& c : manifest.collections) {
    if (fs::exists(root + "/" + c.name, ec)) {
      return absl::FailedPreconditionError("restore: collection " + c.name + " exists in " + data_dir +
                                           " already; restore into a fresh data directory");
    }
  }
  if (!manifest.node_files.empty() && fs::exists(data_dir + "/aliases.json", ec)) {
    return absl::FailedPreconditionError("restore: " + data_dir + "/aliases.json exists already");
  }
  fs::create_directories(root, ec);
  if (ec) return absl::UnavailableError("restore: cannot create " + root + ": " + ec.message());
  fs::permissions(data_dir, fs::perms::owner_all, ec);
  fs::permissions(root, fs::perms::owner_all, ec);
  RestoreStats local;
  for (size_t i = 0; i < manifest.collections.size(); ++i) {
    const BackupCollection& c = manifest.collections[i];
    // .recover-*: a leftover of a restore that died is removed when the node opens the directory.
    const std::string staging = root + "/.recover-restore-" + std::to_string(i);
    fs::remove_all(staging, ec);
    Status assembled = [&]() -> Status {
      for (const BackupFile& f : c.files) {
        VJ_RETURN_IF_ERROR(AssembleFile(target, f, staging + "/" + f.path, &local.bytes));
        ++local.files;
      }
      VJ_RETURN_IF_ERROR(SyncDirectory(staging));
      fs::rename(staging, root + "/" + c.name, ec);
      if (ec) return absl::UnavailableError("restore: cannot rename " + staging + ": " + ec.message());
      return SyncDirectory(root);
    }();
    if (!assembled.ok()) {
      fs::remove_all(staging, ec);
      return assembled;
    }
    ++local.collections;
  }
  for (const BackupFile& f : manifest.node_files) {
    VJ_RETURN_IF_ERROR(AssembleFile(target, f, data_dir + "/" + f.path, &local.bytes));
    ++local.files;
  }
  if (stats != nullptr) *stats = local;
  return absl::OkStatus();
}

StatusOr<VerifyReport> VerifyBackup(BackupTarget& target, const std::string& id, const std::string& scratch_dir) {
  std::error_code ec;
  if (fs::exists(scratch_dir, ec)) return absl::FailedPreconditionError("verify: " + scratch_dir + " exists already");
  VJ_ASSIGN_OR_RETURN(BackupManifest manifest, ReadBackup(target, id));
  auto checked = [&]() -> StatusOr<VerifyReport> {
    RestoreStats restored;
    VJ_RETURN_IF_ERROR(RestoreBackup(target, id, scratch_dir, &restored));
    VerifyReport report;
    report.bytes = restored.bytes;
    for (const BackupCollection& c : manifest.collections) {
      ++report.collections;
      for (const BackupShard& s : c.shards) {
        ++report.shards;
        report.points += s.points;
        if (c.encrypted) continue;  // its store opens only with the node's master key
        const std::string dir =
            scratch_dir + "/collections/" + c.name + "/shards/" + std::to_string(s.shard) + "/store";
        VJ_ASSIGN_OR_RETURN(StoreCount count, CountStore(dir));
        if (count.sequence != s.sequence || count.points != s.points) {
          return absl::DataLossError("collection " + c.name + " shard " + std::to_string(s.shard) + ": restored " +
                                     std::to_string(count.points) + " points at sequence " +
                                     std::to_string(count.sequence) + ", the manifest says " +
                                     std::to_string(s.points) + " at " + std::to_string(s.sequence));
        }
        ++report.shards_opened;
      }
    }
    return report;
  }();
  fs::remove_all(scratch_dir, ec);
  return checked;
}

StatusOr<PruneReport> PruneBackups(BackupTarget& target, size_t keep) {
  if (keep == 0) return absl::InvalidArgumentError("keep: at least 1 backup must be kept");
  VJ_ASSIGN_OR_RETURN(std::vector<BackupManifest> backups, ListBackups(target));
  PruneReport report;
  const size_t doomed = backups.size() > keep ? backups.size() - keep : 0;
  // Manifests first: a prune that stops half-way leaves unreferenced blobs, never a backup with holes.
  for (size_t i = 0; i < doomed; ++i) {
    VJ_RETURN_IF_ERROR(target.Delete(BackupManifestKey(backups[i].id)));
    report.deleted_backups.push_back(backups[i].id);
  }
  std::set<std::string> referenced;
  for (size_t i = doomed; i < backups.size(); ++i) {
    for (const BackupCollection& c : backups[i].collections) {
      for (const BackupFile& f : c.files) referenced.insert(f.chunks.begin(), f.chunks.end());
    }
    for (const BackupFile& f : backups[i].node_files) referenced.insert(f.chunks.begin(), f.chunks.end());
  }
  VJ_ASSIGN_OR_RETURN(std::vector<std::string> blobs, target.List(kBlobsPrefix));
  for (const std::string& key : blobs) {
    if (referenced.count(key.substr(sizeof(kBlobsPrefix) - 1)) != 0) {
      ++report.blobs_kept;
      continue;
    }
    VJ_RETURN_IF_ERROR(target.Delete(key));
    ++report.blobs_deleted;
  }
  return report;
}

}  // namespace vj

// CreateBackup, and the helpers it shares with restore: CountStore (backup.h).
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>

#include "backup/backup.h"
#include "backup/sigv4.h"
#include "collection/collection_config.h"
#include "collection/snapshot_archive.h"
#include "core/crash_point.h"
#include "core/durable_file.h"
#include "core/file_cipher.h"
#include "storage/keyring.h"
#include "storage/point_store.h"

namespace vj {
namespace fs = std::filesystem;
namespace {

std::string UtcNow(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[64];
  std::strftime(text, sizeof text, format, &tm);
  return text;
}

// "<UTC time to the millisecond>Z-<random>": ids sort as the backups were made ("newest" for prune and
// restore), also for backups made within one second.
std::string NewBackupId() {
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(random()));
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &tm);
  char ms[8];
  std::snprintf(ms, sizeof ms, "%03d", static_cast<int>(millis));
  return std::string(text) + ms + "Z-" + suffix;
}

// Stores the file at `path` (its bytes as they are on disk: encrypted files stay encrypted) as chunks
// the target lacks; `present` holds the blobs the target has and gains the ones stored.
StatusOr<BackupFile> StoreFile(BackupTarget& target, const std::string& path, const std::string& name,
                               uint64_t chunk_bytes, std::set<std::string>& present, BackupStats& stats) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError("backup: cannot open " + path + ": " + std::strerror(errno));
  BackupFile file;
  file.path = name;
  EVP_MD_CTX* whole = EVP_MD_CTX_new();
  EVP_DigestInit_ex(whole, EVP_sha256(), nullptr);
  std::string chunk;
  Status status;
  for (;;) {
    chunk.resize(chunk_bytes);
    size_t filled = 0;
    while (filled < chunk_bytes) {
      const ssize_t n = ::read(fd, chunk.data() + filled, chunk_bytes - filled);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = absl::UnavailableError("backup: cannot read " + path + ": " + std::strerror(errno));
        break;
      }
      if (n == 0) break;
      filled += static_cast<size_t>(n);
    }
    if (!status.ok() || filled == 0) break;
    chunk.resize(filled);
    EVP_DigestUpdate(whole, chunk.data(), chunk.size());
    const std::string hash = Sha256Hex(chunk);
    file.chunks.push_back(hash);
    file.size += filled;
    ++stats.chunks;
    if (present.insert(hash).second) {
      status = target.Put(BlobKey(hash), chunk);
      if (!status.ok()) {
        present.erase(hash);
        break;
      }
      ++stats.chunks_uploaded;
      stats.bytes_uploaded += filled;
    }
    if (filled < chunk_bytes) break;
  }
  ::close(fd);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(whole, digest, &len);
  EVP_MD_CTX_free(whole);
  VJ_RETURN_IF_ERROR(status);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    file.sha256.push_back(kHex[digest[i] >> 4]);
    file.sha256.push_back(kHex[digest[i] & 15]);
  }
  ++stats.files;
  stats.bytes += file.size;
  return file;
}

// One collection: its shards copied into a staging directory, their files stored, their stores counted.
StatusOr<BackupCollection> BackUpCollection(Database& database, const std::string& name, BackupTarget& target,
                                            uint64_t chunk_bytes, std::set<std::string>& present,
                                            BackupStats& stats) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> c, database.Get(name));
  const std::string staging = database.StagingDir();
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec) return absl::UnavailableError("backup: cannot create " + staging + ": " + ec.message());
  const std::string keys_file = database.CollectionDirOf(name) + "/" + kKeysFile;
  std::shared_ptr<const DataKey> key = DirectoryKeyFor(keys_file);
  const bool encrypted = database.keyring() != nullptr && key != nullptr;
  if (encrypted) RegisterDirectoryKey(staging, key);
  auto built = [&]() -> StatusOr<BackupCollection> {
    BackupCollection out;
    out.name = name;
    out.encrypted = encrypted;
    // The config as it is when the copy starts (sealed with the collection's key when encrypted).
    VJ_RETURN_IF_ERROR(SaveCollectionConfig(staging, c->config()));
    VJ_ASSIGN_OR_RETURN(std::vector<uint64_t> sequences, c->Checkpoint(staging));
    if (encrypted) {
      VJ_ASSIGN_OR_RETURN(std::string wrapped, ReadDurableFile(keys_file, Sealing::kNever));
      VJ_RETURN_IF_ERROR(WriteFileDurably(staging + "/" + kKeysFile, wrapped, Sealing::kNever));
    }
    VJ_ASSIGN_OR_RETURN(std::vector<ArchiveFile> files, FilesUnder(staging, ""));
    for (const ArchiveFile& f : files) {
      VJ_ASSIGN_OR_RETURN(BackupFile stored, StoreFile(target, f.path, f.name, chunk_bytes, present, stats));
      out.files.push_back(std::move(stored));
    }
    // Counted after the files are stored: opening a store writes to its directory.
    for (uint32_t i = 0; i < sequences.size(); ++i) {
      VJ_ASSIGN_OR_RETURN(StoreCount count, CountStore(staging + "/shards/" + std::to_string(i) + "/store"));
      if (count.sequence != sequences[i]) {
        return absl::InternalError("backup: the copy of " + name + " shard " + std::to_string(i) + " ends at " +
                                   std::to_string(count.sequence) + ", the checkpoint said " +
                                   std::to_string(sequences[i]));
      }
      out.shards.push_back({i, sequences[i], count.points});
      stats.points += count.points;
    }
    return out;
  }();
  c.reset();
  fs::remove_all(staging, ec);
  if (encrypted) UnregisterDirectoryKey(staging);
  return built;
}

}  // namespace

StatusOr<StoreCount> CountStore(const std::string& store_dir) {
  PointStoreOptions options;
  options.create_if_missing = false;
  options.min_free_bytes = 0;
  options.log_retention = 0;
  options.write_buffer_bytes = 4 << 20;
  auto store = PointStore::Open(store_dir, options);
  if (!store.ok()) return absl::DataLossError("store " + store_dir + " does not open: " + StatusMessage(store.status()));
  StoreCount count;
  count.sequence = (*store)->last_sequence();
  Status scanned = (*store)->ForEach([&count](PointRecord&&) {
    ++count.points;
    return absl::OkStatus();
  });
  if (!scanned.ok()) return absl::DataLossError("store " + store_dir + " is corrupt: " + StatusMessage(scanned));
  return count;
}

StatusOr<BackupStats> CreateBackup(Database& database, BackupTarget& target, const BackupOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  // At most 256 MiB: the largest object the S3 target reads back (s3_target.cc).
  if (options.chunk_bytes == 0 || options.chunk_bytes > (256ull << 20)) {
    return absl::InvalidArgumentError("chunk_bytes: expected 1 to 2^28 (256 MiB)");
  }
  BackupStats stats;
  BackupManifest manifest;
  manifest.id = NewBackupId();
  manifest.created_at = UtcNow("%Y-%m-%dT%H:%M:%SZ");
  manifest.chunk_bytes = options.chunk_bytes;
  // What the target holds already: those chunks are not stored again.
  VJ_ASSIGN_OR_RETURN(std::vector<std::string> blobs, target.List(kBlobsPrefix));
  std::set<std::string> present;
  for (const std::string& key : blobs) present.insert(key.substr(sizeof(kBlobsPrefix) - 1));
  for (const std::string& name : database.List()) {
    auto collection = BackUpCollection(database, name, target, options.chunk_bytes, present, stats);
    if (absl::IsNotFound(collection.status())) continue;  // deleted meanwhile
    VJ_RETURN_IF_ERROR(collection.status());
    manifest.collections.push_back(std::move(*collection));
  }
  const std::string aliases = database.data_dir() + "/aliases.json";
  std::error_code ec;
  if (fs::exists(aliases, ec)) {
    VJ_ASSIGN_OR_RETURN(BackupFile file, StoreFile(target, aliases, "aliases.json", options.chunk_bytes, present, stats));
    manifest.node_files.push_back(std::move(file));
  }
  // Every blob is stored: the manifest makes the backup visible, in one atomic Put.
  VJ_CRASH_POINT("backup_manifest");
  const std::string text = EncodeBackupManifest(manifest);
  VJ_RETURN_IF_ERROR(target.Put(BackupManifestKey(manifest.id), text));
  stats.id = manifest.id;
  stats.collections = manifest.collections.size();
  stats.manifest_bytes = text.size();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace vj

#include "collection/snapshot_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "collection/collection_config.h"
#include "collection/snapshot_archive.h"
#include "collection/snapshot_manifest.h"
#include "core/crash_point.h"
#include "core/durable_file.h"
#include "core/file_cipher.h"
#include "storage/keyring.h"
#include "storage/point_store.h"

namespace vj {
namespace fs = std::filesystem;
namespace {

constexpr char kSuffix[] = ".snapshot";
constexpr char kChecksumSuffix[] = ".checksum";
constexpr char kTempPrefix[] = ".tmp-";
constexpr size_t kMaxManifestBytes = 16 << 20;

std::string UtcTime(std::time_t t, const char* format) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof(text), format, &tm);
  return text;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The names a collection snapshot may hold: its manifest and files of shards/<n>/store/ and
// shards/<n>/index/ (the shard's index snapshot: checked when the shard opens, rebuilt when bad).
bool AllowedInCollectionSnapshot(std::string_view name) {
  if (name == kSnapshotManifestName || name == kKeysFile) return true;
  constexpr std::string_view kShards = "shards/";
  if (name.substr(0, kShards.size()) != kShards) return false;
  name.remove_prefix(kShards.size());
  size_t digits = 0;
  while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
  if (digits == 0 || digits > 5) return false;
  name.remove_prefix(digits);
  constexpr std::string_view kStore = "/store/";
  constexpr std::string_view kIndex = "/index/";
  if (name.substr(0, kStore.size()) == kStore) {
    name.remove_prefix(kStore.size());
  } else if (name.substr(0, kIndex.size()) == kIndex) {
    name.remove_prefix(kIndex.size());
  } else {
    return false;
  }
  return !name.empty() && name.find('/') == std::string_view::npos;
}

StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return absl::InvalidArgumentError("snapshot archive: no " + fs::path(path).filename().string());
  if (size > max_bytes) {
    return absl::InvalidArgumentError("snapshot archive: " + fs::path(path).filename().string() + " is over " +
                                      std::to_string(max_bytes) + " bytes");
  }
  return ReadDurableFile(path);
}

StatusOr<SnapshotInfo> InfoOf(const std::string& path, const std::string& name) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError("Snapshot " + name + " not found");
  }
  SnapshotInfo info;
  info.name = name;
  info.size = static_cast<uint64_t>(st.st_size);
  info.creation_time = UtcTime(st.st_mtime, "%Y-%m-%dT%H:%M:%S");
  auto checksum = ReadDurableFile(path + kChecksumSuffix);
  if (checksum.ok() && checksum->size() == 64) info.checksum = *checksum;
  return info;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Removes what remains of an interrupted snapshot or recovery in `dir`: temporary files and the
// checksum files of snapshots that never appeared.
void RemoveLeftoversIn(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kTempPrefix, 0) == 0) {
      doomed.push_back(entry.path());
    } else if (EndsWith(name, kChecksumSuffix)) {
      const std::string snapshot = entry.path().string().substr(0, entry.path().string().size() - 9);
      if (!fs::exists(snapshot, ec)) doomed.push_back(entry.path());
    }
  }
  for (const fs::path& p : doomed) fs::remove_all(p, ec);
}

}  // namespace

Status ValidateSnapshotName(std::string_view name) {
  if (name.empty() || name.size() > 240) {
    return absl::InvalidArgumentError("snapshot name must have 1 to 240 characters");
  }
  if (name[0] == '.') return absl::InvalidArgumentError("snapshot name must not start with '.'");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError("snapshot name may only contain letters, digits, '_', '-' and '.', got \"" +
                                        std::string(name.substr(0, 128)) + "\"");
    }
  }
  if (!EndsWith(name, kSuffix)) return absl::InvalidArgumentError("snapshot name must end in \".snapshot\"");
  return absl::OkStatus();
}

SnapshotStore::SnapshotStore(Database& database, SnapshotStoreOptions options)
    : database_(database), options_(std::move(options)), root_(database.data_dir() + "/snapshots") {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (!ec) fs::permissions(root_, fs::perms::owner_all, ec);
  RemoveLeftovers();
}

SnapshotStore::~SnapshotStore() {
  std::list<Job> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs.swap(jobs_);
  }
  // Joined without mu_: a snapshot being built takes it (NewName) before it finishes.
  for (Job& job : jobs) job.thread.join();
}

void SnapshotStore::RemoveLeftovers() {
  std::error_code ec;
  RemoveLeftoversIn(root_);
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    if (entry.is_directory()) RemoveLeftoversIn(entry.path().string());
  }
}

std::string SnapshotStore::DirOf(const std::string& collection) const {
  return collection.empty() ? root_ : root_ + "/" + collection;
}

std::string SnapshotStore::TempPath() {
  return root_ + "/" + kTempPrefix + std::to_string(::getpid()) + "-" + std::to_string(next_temp_.fetch_add(1));
}

std::string SnapshotStore::NewName(const std::string& collection) {
  const std::string stem = (collection.empty() ? std::string("full-snapshot") : collection.substr(0, 200)) + "-" +
                           UtcTime(std::time(nullptr), "%Y-%m-%d-%H-%M-%S");
  const std::string dir = DirOf(collection);
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t n = 0;; ++n) {
    const std::string name = stem + (n == 0 ? "" : "-" + std::to_string(n)) + kSuffix;
    std::error_code ec;
    if (!fs::exists(dir + "/" + name, ec) && reserved_.insert(dir + "/" + name).second) return name;
  }
}

StatusOr<std::string> SnapshotStore::WriteCollectionSnapshot(const std::string& collection, const std::string& dir,
                                                             const std::string& name) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> c, database_.Get(collection));
  const std::string staging = TempPath();
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec) return absl::UnavailableError("cannot create " + staging + ": " + ec.message());
  // Encrypted: the archive is the collection's files as they are on disk (encrypted with its data
  // key), its manifest sealed with the same key, and its keys.json (the data key wrapped by the master
  // key), so that restoring it needs the master key and nothing else.
  const std::string keys_file = database_.CollectionDirOf(collection) + "/" + kKeysFile;
  std::shared_ptr<const DataKey> key = DirectoryKeyFor(keys_file);
  const bool encrypted = database_.keyring() != nullptr && key != nullptr;
  if (encrypted) RegisterDirectoryKey(staging, key);
  auto built = [&]() -> StatusOr<std::string> {
    SnapshotManifest manifest;
    manifest.kind = SnapshotManifest::Kind::kCollection;
    manifest.created_at = UtcTime(std::time(nullptr), "%Y-%m-%dT%H:%M:%S");
    manifest.collection = collection;
    manifest.config = CollectionConfigToJson(c->config());
    VJ_ASSIGN_OR_RETURN(std::vector<uint64_t> sequences, c->Checkpoint(staging));
    for (uint32_t i = 0; i < sequences.size(); ++i) manifest.shards.push_back({i, sequences[i]});
    const std::string manifest_path = staging + "/" + kSnapshotManifestName;
    VJ_RETURN_IF_ERROR(WriteFileDurably(manifest_path, EncodeSnapshotManifest(manifest)));
    VJ_ASSIGN_OR_RETURN(std::vector<ArchiveFile> files, FilesUnder(staging + "/shards", "shards/"));
    files.insert(files.begin(), ArchiveFile{kSnapshotManifestName, manifest_path});
    if (encrypted) {
      // A copy taken now: a rotation may rewrite the collection's keys.json while the archive is written.
      VJ_ASSIGN_OR_RETURN(std::string wrapped, ReadDurableFile(keys_file, Sealing::kNever));
      VJ_RETURN_IF_ERROR(WriteFileDurably(staging + "/" + kKeysFile, wrapped, Sealing::kNever));
      files.insert(files.begin() + 1, ArchiveFile{kKeysFile, staging + "/" + kKeysFile});
    }
    const std::string temp = dir + "/" + kTempPrefix + name;
    VJ_ASSIGN_OR_RETURN(std::string checksum, WriteSnapshotArchive(temp, files));
    // The checksum first, then the snapshot under its name: once listed, it has its checksum.
    VJ_RETURN_IF_ERROR(WriteFileDurably(dir + "/" + name + kChecksumSuffix, checksum));
    VJ_CRASH_POINT("collection_snapshot");
    fs::rename(temp, dir + "/" + name, ec);
    if (ec) return absl::UnavailableError("cannot rename " + temp + ": " + ec.message());
    VJ_RETURN_IF_ERROR(SyncDirectory(dir));
    return checksum;
  }();
  c.reset();
  fs::remove_all(staging, ec);
  if (encrypted) UnregisterDirectoryKey(staging);
  if (!built.ok()) {
    fs::remove(dir + "/" + kTempPrefix + name, ec);
    fs::remove(dir + "/" + name + kChecksumSuffix, ec);
  }
  return built;
}

StatusOr<std::string> SnapshotStore::WriteFullSnapshot(const std::string& dir, const std::string& name) {
  const std::string staging = TempPath();
  std::error_code ec;
  fs::create_directories(staging + "/collections", ec);
  if (ec) return absl::UnavailableError("cannot create " + staging + ": " + ec.message());
  auto built = [&]() -> StatusOr<std::string> {
    SnapshotManifest manifest;
    manifest.kind = SnapshotManifest::Kind::kFull;
    manifest.created_at = UtcTime(std::time(nullptr), "%Y-%m-%dT%H:%M:%S");
    std::vector<ArchiveFile> files;
    const std::vector<std::string> names = database_.List();
    for (size_t i = 0; i < names.size(); ++i) {
      // Collection names may be 255 characters long: the nested file is named by its index.
      const std::string nested = std::to_string(i) + kSuffix;
      auto checksum = WriteCollectionSnapshot(names[i], staging + "/collections", nested);
      if (!checksum.ok() && absl::IsNotFound(checksum.status())) continue;  // deleted meanwhile
      VJ_RETURN_IF_ERROR(checksum.status());
      manifest.collections.push_back({names[i], "collections/" + nested, *checksum});
      files.push_back({"collections/" + nested, staging + "/collections/" + nested});
    }
    const std::string manifest_path = staging + "/" + kSnapshotManifestName;
    VJ_RETURN_IF_ERROR(WriteFileDurably(manifest_path, EncodeSnapshotManifest(manifest)));
    files.insert(files.begin(), ArchiveFile{kSnapshotManifestName, manifest_path});
    const std::string temp = dir + "/" + kTempPrefix + name;
    VJ_ASSIGN_OR_RETURN(std::string checksum, WriteSnapshotArchive(temp, files));
    VJ_RETURN_IF_ERROR(WriteFileDurably(dir + "/" + name + kChecksumSuffix, checksum));
    fs::rename(temp, dir + "/" + name, ec);
    if (ec) return absl::UnavailableError("cannot rename " + temp + ": " + ec.message());
    VJ_RETURN_IF_ERROR(SyncDirectory(dir));
    return checksum;
  }();
  fs::remove_all(staging, ec);
  if (!built.ok()) {
    fs::remove(dir + "/" + kTempPrefix + name, ec);
    fs::remove(dir + "/" + name + kChecksumSuffix, ec);
  }
  return built;
}

StatusOr<SnapshotInfo> SnapshotStore::Create(const std::string& collection) {
  if (!collection.empty()) VJ_RETURN_IF_ERROR(database_.Get(collection).status());
  const std::string dir = DirOf(collection);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError("cannot create " + dir + ": " + ec.message());
  const std::string name = NewName(collection);
  StatusOr<std::string> checksum =
      collection.empty() ? WriteFullSnapshot(dir, name) : WriteCollectionSnapshot(collection, dir, name);
  {
    std::lock_guard<std::mutex> lock(mu_);
    reserved_.erase(dir + "/" + name);
  }
  VJ_RETURN_IF_ERROR(checksum.status());
  return InfoOf(dir + "/" + name, name);
}

Status SnapshotStore::CreateInBackground(const std::string& collection) {
  if (!collection.empty()) VJ_RETURN_IF_ERROR(database_.Get(collection).status());
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  if (jobs_.size() >= options_.max_background) {
    return absl::ResourceExhaustedError(std::to_string(jobs_.size()) +
                                        " snapshots are being built in the background already; retry later");
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  jobs_.push_back({std::thread([this, collection, done] {
                     (void)Create(collection);  // a failure leaves no snapshot; nothing waits for it
                     done->store(true);
                   }),
                   done});
  return absl::OkStatus();
}

StatusOr<std::vector<SnapshotInfo>> SnapshotStore::List(const std::string& collection) const {
  if (!collection.empty()) VJ_RETURN_IF_ERROR(database_.Get(collection).status());
  std::vector<SnapshotInfo> out;
  std::error_code ec;
  const std::string dir = DirOf(collection);
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !ValidateSnapshotName(name).ok()) continue;
    auto info = InfoOf(entry.path().string(), name);
    if (info.ok()) out.push_back(std::move(*info));
  }
  std::sort(out.begin(), out.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
    return a.creation_time != b.creation_time ? a.creation_time > b.creation_time : a.name > b.name;
  });
  return out;
}

StatusOr<SnapshotInfo> SnapshotStore::Find(const std::string& collection, const std::string& name,
                                           std::string* path) const {
  VJ_RETURN_IF_ERROR(ValidateSnapshotName(name));
  if (!collection.empty()) VJ_RETURN_IF_ERROR(database_.Get(collection).status());
  *path = DirOf(collection) + "/" + name;
  return InfoOf(*path, name);
}

Status SnapshotStore::Delete(const std::string& collection, const std::string& name) {
  std::string path;
  VJ_RETURN_IF_ERROR(Find(collection, name, &path).status());
  std::error_code ec;
  if (!fs::remove(path, ec) || ec) {
    return ec ? absl::UnavailableError("cannot remove " + path + ": " + ec.message())
              : absl::NotFoundError("Snapshot " + name + " not found");
  }
  fs::remove(path + kChecksumSuffix, ec);
  return SyncDirectory(DirOf(collection));
}

Status SnapshotStore::RecoverFromLocation(const std::string& collection, const std::string& location,
                                          const std::optional<std::string>& checksum, const std::string& api_key) {
  VJ_RETURN_IF_ERROR(ValidateCollectionName(collection));
  constexpr std::string_view kFile = "file://";
  if (location.rfind(kFile, 0) == 0) {
    std::error_code ec;
    const fs::path wanted = fs::weakly_canonical(fs::path(location.substr(kFile.size())), ec);
    const std::string root = fs::canonical(root_, ec).string() + "/";
    if (ec || wanted.string().rfind(root, 0) != 0) {
      return absl::InvalidArgumentError("location: a file:// location must name a file inside this node's "
                                        "snapshots directory (" + root + ")");
    }
    if (!fs::is_regular_file(wanted, ec)) {
      return absl::NotFoundError("location: no snapshot file " + wanted.string());
    }
    if (fs::path(wanted).filename().string().rfind(kTempPrefix, 0) == 0) {
      return absl::InvalidArgumentError("location: " + wanted.string() + " is not a complete snapshot");
    }
    return RecoverFromFile(collection, wanted.string(), checksum);
  }
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
    if (!options_.download) return absl::UnimplementedError("location: downloads are not available on this node");
    const std::string temp = TempPath();
    Status recovered = options_.download(location, temp, options_.max_snapshot_bytes, api_key);
    if (recovered.ok()) recovered = RecoverFromFile(collection, temp, checksum);
    std::error_code ec;
    fs::remove(temp, ec);
    return recovered;
  }
  return absl::InvalidArgumentError("location: expected a file:// or http(s):// URL, got \"" +
                                    location.substr(0, 128) + "\"");
}

Status SnapshotStore::RecoverFromFile(const std::string& collection, const std::string& archive,
                                      const std::optional<std::string>& checksum) {
  VJ_RETURN_IF_ERROR(ValidateCollectionName(collection));
  std::error_code ec;
  const auto size = fs::file_size(archive, ec);
  if (ec) return absl::NotFoundError("snapshot file " + archive + ": " + ec.message());
  if (size > options_.max_snapshot_bytes) {
    return absl::InvalidArgumentError("snapshot: " + std::to_string(size) + " bytes is over the limit of " +
                                      std::to_string(options_.max_snapshot_bytes) + " (setting snapshots.max_bytes)");
  }
  if (checksum) {
    VJ_ASSIGN_OR_RETURN(std::string actual, Sha256OfFile(archive));
    if (Lower(*checksum) != actual) {
      return absl::InvalidArgumentError("checksum: the snapshot's sha256 is " + actual + ", not " +
                                        checksum->substr(0, 128));
    }
  }
  const std::string staging = database_.StagingDir();
  auto staged = [&]() -> Status {
    ExtractLimits limits;
    limits.max_bytes = options_.max_snapshot_bytes;
    limits.allowed = AllowedInCollectionSnapshot;
    VJ_RETURN_IF_ERROR(ExtractSnapshotArchive(archive, staging, limits));
    // An encrypted snapshot brings its collection's wrapped data key: the master key must open it.
    if (Keyring* keyring = database_.keyring(); keyring != nullptr && fs::exists(staging + "/" + kKeysFile, ec)) {
      if (Status keyed = keyring->LoadCollectionKey(staging); !keyed.ok()) {
        return absl::InvalidArgumentError("snapshot: its data key does not open with this node's master key: " +
                                          StatusMessage(keyed));
      }
    }
    const std::string manifest_path = staging + "/" + kSnapshotManifestName;
    VJ_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(manifest_path, kMaxManifestBytes));
    VJ_ASSIGN_OR_RETURN(SnapshotManifest manifest, DecodeSnapshotManifest(text));
    if (manifest.kind != SnapshotManifest::Kind::kCollection) {
      return absl::InvalidArgumentError(
          "snapshot: this is a full snapshot; recover one of the collection snapshots nested in it");
    }
    auto config = ParseCollectionConfig(manifest.config);
    if (!config.ok()) {
      return absl::InvalidArgumentError("snapshot manifest: config: " + StatusMessage(config.status()));
    }
    const size_t shards = std::max<uint32_t>(1, config->shard_number);
    if (manifest.shards.size() != shards) {
      return absl::InvalidArgumentError("snapshot manifest: " + std::to_string(manifest.shards.size()) +
                                        " shards listed, the config has " + std::to_string(shards));
    }
    size_t shard_dirs = 0;
    for (const auto& entry : fs::directory_iterator(staging + "/shards", ec)) {
      (void)entry;
      ++shard_dirs;
    }
    if (ec || shard_dirs != shards) {
      return absl::InvalidArgumentError("snapshot archive: holds " + std::to_string(shard_dirs) +
                                        " shard directories, the manifest lists " + std::to_string(shards));
    }
    for (const auto& shard : manifest.shards) {
      PointStoreOptions store_options;
      store_options.create_if_missing = false;
      store_options.min_free_bytes = 0;
      const std::string dir = staging + "/shards/" + std::to_string(shard.shard) + "/store";
      auto store = PointStore::Open(dir, store_options);
      if (!store.ok()) {
        return absl::InvalidArgumentError("snapshot archive: the store of shard " + std::to_string(shard.shard) +
                                          " does not open: " + StatusMessage(store.status()));
      }
      if ((*store)->last_sequence() != shard.sequence) {
        return absl::InvalidArgumentError("snapshot archive: the store of shard " + std::to_string(shard.shard) +
                                          " ends at sequence " + std::to_string((*store)->last_sequence()) +
                                          ", the manifest says " + std::to_string(shard.sequence));
      }
      // Every record must read back (RocksDB checks each block's checksum) and decode: a store that
      // fails later, when the collection loads, would fail after the old collection was closed.
      Status scanned = (*store)->ForEach([](PointRecord&&) { return absl::OkStatus(); });
      if (!scanned.ok()) {
        return absl::InvalidArgumentError("snapshot archive: the store of shard " + std::to_string(shard.shard) +
                                          " is corrupt: " + StatusMessage(scanned));
      }
    }
    fs::remove(manifest_path, ec);
    return SaveCollectionConfig(staging, *config);
  }();
  if (staged.ok()) staged = database_.ReplaceCollection(collection, staging);
  fs::remove_all(staging, ec);
  UnregisterDirectoryKey(staging);
  return staged;
}

}  // namespace vj

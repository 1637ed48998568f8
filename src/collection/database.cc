#include "collection/database.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "collection/collection_config.h"
#include "core/durable_file.h"

namespace vj {
namespace fs = std::filesystem;

Database::~Database() {
  std::lock_guard<std::mutex> lock(mu_);
  collections_.clear();  // each collection drains its writer and flushes
}

std::string Database::CollectionDir(const std::string& name) const {
  return options_.data_dir + "/collections/" + name;
}

StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Database> db(new Database(options));
  std::error_code ec;
  const std::string root = options.data_dir + "/collections";
  fs::create_directories(root, ec);
  if (!ec) fs::permissions(root, fs::perms::owner_all, ec);  // only the server reads its data
  if (ec) return absl::UnavailableError("cannot create data directory " + root + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (!ValidateCollectionName(name).ok()) continue;  // e.g. a deletion in progress (".trash-*")
    if (!fs::exists(entry.path() / "config.json")) {
      // A create that crashed before its config was durable never acknowledged: discard it.
      fs::remove_all(entry.path(), ec);
      continue;
    }
    VJ_ASSIGN_OR_RETURN(CollectionConfig config, LoadCollectionConfig(entry.path().string()));
    VJ_ASSIGN_OR_RETURN(std::unique_ptr<Collection> collection,
                        Collection::Open(name, entry.path().string(), std::move(config),
                                         options.collection));
    db->collections_[name] = std::move(collection);
  }
  if (ec) return absl::UnavailableError("cannot list " + root + ": " + ec.message());
  // Leftovers of deletions interrupted by a crash.
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.path().filename().string().rfind(".trash-", 0) == 0) fs::remove_all(entry.path(), ec);
  }
  VJ_RETURN_IF_ERROR(db->LoadAliases());
  db->recovery_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return db;
}

Status Database::LoadAliases() {
  std::error_code ec;
  if (!fs::exists(AliasFile(), ec)) {
    if (ec) return absl::UnavailableError("cannot read " + AliasFile() + ": " + ec.message());
    return absl::OkStatus();
  }
  std::ifstream in(AliasFile(), std::ios::binary);
  if (!in) return absl::UnavailableError("cannot open " + AliasFile());
  std::stringstream bytes;
  bytes << in.rdbuf();
  VJ_ASSIGN_OR_RETURN(aliases_, AliasMap::Parse(bytes.str(), AliasFile()));
  size_t dropped = 0;
  for (const AliasEntry& entry : aliases_.List()) {
    if (collections_.count(entry.collection) == 0) dropped += aliases_.RemoveCollection(entry.collection);
  }
  if (dropped != 0) {
    spdlog::warn("dropped {} aliases of deleted collections from {}", dropped, AliasFile());
    VJ_RETURN_IF_ERROR(WriteFileDurably(AliasFile(), aliases_.Serialize()));
  }
  return absl::OkStatus();
}

std::optional<std::string> Database::ResolveAlias(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (aliases_.empty() || collections_.count(name) != 0) return std::nullopt;
  return aliases_.Resolve(name);
}

Status Database::UpdateAliases(const std::vector<AliasAction>& actions) {
  std::lock_guard<std::mutex> lock(mu_);
  AliasMap next = aliases_;
  VJ_RETURN_IF_ERROR(next.Apply(actions, [this](const std::string& c) { return collections_.count(c) != 0; }));
  if (next == aliases_) return absl::OkStatus();
  // Stored first: the change is served only once it survives a crash.
  VJ_RETURN_IF_ERROR(WriteFileDurably(AliasFile(), next.Serialize()));
  aliases_ = std::move(next);
  return absl::OkStatus();
}

std::vector<AliasEntry> Database::ListAliases() const {
  std::lock_guard<std::mutex> lock(mu_);
  return aliases_.List();
}

Status Database::CreateCollection(const std::string& name, const CollectionConfig& config) {
  VJ_RETURN_IF_ERROR(ValidateCollectionName(name));
  std::lock_guard<std::mutex> lock(mu_);
  if (collections_.count(name) != 0) {
    return absl::AlreadyExistsError("Collection `" + name + "` already exists!");
  }
  if (aliases_.Contains(name)) {
    return absl::AlreadyExistsError("Can't create collection with name " + name +
                                    ". Alias with the same name already exists");
  }
  // Checked under mu_ so that concurrent creates cannot overshoot the limit.
  if (options_.max_collections != 0 && collections_.size() >= options_.max_collections) {
    return absl::InvalidArgumentError("collections: " + std::to_string(collections_.size() + 1) +
                                      " collections is over the limit of " +
                                      std::to_string(options_.max_collections) +
                                      " (setting limits.collections)");
  }
  const std::string dir = CollectionDir(name);
  std::error_code ec;
  fs::remove_all(dir, ec);  // a half-created leftover
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, fs::perms::owner_all, ec);
  if (ec) return absl::UnavailableError("cannot create " + dir + ": " + ec.message());
  // Storage first, config last: the config file is the commit point of a create.
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<Collection> collection,
                      Collection::Open(name, dir, config, options_.collection));
  Status saved = SaveCollectionConfig(dir, config);
  if (!saved.ok()) {
    collection.reset();
    fs::remove_all(dir, ec);
    return saved;
  }
  collections_[name] = std::move(collection);
  return absl::OkStatus();
}

Status Database::DeleteCollection(const std::string& name) {
  std::shared_ptr<Collection> victim;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = collections_.find(name);
    if (it == collections_.end()) {
      return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
    }
    victim = std::move(it->second);
    collections_.erase(it);
  }
  // Rename first (atomic), so a crash mid-removal never leaves a half-deleted collection that loads.
  // The trash name does not contain the collection's: a 255-character name plus a prefix would exceed
  // the file system's limit on a name (NAME_MAX), and the rename would fail.
  const std::string dir = CollectionDir(name);
  const std::string trash = options_.data_dir + "/collections/.trash-" + std::to_string(next_trash_.fetch_add(1));
  std::error_code ec;
  fs::remove_all(trash, ec);
  fs::rename(dir, trash, ec);
  if (ec) {
    std::lock_guard<std::mutex> lock(mu_);
    collections_.emplace(name, std::move(victim));  // still stored: keep serving it
    return absl::UnavailableError("cannot remove " + dir + ": " + ec.message());
  }
  // The rename is the commit point of a delete: make it durable before acknowledging.
  if (int dfd = ::open((options_.data_dir + "/collections").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  {
    // Its aliases go with it. Should storing them fail, they are dropped from memory now and from the
    // file when the node next opens (LoadAliases), so none outlives its collection.
    std::lock_guard<std::mutex> lock(mu_);
    if (collections_.count(name) == 0 && aliases_.RemoveCollection(name) != 0) {
      if (Status st = WriteFileDurably(AliasFile(), aliases_.Serialize()); !st.ok()) {
        spdlog::error("cannot store the aliases after deleting collection {}: {}", name, StatusMessage(st));
      }
    }
  }
  victim.reset();  // in-flight requests holding it finish first; the last owner closes it
  fs::remove_all(trash, ec);
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<Collection>> Database::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = collections_.find(name);
  if (it == collections_.end()) {
    return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
  }
  return it->second;
}

bool Database::Exists(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return collections_.count(name) != 0;
}

std::vector<std::string> Database::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, c] : collections_) names.push_back(name);
  return names;
}

DatabaseStats Database::Stats() const {
  std::vector<std::shared_ptr<Collection>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, c] : collections_) all.push_back(c);
  }
  DatabaseStats stats;
  stats.recovery_seconds = recovery_seconds_;
  for (const auto& c : all) {
    stats.collections.push_back(
        {c->name(), c->Info().points_count, c->load_seconds(), c->quarantined_records()});
  }
  return stats;
}

Status Database::Flush() {
  std::vector<std::shared_ptr<Collection>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, c] : collections_) all.push_back(c);
  }
  for (const auto& c : all) {
    c->WaitForQueuedWrites();
    VJ_RETURN_IF_ERROR(c->Flush());
  }
  return absl::OkStatus();
}

}  // namespace vj

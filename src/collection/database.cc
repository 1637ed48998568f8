#include "collection/database.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "collection/collection_config.h"
#include "core/durable_file.h"
#include "storage/keyring.h"

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
    const std::string leftover = entry.path().filename().string();
    // .recover-*: a recovery's staged collection, or the collection it replaced.
    if (leftover.rfind(".trash-", 0) == 0 || leftover.rfind(".recover-", 0) == 0) fs::remove_all(entry.path(), ec);
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
  VJ_ASSIGN_OR_RETURN(std::string bytes, ReadDurableFile(AliasFile()));
  VJ_ASSIGN_OR_RETURN(aliases_, AliasMap::Parse(bytes, AliasFile()));
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
  std::unique_lock<std::mutex> lock(mu_);
  AwaitReplace(lock, name);
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
  // Its data key before any of its files (a create that fails after this leaves a directory without
  // config.json, which the next start discards with its keys.json).
  if (options_.keyring != nullptr) {
    if (Status keyed = options_.keyring->CreateCollectionKey(dir); !keyed.ok()) {
      fs::remove_all(dir, ec);
      return keyed;
    }
  }
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
    std::unique_lock<std::mutex> lock(mu_);
    AwaitReplace(lock, name);
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
  if (options_.keyring != nullptr) options_.keyring->ForgetDirectory(dir);
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
  std::unique_lock<std::mutex> lock(mu_);
  AwaitReplace(lock, name);
  auto it = collections_.find(name);
  if (it == collections_.end()) {
    return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
  }
  return it->second;
}

bool Database::Exists(const std::string& name) const {
  std::unique_lock<std::mutex> lock(mu_);
  AwaitReplace(lock, name);
  return collections_.count(name) != 0;
}

std::vector<std::string> Database::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> names(replacing_);  // being replaced: listed, as before and after
  for (const auto& [name, c] : collections_) names.insert(name);
  return std::vector<std::string>(names.begin(), names.end());
}

void Database::AwaitReplace(std::unique_lock<std::mutex>& lock, const std::string& name) const {
  replaced_.wait(lock, [&] { return replacing_.count(name) == 0; });
}

std::string Database::StagingDir() {
  return options_.data_dir + "/collections/.recover-" + std::to_string(::getpid()) + "-" +
         std::to_string(next_staging_.fetch_add(1));
}

namespace {

// Exchanges two directories in one step (renameat2 RENAME_EXCHANGE), so that a crash leaves each name
// with one of the two; `b` may be absent, then a is renamed to b.
Status ExchangeDirs(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (!fs::exists(b, ec)) {
    fs::rename(a, b, ec);
    if (ec) return absl::UnavailableError("cannot rename " + a + " to " + b + ": " + ec.message());
    return absl::OkStatus();
  }
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) {
    return absl::UnavailableError("cannot exchange " + a + " and " + b + ": " + std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace

Status Database::ReplaceCollection(const std::string& name, const std::string& staged_dir,
                                   std::chrono::milliseconds drain) {
  VJ_RETURN_IF_ERROR(ValidateCollectionName(name));
  VJ_ASSIGN_OR_RETURN(CollectionConfig config, LoadCollectionConfig(staged_dir));
  std::shared_ptr<Collection> old;
  {
    std::unique_lock<std::mutex> lock(mu_);
    AwaitReplace(lock, name);
    if (aliases_.Contains(name)) {
      return absl::AlreadyExistsError("Can't recover collection with name " + name +
                                      ". Alias with the same name already exists");
    }
    auto it = collections_.find(name);
    if (it == collections_.end() && options_.max_collections != 0 &&
        collections_.size() >= options_.max_collections) {
      return absl::InvalidArgumentError("collections: " + std::to_string(collections_.size() + 1) +
                                        " collections is over the limit of " +
                                        std::to_string(options_.max_collections) + " (setting limits.collections)");
    }
    if (it != collections_.end()) {
      old = std::move(it->second);
      collections_.erase(it);
    }
    replacing_.insert(name);
  }
  // Ends the replacement: `current` (if any) serves `name` again.
  auto finish = [&](std::shared_ptr<Collection> current) {
    std::lock_guard<std::mutex> lock(mu_);
    if (current) collections_[name] = std::move(current);
    replacing_.erase(name);
    replaced_.notify_all();
  };
  if (old) {
    // Requests that got the collection before the replacement began finish with it first: its files
    // must be closed before they move.
    const auto until = std::chrono::steady_clock::now() + drain;
    while (old.use_count() > 1 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (old.use_count() > 1) {
      finish(std::move(old));
      return absl::UnavailableError("collection `" + name + "` is still in use by running requests; retry later");
    }
    old->WaitForQueuedWrites();
    old.reset();  // drains its writers, flushes and closes its stores
  }
  const std::string dir = CollectionDir(name);
  const std::string root = options_.data_dir + "/collections";
  // With encryption, each directory's files are readable under the key of its own keys.json, which
  // moves with it: after every exchange `dir` is registered with the key of what it now holds.
  auto load_key = [&]() -> Status {
    return options_.keyring != nullptr ? options_.keyring->LoadCollectionKey(dir) : absl::OkStatus();
  };
  auto reopen_old = [&]() -> std::shared_ptr<Collection> {
    if (!load_key().ok()) return nullptr;
    auto loaded = LoadCollectionConfig(dir);
    if (!loaded.ok()) return nullptr;
    auto reopened = Collection::Open(name, dir, std::move(*loaded), options_.collection);
    return reopened.ok() ? std::shared_ptr<Collection>(std::move(*reopened)) : nullptr;
  };
  const bool had_old = fs::exists(dir + "/config.json");
  if (Status swapped = ExchangeDirs(staged_dir, dir); !swapped.ok()) {
    finish(had_old ? reopen_old() : nullptr);
    return swapped;
  }
  if (Status synced = SyncDirectory(root); !synced.ok()) {
    // Not known to be durable: put the old one back, as if nothing happened.
    (void)ExchangeDirs(dir, staged_dir);
    finish(had_old ? reopen_old() : nullptr);
    return synced;
  }
  Status keyed = load_key();
  auto opened = keyed.ok() ? Collection::Open(name, dir, std::move(config), options_.collection)
                           : StatusOr<std::unique_ptr<Collection>>(keyed);
  if (!opened.ok()) {
    (void)ExchangeDirs(dir, staged_dir);  // the old one (if any) back in place
    (void)SyncDirectory(root);
    finish(had_old ? reopen_old() : nullptr);
    return opened.status();
  }
  finish(std::shared_ptr<Collection>(std::move(*opened)));
  std::error_code ec;
  fs::remove_all(staged_dir, ec);  // the old collection's files, if there was one
  return absl::OkStatus();
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

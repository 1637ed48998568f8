// Database: the collections of one node, stored under a data directory:
//   <data_dir>/collections/<name>/config.json   the collection's config (atomically replaced)
//   <data_dir>/collections/<name>/store/        its PointStore (RocksDB)
// Creating and deleting collections is durable when the call returns.
//
// Thread-safety: all methods are safe to call concurrently; collections are shared with readers through
// shared_ptr so a delete never frees one under a running request.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "collection/catalog.h"
#include "collection/collection.h"
#include "core/status.h"

namespace vj {

class Keyring;


struct DatabaseOptions {
  std::string data_dir = "./data";
  CollectionOptions collection;
  // CreateCollection refuses (InvalidArgument) a collection beyond this many; 0 = no limit. Collections
  // already on disk all open at start, whatever their number.
  size_t max_collections = 0;
  // Encryption at rest: the keyring that gives each new collection its data key (storage/keyring.h);
  // null = encryption off. Not owned; outlives the database.
  Keyring* keyring = nullptr;
};

struct DatabaseStats {
  struct PerCollection {
    std::string name;
    uint64_t points = 0;
    double load_seconds = 0;
    uint64_t quarantined_records = 0;  // see Collection::quarantined_records
  };
  std::vector<PerCollection> collections;
  double recovery_seconds = 0;  // time Open spent loading every collection
};

class Database final : public Catalog {
 public:
  // Opens data_dir (creating it) and loads every stored collection. A collection whose files are
  // unreadable fails the open with its error (DataLoss/IOError) rather than being silently dropped.
  [[nodiscard]] static StatusOr<std::unique_ptr<Database>> Open(const DatabaseOptions& options);
  ~Database() override;

  // AlreadyExists / InvalidArgument.
  [[nodiscard]] Status CreateCollection(const std::string& name, const CollectionConfig& config) override;
  // NotFound when absent.
  [[nodiscard]] Status DeleteCollection(const std::string& name) override;
  // NotFound ("Collection `x` doesn't exist!") when absent.
  [[nodiscard]] StatusOr<std::shared_ptr<Collection>> Get(const std::string& name) const override;
  bool Exists(const std::string& name) const override;
  std::vector<std::string> List() const override;
  // Aliases live in <data_dir>/aliases.json, replaced durably on every change (core/durable_file.h).
  std::optional<std::string> ResolveAlias(const std::string& name) const override;
  [[nodiscard]] Status UpdateAliases(const std::vector<AliasAction>& actions) override;
  std::vector<AliasEntry> ListAliases() const override;

  // Makes the collection stored in `staged_dir` (a directory under <data_dir>/collections whose name
  // starts with '.', holding config.json and shards/<n>/store) the collection `name`, replacing the
  // one of that name if any (snapshot recovery). Atomic for requests: while it runs, Get/Exists/Create/
  // Delete of `name` wait, then see the new collection; none sees it missing or half-loaded. The old
  // collection is closed once the requests holding it finish (Unavailable, nothing changed, when they
  // do not within `drain`), then the two directories are exchanged in one rename (a crash leaves one
  // or the other), and the new one is opened; if it does not open, the old one comes back and the
  // error is returned. On success the old collection's files are removed with staged_dir.
  [[nodiscard]] Status ReplaceCollection(const std::string& name, const std::string& staged_dir,
                                         std::chrono::milliseconds drain = std::chrono::seconds(60));
  // A fresh directory name for ReplaceCollection's staged_dir (not created).
  std::string StagingDir();
  // The directory of collection `name` (whether or not it exists).
  std::string CollectionDirOf(const std::string& name) const { return CollectionDir(name); }
  // The keyring of encryption at rest, or null when it is off.
  Keyring* keyring() const { return options_.keyring; }

  const std::string& data_dir() const { return options_.data_dir; }
  DatabaseStats Stats() const;
  // Flushes every collection's storage.
  [[nodiscard]] Status Flush();

 private:
  explicit Database(DatabaseOptions options) : options_(std::move(options)) {}
  std::string CollectionDir(const std::string& name) const;
  std::string AliasFile() const { return options_.data_dir + "/aliases.json"; }
  // Loads the stored aliases, dropping those whose collection is gone (a delete that crashed before
  // it stored the pruned aliases). Called by Open, before the database is shared.
  [[nodiscard]] Status LoadAliases();

  const DatabaseOptions options_;
  double recovery_seconds_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Collection>> collections_;  // guarded by mu_
  // Guarded by mu_, with collections_: an alias and a collection never share a name.
  AliasMap aliases_;
  // Names a ReplaceCollection is swapping (guarded by mu_); replaced_ is signalled when one finishes.
  std::set<std::string> replacing_;
  mutable std::condition_variable replaced_;
  // Waits (with `lock` on mu_ held) until `name` is not being replaced.
  void AwaitReplace(std::unique_lock<std::mutex>& lock, const std::string& name) const;
  std::atomic<uint64_t> next_trash_{0};  // names deletions' temporary directories (.trash-<n>)
  std::atomic<uint64_t> next_staging_{0};  // names StagingDir's directories (.recover-<n>)
};

}  // namespace vj

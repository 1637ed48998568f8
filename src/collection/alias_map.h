// AliasMap: collection aliases, other names under which a collection is reached (Qdrant's collection
// aliases). It holds the alias -> collection pairs, applies a list of alias actions all or none, and
// reads and writes the stored form (a standalone node's <data_dir>/aliases.json, a cluster's
// <prefix>/aliases key in etcd).
//
// Names: an alias is named like a collection (collection/collection_config.h ValidateCollectionName)
// and never like an existing collection; at most kMaxAliases aliases (the stored form stays well under
// etcd's 1.5 MiB value limit). Several aliases may name one collection; an alias names one collection.
//
// Thread-safety: a value type. Const methods may run concurrently; a mutation needs external
// synchronization. Its owner (Database, ClusterNode) serializes alias changes with collection creates
// and deletes, so that an alias and a collection never share a name.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace vj {

struct AliasAction {
  enum class Kind { kCreate, kDelete, kRename };
  Kind kind = Kind::kCreate;
  std::string alias;       // kCreate: the new alias; kDelete: the alias; kRename: the old name
  std::string collection;  // kCreate: the collection it names
  std::string new_alias;   // kRename: the new name
};

// "create_alias", "delete_alias", "rename_alias" (Qdrant's names of the actions).
std::string_view AliasActionName(AliasAction::Kind kind);

struct AliasEntry {
  std::string alias;
  std::string collection;
  bool operator==(const AliasEntry&) const = default;
};

class AliasMap {
 public:
  static constexpr size_t kMaxAliases = 2048;

  // Applies `actions` in order, all or none. create_alias needs an existing collection and a name that
  // is no collection's; on an existing alias it points that alias at the new collection (as Qdrant
  // does, which makes a switch one action). delete_alias and rename_alias need an existing alias;
  // rename_alias's new name must be free (no alias, no collection). On error the map is unchanged and
  // the message names the action ("actions[1] (delete_alias): ..."): NotFound (no such collection or
  // alias), AlreadyExists (a name taken), InvalidArgument (a malformed name, too many aliases).
  // `collection_exists` is asked about collection names only.
  [[nodiscard]] Status Apply(const std::vector<AliasAction>& actions,
                             const std::function<bool(const std::string&)>& collection_exists);

  // The collection `alias` names, or nullopt when it is no alias.
  std::optional<std::string> Resolve(std::string_view alias) const;
  bool Contains(std::string_view alias) const { return aliases_.find(alias) != aliases_.end(); }
  // Every alias, by alias name.
  std::vector<AliasEntry> List() const;
  // Drops every alias of `collection` (it was deleted); returns how many.
  size_t RemoveCollection(std::string_view collection);
  size_t size() const { return aliases_.size(); }
  bool empty() const { return aliases_.empty(); }
  bool operator==(const AliasMap&) const = default;

  // Stored form: {"format": 1, "aliases": {"<alias>": "<collection>", ...}}.
  std::string Serialize() const;
  // DataLoss naming `where` when `bytes` is not a stored form this version reads (malformed JSON, a bad
  // name, too many aliases): a stored file is never half-read.
  [[nodiscard]] static StatusOr<AliasMap> Parse(std::string_view bytes, const std::string& where);

 private:
  std::map<std::string, std::string, std::less<>> aliases_;  // alias -> collection
};

}  // namespace vj

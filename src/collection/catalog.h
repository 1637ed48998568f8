// Catalog: the collections a node serves, by name. A standalone node's Catalog is its Database
// (collection/database.h); in cluster mode it is the cluster's (cluster/cluster_catalog.h), whose
// collections are shared through etcd and whose shards may live on other nodes. The REST API works
// against this interface only.
//
// Aliases (collection/alias_map.h): other names of collections. ResolveAlias is the one place an alias
// becomes a collection name: the request pipeline calls it once per request, before authorization, and
// the handler gets the collection's name. Every other method takes collection names only.
// Thread-safety: implementations are safe to call concurrently.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collection/alias_map.h"
#include "collection/collection.h"
#include "collection/collection_config.h"
#include "collection/read_consistency.h"
#include "core/status.h"

namespace vj {

class Catalog {
 public:
  virtual ~Catalog() = default;
  // AlreadyExists / InvalidArgument.
  [[nodiscard]] virtual Status CreateCollection(const std::string& name, const CollectionConfig& config) = 0;
  // NotFound when absent.
  [[nodiscard]] virtual Status DeleteCollection(const std::string& name) = 0;
  // NotFound ("Collection `x` doesn't exist!") when absent.
  [[nodiscard]] virtual StatusOr<std::shared_ptr<Collection>> Get(const std::string& name) const = 0;
  // The collection for reads with the given consistency (collection/read_consistency.h); a node without
  // replicas has one copy, which every level reads.
  [[nodiscard]] virtual StatusOr<std::shared_ptr<Collection>> GetForReads(const std::string& name,
                                                                          ReadConsistency) const {
    return Get(name);
  }
  virtual bool Exists(const std::string& name) const = 0;
  virtual std::vector<std::string> List() const = 0;

  // The collection the alias `name` points at; nullopt when `name` is no alias (a collection's name, or
  // nothing's). Allocates only for an alias.
  virtual std::optional<std::string> ResolveAlias(const std::string& name) const = 0;
  // Applies an alias action list all or none (AliasMap::Apply's errors), durably: OK once it is stored.
  [[nodiscard]] virtual Status UpdateAliases(const std::vector<AliasAction>& actions) = 0;
  // Every alias, by alias name.
  virtual std::vector<AliasEntry> ListAliases() const = 0;
};

}  // namespace vj

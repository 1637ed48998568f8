// Collection namespaces (docs/tenancy.md): a tenant's collections are stored under namespaced names
// "<tenant>~<name>", so tenant A's `docs` ("a~docs") is not tenant B's ("b~docs") nor the shared `docs`.
// '~' is refused in every name a client chooses (ValidateUserCollectionName), so a namespaced name never
// collides with one; it is a valid file name and etcd key, and URL-safe (RFC 3986 "unreserved").
//
// NamespacedCatalog is the one place names are mapped: a Catalog over the node's catalog that a
// request's handlers (and the request pipeline's alias resolution) use. It takes and returns the names
// the client sees and maps them to stored names and back, for path names and for names inside bodies
// (alias actions, with_lookup) alike, and hides whatever lies outside its namespace:
//   kTenant: a tenant principal's view: only "<tenant>~*" collections and aliases, without the prefix;
//   kShared: a principal of no tenant without node-wide admin: only names without '~';
//   kAll:    a node-wide admin (or a peer): every stored name as it is, tenants' included (read, write,
//            delete); names it creates (collections, aliases) are user names, never namespaced.
// A name outside the namespace reads as absent (NotFound, "doesn't exist"), exactly as a name that
// exists nowhere, so that existence does not leak.
//
// Thread-safety: as the wrapped catalog; the view itself is immutable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "collection/catalog.h"
#include "core/tenant_id.h"

namespace vj {

inline constexpr size_t kMaxStoredCollectionNameLength = 255;

class NamespacedCatalog final : public Catalog {
 public:
  enum class View : uint8_t { kAll, kShared, kTenant };

  // `tenant` is used (and must be a valid id) for kTenant only. `max_collections` (0: no quota) bounds
  // how many collections the namespace may hold (a tenant's quota; docs/tenancy.md).
  NamespacedCatalog(Catalog& inner, View view, std::string tenant = "", uint64_t max_collections = 0);

  View view() const { return view_; }
  const std::string& tenant() const { return tenant_; }
  // The stored name of a name the client gave; nullopt when it can name nothing in this view.
  std::optional<std::string> ToStored(std::string_view visible) const;
  // The name the client sees for a stored name; nullopt when it lies outside this view.
  std::optional<std::string> ToVisible(std::string_view stored) const;
  // `message` with this view's stored names shown as the client's (the tenant prefix removed).
  std::string Unmap(std::string message) const;
  Status Unmap(const Status& status) const;

  Status CreateCollection(const std::string& name, const CollectionConfig& config) override;
  Status DeleteCollection(const std::string& name) override;
  StatusOr<std::shared_ptr<Collection>> Get(const std::string& name) const override;
  StatusOr<std::shared_ptr<Collection>> GetForReads(const std::string& name,
                                                    ReadConsistency consistency) const override;
  bool Exists(const std::string& name) const override;
  std::vector<std::string> List() const override;
  std::optional<std::string> ResolveAlias(const std::string& name) const override;
  Status UpdateAliases(const std::vector<AliasAction>& actions) override;
  std::vector<AliasEntry> ListAliases() const override;

 private:
  // NotFound in the wording of the catalogs ("Collection `x` doesn't exist!"), with the client's name.
  static Status Absent(const std::string& name);

  Catalog& inner_;
  const View view_;
  const std::string tenant_;
  const std::string prefix_;  // "<tenant>~" for kTenant, else empty
  const uint64_t max_collections_;
};

}  // namespace vj

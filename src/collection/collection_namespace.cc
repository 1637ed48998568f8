#include "collection/collection_namespace.h"

namespace vj {

NamespacedCatalog::NamespacedCatalog(Catalog& inner, View view, std::string tenant, uint64_t max_collections)
    : inner_(inner), view_(view), tenant_(view == View::kTenant ? std::move(tenant) : std::string()),
      prefix_(view == View::kTenant ? tenant_ + kTenantSeparator : std::string()),
      max_collections_(max_collections) {}

std::optional<std::string> NamespacedCatalog::ToStored(std::string_view visible) const {
  switch (view_) {
    case View::kAll: return std::string(visible);
    case View::kShared:
      if (visible.find(kTenantSeparator) != std::string_view::npos) return std::nullopt;
      return std::string(visible);
    case View::kTenant:
      if (visible.empty() || visible.find(kTenantSeparator) != std::string_view::npos) return std::nullopt;
      return prefix_ + std::string(visible);
  }
  return std::nullopt;
}

std::optional<std::string> NamespacedCatalog::ToVisible(std::string_view stored) const {
  switch (view_) {
    case View::kAll: return std::string(stored);
    case View::kShared:
      if (stored.find(kTenantSeparator) != std::string_view::npos) return std::nullopt;
      return std::string(stored);
    case View::kTenant:
      if (stored.size() <= prefix_.size() || stored.substr(0, prefix_.size()) != prefix_) return std::nullopt;
      return std::string(stored.substr(prefix_.size()));
  }
  return std::nullopt;
}

std::string NamespacedCatalog::Unmap(std::string message) const {
  if (prefix_.empty()) return message;
  for (size_t at = message.find(prefix_); at != std::string::npos; at = message.find(prefix_, at)) {
    message.erase(at, prefix_.size());
  }
  return message;
}

Status NamespacedCatalog::Unmap(const Status& status) const {
  if (status.ok() || prefix_.empty()) return status;
  return Status(status.code(), Unmap(std::string(status.message())));
}

Status NamespacedCatalog::Absent(const std::string& name) {
  return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
}

Status NamespacedCatalog::CreateCollection(const std::string& name, const CollectionConfig& config) {
  // Names a client creates are user names in every view (kAll included: an admin does not create
  // collections inside a tenant's namespace).
  VJ_RETURN_IF_ERROR(ValidateUserCollectionName(name));
  std::optional<std::string> stored = ToStored(name);
  if (!stored) return Absent(name);
  if (stored->size() > kMaxStoredCollectionNameLength) {
    return absl::InvalidArgumentError("collection name must have 1 to " +
                                      std::to_string(kMaxStoredCollectionNameLength - prefix_.size()) +
                                      " characters for tenant " + tenant_);
  }
  if (max_collections_ != 0 && !inner_.Exists(*stored)) {
    const size_t held = List().size();
    if (held >= max_collections_) {
      return absl::PermissionDeniedError("tenant " + tenant_ + ": quota max_collections (" +
                                         std::to_string(max_collections_) + ") reached, it has " +
                                         std::to_string(held) + " collections: delete one first");
    }
  }
  return Unmap(inner_.CreateCollection(*stored, config));
}

Status NamespacedCatalog::DeleteCollection(const std::string& name) {
  std::optional<std::string> stored = ToStored(name);
  if (!stored) return Absent(name);
  return Unmap(inner_.DeleteCollection(*stored));
}

StatusOr<std::shared_ptr<Collection>> NamespacedCatalog::Get(const std::string& name) const {
  std::optional<std::string> stored = ToStored(name);
  if (!stored) return Absent(name);
  StatusOr<std::shared_ptr<Collection>> got = inner_.Get(*stored);
  if (!got.ok()) return Unmap(got.status());
  return got;
}

StatusOr<std::shared_ptr<Collection>> NamespacedCatalog::GetForReads(const std::string& name,
                                                                     ReadConsistency consistency) const {
  std::optional<std::string> stored = ToStored(name);
  if (!stored) return Absent(name);
  StatusOr<std::shared_ptr<Collection>> got = inner_.GetForReads(*stored, consistency);
  if (!got.ok()) return Unmap(got.status());
  return got;
}

bool NamespacedCatalog::Exists(const std::string& name) const {
  std::optional<std::string> stored = ToStored(name);
  return stored && inner_.Exists(*stored);
}

std::vector<std::string> NamespacedCatalog::List() const {
  std::vector<std::string> out;
  for (const std::string& stored : inner_.List()) {
    if (std::optional<std::string> visible = ToVisible(stored)) out.push_back(std::move(*visible));
  }
  return out;
}

std::optional<std::string> NamespacedCatalog::ResolveAlias(const std::string& name) const {
  std::optional<std::string> stored = ToStored(name);
  if (!stored) return std::nullopt;
  std::optional<std::string> target = inner_.ResolveAlias(*stored);
  if (!target) return std::nullopt;
  // An alias of this namespace always names a collection of it (UpdateAliases maps both names).
  return ToVisible(*target);
}

Status NamespacedCatalog::UpdateAliases(const std::vector<AliasAction>& actions) {
  std::vector<AliasAction> mapped = actions;
  for (size_t i = 0; i < mapped.size(); ++i) {
    AliasAction& a = mapped[i];
    auto map = [&](std::string& name, const char* field) -> Status {
      if (name.empty()) return absl::OkStatus();  // a field this action does not use
      Status valid = ValidateUserCollectionName(name);
      std::optional<std::string> stored = ToStored(name);
      if (!valid.ok() || !stored) {
        return absl::InvalidArgumentError("actions[" + std::to_string(i) + "] (" +
                                          std::string(AliasActionName(a.kind)) + "): " + field +
                                          " may only contain letters, digits, '_', '-' and '.' (not '~')");
      }
      name = std::move(*stored);
      return absl::OkStatus();
    };
    VJ_RETURN_IF_ERROR(map(a.alias, "alias_name"));
    VJ_RETURN_IF_ERROR(map(a.collection, "collection_name"));
    VJ_RETURN_IF_ERROR(map(a.new_alias, "new_alias_name"));
  }
  return Unmap(inner_.UpdateAliases(mapped));
}

std::vector<AliasEntry> NamespacedCatalog::ListAliases() const {
  std::vector<AliasEntry> out;
  for (const AliasEntry& e : inner_.ListAliases()) {
    std::optional<std::string> alias = ToVisible(e.alias);
    std::optional<std::string> collection = ToVisible(e.collection);
    if (alias && collection) out.push_back(AliasEntry{std::move(*alias), std::move(*collection)});
  }
  return out;
}

}  // namespace vj

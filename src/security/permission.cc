#include "security/permission.h"

namespace vj {

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kPublic: return "public";
    case Permission::kRead: return "read";
    case Permission::kWrite: return "write";
    case Permission::kManage: return "manage";
    case Permission::kAdmin: return "admin";
    case Permission::kInternal: return "internal";
  }
  return "unknown";
}

std::optional<Permission> ParsePermission(std::string_view name) {
  for (Permission p : {Permission::kPublic, Permission::kRead, Permission::kWrite, Permission::kManage,
                       Permission::kAdmin, Permission::kInternal}) {
    if (PermissionName(p) == name) return p;
  }
  return std::nullopt;
}

bool ValidCollectionPattern(std::string_view pattern) {
  if (pattern.empty()) return false;
  const size_t star = pattern.find('*');
  return star == std::string_view::npos || star == pattern.size() - 1;
}

bool CollectionPatternMatches(std::string_view pattern, std::string_view collection) {
  if (!ValidCollectionPattern(pattern)) return false;
  if (pattern.back() != '*') return pattern == collection;
  return collection.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
}

bool Principal::Allows(Permission needed, std::optional<std::string_view> collection) const {
  if (needed == Permission::kPublic) return true;
  if (needed == Permission::kInternal) return is_peer;
  for (const Grant& g : grants) {
    if (g.level == Permission::kInternal || g.level < needed) continue;
    if (collection ? CollectionPatternMatches(g.collections, *collection) : g.collections == "*") return true;
  }
  return false;
}

Principal UnauthenticatedAdmin() {
  Principal p;
  p.id = "anonymous";
  p.roles = {"admin"};
  p.grants = {Grant{"*", Permission::kAdmin}};
  return p;
}

}  // namespace vj

#include "security/roles.h"

#include <optional>

namespace vj {
namespace {

// A bounded, printable rendering of untrusted text for an error message.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + (text.size() > 64 ? "...\"" : "\"");
}

bool IsPrefixPattern(std::string_view p) { return !p.empty() && p.back() == '*'; }

// The intersection of two valid patterns: the pattern matching exactly the names both match.
std::optional<std::string> Intersect(std::string_view a, std::string_view b) {
  if (!IsPrefixPattern(a) && !IsPrefixPattern(b)) return a == b ? std::optional<std::string>(a) : std::nullopt;
  if (!IsPrefixPattern(a)) return CollectionPatternMatches(b, a) ? std::optional<std::string>(a) : std::nullopt;
  if (!IsPrefixPattern(b)) return CollectionPatternMatches(a, b) ? std::optional<std::string>(b) : std::nullopt;
  // Two prefixes: the longer one, when it extends the shorter.
  const std::string_view pa = a.substr(0, a.size() - 1), pb = b.substr(0, b.size() - 1);
  if (pa.size() >= pb.size()) return pa.substr(0, pb.size()) == pb ? std::optional<std::string>(a) : std::nullopt;
  return pb.substr(0, pa.size()) == pa ? std::optional<std::string>(b) : std::nullopt;
}

}  // namespace

const std::vector<Role>& BuiltinRoles() {
  static const std::vector<Role> kRoles = {
      {"admin", {Grant{"*", Permission::kAdmin}}, true},
      {"manager", {Grant{"*", Permission::kManage}}, true},
      {"writer", {Grant{"*", Permission::kWrite}}, true},
      {"reader", {Grant{"*", Permission::kRead}}, true},
  };
  return kRoles;
}

const Role* BuiltinRole(std::string_view name) {
  for (const Role& role : BuiltinRoles()) {
    if (role.name == name) return &role;
  }
  return nullptr;
}

Status ValidateRoleName(std::string_view name, const std::string& where) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(where + ": a role name has 1 to 64 of a-z, 0-9, '_' and '-', got " +
                                    Quote(name));
}

Status ValidatePattern(std::string_view pattern, const std::string& where) {
  bool ok = ValidCollectionPattern(pattern) && pattern.size() <= kMaxPatternLength &&
            (pattern.size() < kMaxPatternLength || pattern.back() == '*');
  for (char c : pattern) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '-' || c == '.' || c == '*');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      where + ": expected a collection name, \"*\", or a prefix ending in \"*\" (\"logs-*\"), got " +
      Quote(pattern));
}

Status ValidateGrants(const std::vector<Grant>& grants, const std::string& where) {
  if (grants.empty() || grants.size() > kMaxGrantsPerRole) {
    return absl::InvalidArgumentError(where + ": expected 1 to " + std::to_string(kMaxGrantsPerRole) +
                                      " grants, got " + std::to_string(grants.size()));
  }
  for (size_t i = 0; i < grants.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    VJ_RETURN_IF_ERROR(ValidatePattern(grants[i].collections, at + ".collections"));
    const Permission level = grants[i].level;
    if (level != Permission::kRead && level != Permission::kWrite && level != Permission::kManage &&
        level != Permission::kAdmin) {
      return absl::InvalidArgumentError(at + ".access: expected read, write, manage or admin");
    }
  }
  return absl::OkStatus();
}

std::vector<Grant> RestrictGrants(const std::vector<Grant>& grants, const std::vector<std::string>& patterns) {
  if (patterns.empty()) return grants;
  std::vector<Grant> out;
  for (const Grant& grant : grants) {
    for (const std::string& pattern : patterns) {
      if (std::optional<std::string> both = Intersect(grant.collections, pattern)) {
        out.push_back(Grant{std::move(*both), grant.level});
      }
    }
  }
  return out;
}

}  // namespace vj

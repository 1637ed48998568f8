// Roles (RBAC): a named set of grants. Four are built in and cannot be changed or deleted:
//   admin   {"*": admin}   everything, keys and roles included
//   manager {"*": manage}  create and delete collections and indexes, and write and read them
//   writer  {"*": write}   write and read every collection
//   reader  {"*": read}    read every collection
// Custom roles (security_store.h) grant levels on collection name patterns (permission.h). This file
// holds the rules both the API and the state file's reader apply, so nothing is stored that cannot be
// read back.
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "security/permission.h"

namespace vj {

struct Role {
  std::string name;
  std::vector<Grant> grants;
  bool builtin = false;
};

inline constexpr size_t kMaxGrantsPerRole = 100;
inline constexpr size_t kMaxPatternLength = 256;  // a 255-character collection name and a '*'

// The built-in roles, in the order above.
const std::vector<Role>& BuiltinRoles();
// The built-in role named `name`, or nullptr.
const Role* BuiltinRole(std::string_view name);

// InvalidArgument, starting with `where`, unless `name` is 1 to 64 of [a-z0-9_-].
Status ValidateRoleName(std::string_view name, const std::string& where);
// InvalidArgument, starting with `where`, unless `pattern` is a valid collection pattern (permission.h)
// of at most kMaxPatternLength characters a collection name may have ('*' only as the last one).
Status ValidatePattern(std::string_view pattern, const std::string& where);
// Checks 1 to kMaxGrantsPerRole grants: valid patterns, levels read, write, manage or admin.
Status ValidateGrants(const std::vector<Grant>& grants, const std::string& where);

// `grants` limited to the collections matching one of `patterns` (empty: not limited): each grant
// becomes its intersection with each pattern ("logs-*" and "logs-eu-*" give "logs-eu-*"; "*" and "a"
// give "a"; disjoint ones give nothing).
std::vector<Grant> RestrictGrants(const std::vector<Grant>& grants, const std::vector<std::string>& patterns);

}  // namespace vj

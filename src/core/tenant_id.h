// Tenant ids (docs/tenancy.md): what a tenant is called in the API, in keys and tokens, and as the prefix
// of its collections' stored names "<tenant>~<name>" (collection/collection_namespace.h). Short, and
// of characters that are safe in file names, etcd keys, URLs and metric labels.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace vj {

inline constexpr char kTenantSeparator = '~';
inline constexpr size_t kMaxTenantIdLength = 32;

// 1 to kMaxTenantIdLength characters of [a-z0-9_-].
inline bool ValidTenantId(std::string_view id) {
  if (id.empty() || id.size() > kMaxTenantIdLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace vj

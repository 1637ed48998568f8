#include "security/static_keys.h"

#include "security/auth_failure.h"
#include "security/roles.h"

namespace vj {

std::optional<std::string_view> PresentedApiKey(const std::map<std::string, std::string>& headers) {
  if (auto it = headers.find("api-key"); it != headers.end()) return std::string_view(it->second);
  auto it = headers.find("authorization");
  if (it == headers.end()) return std::nullopt;
  std::string_view value = it->second;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = value[i] >= 'A' && value[i] <= 'Z' ? static_cast<char>(value[i] - 'A' + 'a') : value[i];
    if (c != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

StaticKeys::StaticKeys(const StaticKeysConfig& config) {
  auto add = [this](const std::string& key, const char* id, const char* role) {
    if (key.empty()) return;
    Principal principal;
    principal.id = id;
    principal.roles = {role};
    principal.grants = BuiltinRole(role)->grants;
    keys_.push_back(Key{Sha256(key), std::move(principal)});
  };
  add(config.api_key, "api-key:main", "admin");
  add(config.alt_api_key, "api-key:alt", "admin");
  add(config.read_only_api_key, "api-key:read-only", "reader");
}

StatusOr<Principal> StaticKeys::Authenticate(std::string_view secret) const {
  const Sha256Digest presented = Sha256(secret);
  // Every key is compared, so the time taken does not say which one matched.
  const Key* found = nullptr;
  for (const Key& key : keys_) {
    if (DigestsEqual(presented, key.digest)) found = &key;
  }
  if (found == nullptr) return AuthFailure("unknown_key", "invalid API key");
  return found->principal;
}

}  // namespace vj

#include "security/security_store.h"

#include <chrono>

#include "core/retry_backoff.h"
#include "security/auth_failure.h"
#include "security/jws.h"

namespace vj {
namespace {

// "vjk_" + 16 hex digits + "_" + 43 base64url characters.
constexpr size_t kSecretRandomBytes = 32;
constexpr size_t kSecretLength = kManagedKeyPrefix.size() + kKeyIdLength + 1 + 43;

ApiKeyInfo InfoOf(const ApiKeyRecord& key, int64_t now) {
  return ApiKeyInfo{key.id, key.spec, key.created_at, key.spec.expires_at != 0 && now >= key.spec.expires_at};
}

// The grants a key has now: its role's (none when the role no longer exists) or its own, limited to its
// collections.
std::vector<Grant> ResolveGrants(const SecurityState& state, const ApiKeySpec& spec) {
  if (spec.role.empty()) return RestrictGrants(spec.grants, spec.collections);
  if (const Role* builtin = BuiltinRole(spec.role)) return RestrictGrants(builtin->grants, spec.collections);
  auto it = state.roles.find(spec.role);
  if (it == state.roles.end()) return {};
  return RestrictGrants(it->second.grants, spec.collections);
}

Status InvalidKey() { return AuthFailure("unknown_key", "invalid API key"); }

}  // namespace

SecurityStore::SecurityStore(std::unique_ptr<SecurityStateBackend> backend, SecurityStoreOptions options)
    : options_(std::move(options)), state_(std::make_shared<SecurityState>()), backend_(std::move(backend)) {}

StatusOr<std::unique_ptr<SecurityStore>> SecurityStore::Open(std::unique_ptr<SecurityStateBackend> backend,
                                                             SecurityStoreOptions options) {
  std::unique_ptr<SecurityStore> store(new SecurityStore(std::move(backend), std::move(options)));
  VJ_RETURN_IF_ERROR(store->Reload());
  SecurityStore* raw = store.get();
  store->backend_->OnChange([raw] { (void)raw->Reload(); });  // a failure is counted in reload_failures_
  return store;
}

Status SecurityStore::Reload() {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  return ReloadLocked();
}

Status SecurityStore::ReloadLocked() {
  Status result = [&]() -> Status {
    VJ_ASSIGN_OR_RETURN(std::string document, backend_->Load());
    if (document.empty()) return absl::OkStatus();  // nothing stored yet
    StatusOr<SecurityState> state = DecodeSecurityState(document);
    if (!state.ok()) return WithContext(state.status(), "security state in " + backend_->Describe());
    std::lock_guard<std::mutex> lock(mu_);
    state_ = std::make_shared<const SecurityState>(std::move(*state));
    return absl::OkStatus();
  }();
  if (!result.ok()) reload_failures_.fetch_add(1);
  return result;
}

std::shared_ptr<const SecurityState> SecurityStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

int64_t SecurityStore::Now() const {
  if (options_.now) return options_.now();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status SecurityStore::Update(const std::function<Status(SecurityState&)>& change) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  Status stored;
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    if (attempt > 0) {
      BackOffBeforeRetry(attempt);              // another node wrote: let it finish its burst
      VJ_RETURN_IF_ERROR(ReloadLocked());  // and start from its state
    }
    SecurityState next = *Snapshot();
    VJ_RETURN_IF_ERROR(change(next));
    ++next.generation;
    stored = backend_->Store(EncodeSecurityState(next));
    if (stored.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      state_ = std::make_shared<const SecurityState>(std::move(next));
      return absl::OkStatus();
    }
    if (!absl::IsAborted(stored)) return stored;
  }
  return WithContext(stored, "other nodes kept changing the API keys and roles (" +
                                 std::to_string(kCommitAttempts) + " attempts); try again");
}

StatusOr<CreatedApiKey> SecurityStore::CreateKey(const ApiKeySpec& spec) {
  VJ_RETURN_IF_ERROR(ValidateApiKeySpec(spec, ""));
  const int64_t now = Now();
  if (spec.expires_at != 0 && spec.expires_at <= now) {
    return absl::InvalidArgumentError("expires_at: " + std::to_string(spec.expires_at) +
                                      " is not in the future (now is " + std::to_string(now) + ")");
  }
  CreatedApiKey created;
  VJ_RETURN_IF_ERROR(Update([&](SecurityState& next) -> Status {
    if (!spec.role.empty() && BuiltinRole(spec.role) == nullptr && next.roles.count(spec.role) == 0) {
      return absl::InvalidArgumentError("role: there is no role \"" + spec.role + "\"");
    }
    if (!spec.tenant.empty() && next.tenants.count(spec.tenant) == 0) {
      return absl::InvalidArgumentError("tenant: there is no tenant \"" + spec.tenant + "\"");
    }
    if (next.keys.size() >= options_.max_keys) {
      return absl::InvalidArgumentError("this node has " + std::to_string(next.keys.size()) +
                                        " API keys, the most it keeps; revoke some first");
    }
    ApiKeyRecord key;
    do {
      VJ_ASSIGN_OR_RETURN(std::string id_bytes, RandomBytes(kKeyIdLength / 2));
      key.id = HexEncode(id_bytes);
    } while (next.keys.count(key.id) != 0);
    VJ_ASSIGN_OR_RETURN(std::string random, RandomBytes(kSecretRandomBytes));
    VJ_ASSIGN_OR_RETURN(key.salt, RandomBytes(kKeySaltBytes));
    std::string secret = std::string(kManagedKeyPrefix) + key.id + "_" + Base64UrlEncode(random);
    key.digest = SaltedSha256(key.salt, secret);
    key.spec = spec;
    key.created_at = now;
    created = CreatedApiKey{InfoOf(key, now), std::move(secret)};
    next.keys.emplace(key.id, std::move(key));
    return absl::OkStatus();
  }));
  return created;
}

std::vector<ApiKeyInfo> SecurityStore::ListKeys() const {
  std::shared_ptr<const SecurityState> state = Snapshot();
  const int64_t now = Now();
  std::vector<ApiKeyInfo> out;
  out.reserve(state->keys.size());
  for (const auto& [id, key] : state->keys) out.push_back(InfoOf(key, now));
  return out;
}

Status SecurityStore::RevokeKey(std::string_view id) {
  return Update([&](SecurityState& next) -> Status {
    auto it = ValidKeyId(id) ? next.keys.find(std::string(id)) : next.keys.end();
    if (it == next.keys.end()) return absl::NotFoundError("there is no API key with this id");
    next.keys.erase(it);
    return absl::OkStatus();
  });
}

StatusOr<Role> SecurityStore::PutRole(const std::string& name, const std::vector<Grant>& grants) {
  VJ_RETURN_IF_ERROR(ValidateRoleName(name, "role name"));
  if (BuiltinRole(name) != nullptr) {
    return absl::FailedPreconditionError("role \"" + name + "\" is built in and cannot be changed");
  }
  VJ_RETURN_IF_ERROR(ValidateGrants(grants, "grants"));
  Role role{name, grants, false};
  VJ_RETURN_IF_ERROR(Update([&](SecurityState& next) -> Status {
    if (next.roles.count(name) == 0 && next.roles.size() >= options_.max_roles) {
      return absl::InvalidArgumentError("this node has " + std::to_string(next.roles.size()) +
                                        " custom roles, the most it keeps; delete some first");
    }
    next.roles[name] = role;
    return absl::OkStatus();
  }));
  return role;
}

std::vector<Role> SecurityStore::ListRoles() const {
  std::shared_ptr<const SecurityState> state = Snapshot();
  std::vector<Role> out = BuiltinRoles();
  for (const auto& [name, role] : state->roles) out.push_back(role);
  return out;
}

Status SecurityStore::DeleteRole(std::string_view name) {
  if (BuiltinRole(name) != nullptr) {
    return absl::FailedPreconditionError("role \"" + std::string(name) + "\" is built in and cannot be deleted");
  }
  return Update([&](SecurityState& next) -> Status {
    auto it = next.roles.find(std::string(name));
    if (it == next.roles.end()) return absl::NotFoundError("there is no custom role with this name");
    next.roles.erase(it);
    return absl::OkStatus();
  });
}

StatusOr<Principal> SecurityStore::Authenticate(std::string_view secret) const {
  const size_t id_at = kManagedKeyPrefix.size();
  if (secret.size() != kSecretLength || secret.substr(0, id_at) != kManagedKeyPrefix ||
      secret[id_at + kKeyIdLength] != '_') {
    return InvalidKey();
  }
  std::shared_ptr<const SecurityState> state = Snapshot();
  auto it = state->keys.find(std::string(secret.substr(id_at, kKeyIdLength)));
  if (it == state->keys.end()) {
    // Hash anyway, so an unknown id takes as long as a wrong secret.
    static const Sha256Digest kNone{};
    (void)DigestsEqual(SaltedSha256(std::string(kKeySaltBytes, '\0'), secret), kNone);
    return InvalidKey();
  }
  const ApiKeyRecord& key = it->second;
  if (!DigestsEqual(SaltedSha256(key.salt, secret), key.digest)) return InvalidKey();
  if (key.spec.expires_at != 0 && Now() >= key.spec.expires_at) {
    return AuthFailure("expired", "API key expired");
  }
  Principal principal;
  principal.id = "key:" + key.id;
  if (!key.spec.role.empty()) principal.roles = {key.spec.role};
  principal.grants = ResolveGrants(*state, key.spec);
  principal.tenant = key.spec.tenant;
  return principal;
}

StatusOr<TenantRecord> SecurityStore::CreateTenant(const TenantRecord& spec) {
  VJ_RETURN_IF_ERROR(ValidateTenant(spec, ""));
  TenantRecord tenant = spec;
  tenant.created_at = Now();
  VJ_RETURN_IF_ERROR(Update([&](SecurityState& next) -> Status {
    if (next.tenants.count(tenant.id) != 0) {
      return absl::AlreadyExistsError("tenant \"" + tenant.id + "\" already exists");
    }
    if (next.tenants.size() >= options_.max_tenants) {
      return absl::InvalidArgumentError("this node has " + std::to_string(next.tenants.size()) +
                                        " tenants, the most it keeps; delete some first");
    }
    next.tenants.emplace(tenant.id, tenant);
    return absl::OkStatus();
  }));
  return tenant;
}

std::vector<TenantRecord> SecurityStore::ListTenants() const {
  std::shared_ptr<const SecurityState> state = Snapshot();
  std::vector<TenantRecord> out;
  out.reserve(state->tenants.size());
  for (const auto& [id, tenant] : state->tenants) out.push_back(tenant);
  return out;
}

std::optional<TenantRecord> SecurityStore::GetTenant(std::string_view id) const {
  std::shared_ptr<const SecurityState> state = Snapshot();
  auto it = state->tenants.find(std::string(id));
  if (it == state->tenants.end()) return std::nullopt;
  return it->second;
}

StatusOr<size_t> SecurityStore::DeleteTenant(std::string_view id) {
  size_t revoked = 0;
  VJ_RETURN_IF_ERROR(Update([&](SecurityState& next) -> Status {
    auto it = next.tenants.find(std::string(id));
    if (it == next.tenants.end()) return absl::NotFoundError("there is no tenant \"" + std::string(id) + "\"");
    next.tenants.erase(it);
    revoked = std::erase_if(next.keys, [&](const auto& entry) { return entry.second.spec.tenant == id; });
    return absl::OkStatus();
  }));
  return revoked;
}

}  // namespace vj

// SecurityStore: managed API keys, custom roles (issue 10) and tenants (docs/tenancy.md), kept in a
// SecurityStateBackend.
//
// A managed key's secret is "vjk_<id>_<43 characters of base64url>" (32 random bytes); it is returned
// once, by CreateKey, and only (salt, SHA-256(salt || secret)) is kept (security_state.h says why a fast
// hash is right for such secrets). Authenticate takes the id out of the secret, finds the key, compares
// digests in constant time, checks the expiry, and resolves the key's grants from its role at that
// moment: a role edited or deleted takes effect on the next request (a key whose role was deleted
// authenticates with no grants). Unknown, revoked and wrong secrets get the same AuthFailure
// ("unknown_key", "invalid API key"), so a probe learns nothing; an expired one gets ("expired", ...)
// only when the secret was right.
//
// Thread-safety: every method may be called concurrently. Readers (Authenticate, List*) take the current
// immutable snapshot (a shared_ptr<const SecurityState> copied under a mutex held for that copy only)
// and never wait for a writer. Writers (CreateKey, RevokeKey, PutRole, DeleteRole, Reload) are
// serialized (CreateTenant and DeleteTenant too): each copies the snapshot, changes the copy, stores it durably through the backend, and
// only then publishes it. A write that could not be stored changes nothing. A backend shared with other
// writers (etcd, in a cluster) answers Aborted when the document changed since it was read: the store
// then backs off for a random, growing while, reloads and applies the change again to what is now
// stored (up to kCommitAttempts times), so
// concurrent writers on different nodes never lose each other's changes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/base/thread_annotations.h>

#include "core/status.h"
#include "security/permission.h"
#include "security/roles.h"
#include "security/security_state.h"
#include "security/security_state_backend.h"

namespace vj {

inline constexpr std::string_view kManagedKeyPrefix = "vjk_";
inline constexpr int kCommitAttempts = 10;

struct SecurityStoreOptions {
  size_t max_keys = 10000;  // managed keys, expired ones included until revoked
  size_t max_roles = 1000;  // custom roles
  size_t max_tenants = 1000;
  // Unix seconds now; the system clock when unset (tests pass their own).
  std::function<int64_t()> now;
};

// A key as it is listed: no secret, no digest.
struct ApiKeyInfo {
  std::string id;
  ApiKeySpec spec;
  int64_t created_at = 0;
  bool expired = false;
};

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string secret;  // shown once
};

class SecurityStore {
 public:
  // Loads the backend's document. DataLoss naming where it lives (backend->Describe()) when it is
  // damaged: the node must not start on a security state it cannot read.
  static StatusOr<std::unique_ptr<SecurityStore>> Open(std::unique_ptr<SecurityStateBackend> backend,
                                                       SecurityStoreOptions options = {});

  // InvalidArgument naming the field for a bad spec, an unknown role, an expiry not in the future, or
  // when max_keys keys exist; the backend's error when it cannot be stored.
  StatusOr<CreatedApiKey> CreateKey(const ApiKeySpec& spec);
  std::vector<ApiKeyInfo> ListKeys() const;  // by id
  // NotFound for an unknown id.
  Status RevokeKey(std::string_view id);

  // Creates or replaces the custom role `name`. FailedPrecondition for a built-in role; InvalidArgument
  // for a bad name or grants, or a new role past max_roles.
  StatusOr<Role> PutRole(const std::string& name, const std::vector<Grant>& grants);
  std::vector<Role> ListRoles() const;  // built-in roles, then custom ones by name
  // FailedPrecondition for a built-in role, NotFound for an unknown one. Keys with this role remain and
  // authenticate with no grants until a role of this name exists again.
  Status DeleteRole(std::string_view name);

  // Tenants (docs/tenancy.md). CreateTenant: InvalidArgument for a bad id or quota or past max_tenants,
  // AlreadyExists for a taken id.
  StatusOr<TenantRecord> CreateTenant(const TenantRecord& spec);
  std::vector<TenantRecord> ListTenants() const;  // by id
  std::optional<TenantRecord> GetTenant(std::string_view id) const;
  // Deletes the tenant and revokes its keys (returned: how many); NotFound for an unknown id. Its
  // collections are the caller's to delete first (api/handlers_tenants.cc).
  StatusOr<size_t> DeleteTenant(std::string_view id);

  // The principal "key:<id>" of a managed key's secret, or an AuthFailure.
  StatusOr<Principal> Authenticate(std::string_view secret) const;

  // Reads the backend's document again (after another node changed it); keeps the current state when
  // it cannot (DataLoss or Unavailable, also counted in reload_failures()).
  Status Reload();
  uint64_t reload_failures() const { return reload_failures_.load(); }

 private:
  SecurityStore(std::unique_ptr<SecurityStateBackend> backend, SecurityStoreOptions options);

  std::shared_ptr<const SecurityState> Snapshot() const;
  // Applies `change` to a copy of the current state, stores it (its generation one more) and publishes
  // it; on the backend's Aborted reloads and applies `change` again. `change`'s error is returned as is,
  // with nothing stored.
  Status Update(const std::function<Status(SecurityState&)>& change);
  Status ReloadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  int64_t Now() const;

  // Set at construction, never changed.
  const SecurityStoreOptions options_;

  std::mutex write_mu_;  // serializes writers; held across the backend's Store
  mutable std::mutex mu_;  // guards the pointer only
  std::shared_ptr<const SecurityState> state_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> reload_failures_{0};
  // Declared last, so destroyed first: its change callbacks (which reload) stop before the rest goes.
  const std::unique_ptr<SecurityStateBackend> backend_;
};

}  // namespace vj

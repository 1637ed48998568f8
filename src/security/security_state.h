// SecurityState: everything the node keeps about managed API keys, custom roles and tenants, and its on-disk /
// in-etcd form: one JSON document
//   {"format": "vjvector-security-state", "version": 1, "crc32c": N, "state": {...}}
// where N is the CRC32C of the serialized "state" object. A document that is not exactly this (bad
// JSON, another version, a wrong checksum, a field out of range) is DataLoss: the reader applies the
// same rules as the API (roles.h, ValidateApiKeySpec), so anything stored can be read back.
//
// Secrets are never stored: a key keeps (salt, SHA-256(salt || secret)). The secret is 32 random bytes
// (256 bits), so a fast hash suffices: nothing can be guessed faster than the key itself, and a slow KDF
// (bcrypt, Argon2) would only make every request slower.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "security/permission.h"
#include "security/roles.h"
#include "security/secret_digest.h"

namespace vj {

inline constexpr size_t kMaxKeyNameLength = 128;
inline constexpr size_t kMaxKeyDescriptionLength = 1024;
inline constexpr size_t kMaxKeyCollections = 100;
inline constexpr int64_t kMaxUnixSeconds = 253402300799;  // 9999-12-31T23:59:59Z
inline constexpr size_t kKeyIdLength = 16;                 // lower-case hex digits
inline constexpr size_t kKeySaltBytes = 16;

// What an API key may do: a role (built-in or custom) or its own grants, optionally limited to some
// collections; when it expires (unix seconds, 0 = never), and labels for people.
struct ApiKeySpec {
  std::string role;                      // empty: `grants` instead
  std::vector<Grant> grants;             // only without `role`
  std::vector<std::string> collections;  // patterns the grants are limited to; empty = not limited
  int64_t expires_at = 0;
  std::string name;
  std::string description;
  std::string tenant;  // the tenant the key acts for (docs/tenancy.md); empty: none
};

struct ApiKeyRecord {
  std::string id;  // kKeyIdLength lower-case hex digits; the secret is "vjk_" + id + "_" + random
  ApiKeySpec spec;
  int64_t created_at = 0;
  std::string salt;  // kKeySaltBytes random bytes
  Sha256Digest digest{};  // SHA-256(salt || secret)
};

// A tenant's quotas (docs/tenancy.md); 0 = unlimited.
inline constexpr uint64_t kMaxTenantQuotaCount = 1000000000000;  // 10^12
inline constexpr double kMaxTenantQuotaRate = 1000000;
struct TenantQuotas {
  uint64_t max_collections = 0;
  uint64_t max_points = 0;  // over all its collections, checked on upserts (approximate)
  double read_per_s = 0;    // requests a second (a bucket of one second's worth), per node
  double write_per_s = 0;
  bool operator==(const TenantQuotas&) const = default;
};

struct TenantRecord {
  std::string id;  // collection/collection_namespace.h ValidTenantId
  TenantQuotas quotas;
  int64_t created_at = 0;
  bool operator==(const TenantRecord&) const = default;
};

struct SecurityState {
  uint64_t generation = 0;                   // one more on every stored change
  std::map<std::string, ApiKeyRecord> keys;  // by id
  std::map<std::string, Role> roles;         // custom roles by name
  std::map<std::string, TenantRecord> tenants;  // by id
};

// InvalidArgument naming the field (under `where`, or by its own name when empty) for an id that is not
// 1-32 characters of [a-z0-9_-] or a quota out of range.
Status ValidateTenant(const TenantRecord& tenant, const std::string& where);

// The shape rules of a key (role XOR 1..100 grants, valid patterns and role name, bounded labels,
// expires_at within 0..kMaxUnixSeconds); InvalidArgument naming the field under `where` (empty: the
// fields by their own names, as in a request body). Whether the role exists
// and the expiry is in the future are the store's checks.
Status ValidateApiKeySpec(const ApiKeySpec& spec, const std::string& where);
bool ValidKeyId(std::string_view id);

std::string EncodeSecurityState(const SecurityState& state);
// DataLoss saying what is wrong (the caller adds which file) for anything but a document that
// EncodeSecurityState could have written.
StatusOr<SecurityState> DecodeSecurityState(std::string_view document);

}  // namespace vj

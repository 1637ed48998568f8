// Permissions and principals: who made a request and what it may do. The route table (server/) declares
// the Permission each route needs; authenticators (API keys, JWT, OIDC) produce a Principal; the
// authorize step asks Principal::Allows. Nothing else decides access.
//
// Permissions are ordered for collections: read < write < manage < admin, and a grant of one level
// includes the levels below it. kPublic needs no principal; kInternal is for peers only and is never
// granted by a Grant: only a peer principal (is_peer) has it, and only the peer port makes one.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vj {

enum class Permission : uint8_t {
  kPublic = 0,  // no principal needed (/, /livez, /readyz)
  kRead = 1,    // read points, search, list and describe collections
  kWrite = 2,   // upsert, delete, payload edits
  kManage = 3,  // create and delete collections and payload indexes
  kAdmin = 4,   // keys, roles, cluster operations (rebalance), every collection
  kInternal = 5,  // node-to-node only; never granted to a principal
};

std::string_view PermissionName(Permission p);  // "public", "read", "write", "manage", "admin", "internal"
std::optional<Permission> ParsePermission(std::string_view name);

// One grant: `level` (and the levels below it) on the collections whose names match `collections`.
// A pattern is an exact name, "*" (every collection), or a prefix ending in "*" ("logs-*").
struct Grant {
  std::string collections = "*";
  Permission level = Permission::kRead;
  bool operator==(const Grant&) const = default;
};

bool CollectionPatternMatches(std::string_view pattern, std::string_view collection);
// Whether `pattern` is well-formed: non-empty, at most one '*', only as its last character.
bool ValidCollectionPattern(std::string_view pattern);

// Qdrant's JWT `value_exists` claim: the token is valid only while `collection` holds at least one
// point whose payload matches every (key, value) pair (an empty list matches any point). `key` is a
// payload path as in a filter's "key"; values are strings, integers or booleans, as in a match filter.
// The JWT verifier parses it; the authenticator that holds the collections checks it on every request.
struct ValueExistsCondition {
  struct Match {
    std::string key;
    std::variant<std::string, int64_t, bool> value;
  };
  std::string collection;
  std::vector<Match> matches;
};

struct Principal {
  // Stable, secret-free identity for logs, audit and rate-limit buckets: "api-key:main",
  // "api-key:read-only", "key:<id>", "jwt:<subject>", "oidc:<subject>", "anonymous".
  std::string id;
  // Role names it was given. Grants are resolved already; the names pick per-role rate limits
  // (security/rate_limiter.h) and go to logs.
  std::vector<std::string> roles;
  std::vector<Grant> grants;
  // A cluster peer (the peer port's authenticator); the only principal kInternal routes allow.
  bool is_peer = false;
  // The tenant it acts for (a key's `tenant`, a token's tenant claim; docs/tenancy.md); empty: none. A
  // tenant principal sees only its tenant's collections, under their own names, and no node-wide route.
  std::string tenant;
  // Qdrant's JWT `value_exists` claim, kept for the authenticator that checks it; empty otherwise.
  std::string value_exists_json;
  // The same claim, parsed and validated; set exactly when value_exists_json is non-empty.
  std::optional<ValueExistsCondition> value_exists;

  // Whether the principal may do `needed` on `collection` (a collection-scoped route), or, without a
  // collection, on the node as a whole (needs a grant on "*").
  bool Allows(Permission needed, std::optional<std::string_view> collection) const;
  // Whether any grant lets it at least read `collection` (for filtering GET /collections).
  bool CanSee(std::string_view collection) const { return Allows(Permission::kRead, collection); }
};

// The principal of a node where authentication is off (security.allow_unauthenticated or loopback
// without keys): everything a user may do.
Principal UnauthenticatedAdmin();

}  // namespace vj

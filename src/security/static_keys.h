// StaticKeys: the API keys of the node's configuration (security.api_key, security.alt_api_key,
// security.read_only_api_key), presented as Qdrant clients do: an `api-key: KEY` header or
// `Authorization: Bearer KEY`. The main and alternative keys give everything a user may do (role
// admin); two of them let an operator rotate the key without downtime. The read-only key gives role
// reader. Only SHA-256 digests of the keys are kept, compared in constant time (the length of a key
// does not leak either).
// Thread-safety: immutable after construction; Authenticate may be called concurrently.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "security/permission.h"
#include "security/secret_digest.h"

namespace vj {

// The credential of a request: the `api-key` header, else the token of `Authorization: Bearer ...`
// (headers by lower-case name); nullopt when neither is there. The scheme is matched without regard to
// case (RFC 7235).
std::optional<std::string_view> PresentedApiKey(const std::map<std::string, std::string>& headers);

struct StaticKeysConfig {
  std::string api_key;            // empty = none
  std::string alt_api_key;        // empty = none
  std::string read_only_api_key;  // empty = none
};

class StaticKeys {
 public:
  explicit StaticKeys(const StaticKeysConfig& config);

  // Whether any key is configured.
  bool empty() const { return keys_.empty(); }
  // The principal whose key `secret` is ("api-key:main", "api-key:alt", "api-key:read-only"), or
  // AuthFailure("unknown_key", ...) that does not quote the secret.
  StatusOr<Principal> Authenticate(std::string_view secret) const;

 private:
  struct Key {
    Sha256Digest digest;
    Principal principal;  // resolved once: the id, the role and its grants
  };
  std::vector<Key> keys_;
};

}  // namespace vj

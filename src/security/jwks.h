// JSON Web Key Sets (RFC 7517) as an OpenID provider publishes them at its jwks_uri: the public keys
// that sign its tokens. Only signature keys the OIDC verifier can use are kept: RSA of 2048 to 8192
// bits (RS256) and EC P-256 (ES256), each with a "kid". Other keys ("use": "enc", other curves or
// types, no kid, bad numbers) are skipped, so one odd key does not cost the provider's others.
// Thread-safety: a JwkSet is immutable after ParseJwks; share it as shared_ptr<const JwkSet>.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "security/jws.h"

namespace vj {

// A JWKS document larger than this is refused (providers publish a few keys, a few KiB).
inline constexpr size_t kMaxJwksBytes = 1024 * 1024;

struct Jwk {
  std::string kid;
  std::string kty;  // "RSA" or "EC"
  std::string alg;  // the key's "alg" when the provider states one (a token must then use it), or empty
  JwsPublicKey key;
};

struct JwkSet {
  std::vector<Jwk> keys;
  size_t skipped = 0;  // keys in the document that were not usable

  // The key with this kid that can verify `alg` (RSA for RS256, EC for ES256, and the key's own alg
  // when it has one), or nullptr.
  const Jwk* Find(std::string_view kid, std::string_view alg) const;
  // Whether any key has this kid (to tell "unknown kid" from "kid for another algorithm").
  bool HasKid(std::string_view kid) const;
};

// Parses a JWKS document ({"keys": [...]}). InvalidArgument when it is not one, is too large, or
// holds no usable key (the caller then keeps the keys it had).
[[nodiscard]] StatusOr<JwkSet> ParseJwks(std::string_view json);

}  // namespace vj

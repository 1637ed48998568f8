// JWS compact serialization (RFC 7515) for the JWT verifiers (qdrant_jwt.h, oidc.h): splitting and
// decoding a token, checking a signature, and the registered time claims. Nothing here decides whom a
// token names or what it grants; that is the verifiers' job.
//
// Every refusal is an AuthFailure (security/auth_failure.h) whose message never quotes the token.
// The order of checks matters and the verifiers keep it: size and shape, header, algorithm, signature,
// and only then the claims (a forged token's payload is never parsed).
// Thread-safety: pure functions; a JwsPublicKey may be used from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <openssl/types.h>

#include "core/status.h"

namespace vj {

// A token longer than this is refused (malformed) before any decoding: it bounds the work a request
// can cause, and no real IdP issues tokens near this size.
inline constexpr size_t kMaxJwtBytes = 16 * 1024;

// Whether `credential` has the shape of a JWS compact token: three base64url parts separated by two
// dots, the first two non-empty (the signature may be empty, so an `alg: none` token still reaches a
// verifier and is refused there with the right reason). Lets the caller tell a JWT from an API key;
// it checks nothing else.
bool LooksLikeJwt(std::string_view credential);

// Strict base64url without padding (RFC 7515 section 2): refuses '=', characters outside the
// alphabet, an impossible length and non-zero trailing bits, so each value has one encoding.
StatusOr<std::string> Base64UrlDecode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);

// A token split and decoded, signature not yet checked.
struct JwsToken {
  boost::json::object header;
  std::string alg;  // the header's "alg" (always present)
  std::string kid;  // the header's "kid", or empty
  std::string signing_input;  // "<header>.<payload>" as received: what the signature covers
  std::string payload;        // decoded payload bytes (JSON not parsed yet)
  std::string signature;      // decoded signature bytes
};

// Splits and decodes `token`. Refuses (malformed): more than kMaxJwtBytes, not exactly three parts,
// bad base64url, a header that is not a JSON object, without a string "alg", or with "crit" (this
// server understands no extension, and RFC 7515 says a token with an unknown critical one is invalid).
// Refuses (alg_refused): "alg": "none" in any spelling.
StatusOr<JwsToken> ParseJws(std::string_view token);

// Parses the payload into the claims object (malformed when it is not a JSON object).
StatusOr<boost::json::object> ParseJwtClaims(std::string_view payload);

// HS256: whether `signature` is HMAC-SHA256(key, signing_input), compared in constant time.
bool VerifyHs256(std::string_view key, std::string_view signing_input, std::string_view signature);

// A public key from a JWK (security/jwks.h): RSA (for RS256) or EC P-256 (for ES256).
using JwsPublicKey = std::shared_ptr<EVP_PKEY>;
JwsPublicKey AdoptPublicKey(EVP_PKEY* key);  // takes ownership

// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) or ES256 (ECDSA P-256 with SHA-256; the JWS signature is
// R || S, 64 bytes). False for any other alg, a key of the wrong type, or a bad signature.
bool VerifyWithPublicKey(const JwsPublicKey& key, std::string_view alg, std::string_view signing_input,
                         std::string_view signature);

// The registered time claims: `exp` (expired when now > exp + leeway) and `nbf` (not_yet_valid when
// now + leeway < nbf). A claim present but not a finite non-negative number is malformed. Without
// `exp` the token is refused (malformed) only when `exp_required`.
Status CheckJwtTimes(const boost::json::object& claims, std::chrono::system_clock::time_point now,
                     std::chrono::seconds leeway, bool exp_required);

// Whether a claim value is a printable identifier fit for a Principal id (1 to 256 bytes, no control
// characters): `sub` and `subject` end up in logs and rate-limit buckets.
bool ValidJwtSubject(std::string_view subject);

}  // namespace vj

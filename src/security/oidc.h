// OIDC bearer tokens (`security.oidc.*`): RS256 or ES256 JWTs issued by an OpenID provider (Keycloak,
// Auth0, Okta, Entra ID, ...), verified against the provider's JWKS, with the roles in one claim
// mapped to grants by the operator's table.
//
// A token is accepted when: its size and shape are valid; its alg is in `algorithms` (never HS*,
// never "none"); its header has a kid naming a key of the JWKS for that alg; the signature verifies;
// `exp` is present and not past (with the leeway), `nbf` (if any) is not ahead; `iss` equals `issuer`;
// `aud` (a string or an array) contains `audience`; `sub` is a printable string. The principal is
// "oidc:<sub>", with the grants of every role in `roles_claim` that `role_grants` maps (unmapped roles
// are ignored); a token with no mapped role is refused (no_access).
//
// Keys: the JWKS comes from `fetch` (the integrator reads a file or GETs jwks_uri). It is fetched on
// first use, again when older than `jwks_refresh_interval`, and at once when a token names an unknown
// kid (key rotation), but never more often than once per `jwks_min_refresh_interval`, so tokens with
// made-up kids cannot make this node hammer the provider. A failed fetch keeps the keys it had.
// Thread-safety: Verify and Refresh may be called from many threads at once. A fetch runs on the
// calling thread, one at a time (others wait for it); give `fetch` a short timeout, or call Refresh
// from a background timer so request threads rarely fetch.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/status.h"
#include "security/jwks.h"
#include "security/permission.h"

namespace vj {

struct OidcOptions {
  std::string issuer;    // required: the exact `iss` of tokens (the provider's issuer URL)
  std::string audience;  // required: must appear in `aud` (the client id or API identifier)
  // Dot path to the roles in the claims: an array of strings or one string. Keycloak:
  // "realm_access.roles" or "resource_access.<client>.roles"; others: "roles", "groups".
  std::string roles_claim = "realm_access.roles";
  // Top-level claim naming the tenant the token acts for (docs/tenancy.md); absent: no tenant.
  std::string tenant_claim = "tenant";
  std::map<std::string, std::vector<Grant>> role_grants;  // role name -> what it may do
  std::chrono::seconds leeway{30};                         // clock skew allowed on exp and nbf
  std::chrono::seconds jwks_refresh_interval{3600};
  std::chrono::seconds jwks_min_refresh_interval{30};
  std::vector<std::string> algorithms = {"RS256", "ES256"};  // a subset of these two
};

// Returns the JWKS document (JSON text), or an error (kept for the next message and retried later).
using JwksFetch = std::function<StatusOr<std::string>()>;

class OidcVerifier {
 public:
  // InvalidArgument when the options are incomplete or inconsistent (empty issuer or audience, an
  // algorithm outside RS256/ES256, a grant with an invalid pattern or level, non-positive intervals).
  // Fetches nothing yet.
  [[nodiscard]] static StatusOr<std::unique_ptr<OidcVerifier>> Create(OidcOptions options, JwksFetch fetch);

  // The principal `token` names, or an AuthFailure: malformed, alg_refused, unknown_kid,
  // bad_signature, expired, not_yet_valid, bad_issuer, bad_audience, no_access. Unavailable (not an
  // AuthFailure: the client is not at fault) when no JWKS could be fetched yet.
  [[nodiscard]] StatusOr<Principal> Verify(std::string_view token, std::chrono::system_clock::time_point now);

  // Fetches the JWKS now unless one was fetched less than jwks_min_refresh_interval ago; returns the
  // fetch's or the parse's error (the keys in use are kept then), OK when skipped.
  Status Refresh(std::chrono::system_clock::time_point now);

  // How many times `fetch` was called (for tests and a metric).
  uint64_t fetch_count() const;

 private:
  OidcVerifier(OidcOptions options, JwksFetch fetch) : options_(std::move(options)), fetch_(std::move(fetch)) {}

  // The current keys, after a periodic refresh when they are due (or missing).
  std::shared_ptr<const JwkSet> CurrentKeys(std::chrono::system_clock::time_point now);
  std::vector<Grant> GrantsFor(const boost::json::object& claims, std::vector<std::string>* roles) const;

  // Fixed after Create.
  const OidcOptions options_;
  const JwksFetch fetch_;

  std::mutex refresh_mu_;  // held across a fetch: one at a time
  mutable std::mutex mu_;   // guards the fields below; never held across a fetch
  std::shared_ptr<const JwkSet> keys_ ABSL_GUARDED_BY(mu_);
  std::chrono::system_clock::time_point last_attempt_ ABSL_GUARDED_BY(mu_);  // of a fetch
  std::chrono::system_clock::time_point last_success_ ABSL_GUARDED_BY(mu_);
  Status last_error_ ABSL_GUARDED_BY(mu_);  // of the last fetch; OK after a success
  bool attempted_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vj

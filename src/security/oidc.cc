#include "security/oidc.h"

#include <algorithm>
#include <exception>

#include "absl/strings/str_join.h"
#include "core/tenant_id.h"
#include "security/auth_failure.h"

namespace vj {
namespace {

using Clock = std::chrono::system_clock;

// Whether at least `interval` passed from `then` to `now`; a clock that went back counts as "yes",
// or a step back would stop refreshes until the clock caught up.
bool Elapsed(Clock::time_point then, Clock::time_point now, std::chrono::seconds interval) {
  return now < then || now - then >= interval;
}

const boost::json::value* FindPath(const boost::json::object& claims, std::string_view dot_path) {
  const boost::json::object* object = &claims;
  const boost::json::value* value = nullptr;
  size_t start = 0;
  while (true) {
    const size_t dot = dot_path.find('.', start);
    const std::string_view part = dot_path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (object == nullptr) return nullptr;
    value = object->if_contains(boost::json::string_view(part.data(), part.size()));
    if (value == nullptr) return nullptr;
    if (dot == std::string_view::npos) return value;
    object = value->if_object();
    start = dot + 1;
  }
}

bool AudienceContains(const boost::json::value& aud, std::string_view audience) {
  if (aud.is_string()) return aud.as_string() == audience;
  if (!aud.is_array()) return false;
  for (const boost::json::value& item : aud.as_array()) {
    if (item.is_string() && item.as_string() == audience) return true;
  }
  return false;
}

}  // namespace

StatusOr<std::unique_ptr<OidcVerifier>> OidcVerifier::Create(OidcOptions options, JwksFetch fetch) {
  auto invalid = [](const std::string& message) { return absl::InvalidArgumentError("security.oidc: " + message); };
  if (options.issuer.empty()) return invalid("issuer must be set");
  if (options.audience.empty()) return invalid("audience must be set");
  if (!fetch) return invalid("a JWKS source (jwks_url or jwks_file) must be set");
  if (options.roles_claim.empty() || options.roles_claim.find("..") != std::string::npos ||
      options.roles_claim.front() == '.' || options.roles_claim.back() == '.') {
    return invalid("roles_claim must be a dot path such as \"realm_access.roles\"");
  }
  if (options.role_grants.empty()) return invalid("role_grants must map at least one role to grants");
  for (const auto& [role, grants] : options.role_grants) {
    if (role.empty()) return invalid("role_grants has an empty role name");
    for (const Grant& grant : grants) {
      if (!ValidCollectionPattern(grant.collections)) {
        return invalid("role_grants[" + role + "] has an invalid collection pattern");
      }
      if (grant.level < Permission::kRead || grant.level > Permission::kAdmin) {
        return invalid("role_grants[" + role + "] has a level other than read, write, manage or admin");
      }
    }
  }
  if (options.leeway < std::chrono::seconds(0) || options.leeway > std::chrono::hours(1)) {
    return invalid("leeway_s must be between 0 and 3600");
  }
  if (options.jwks_refresh_interval <= std::chrono::seconds(0) ||
      options.jwks_min_refresh_interval <= std::chrono::seconds(0)) {
    return invalid("the JWKS refresh intervals must be positive");
  }
  if (options.algorithms.empty()) return invalid("at least one algorithm must be allowed");
  for (const std::string& alg : options.algorithms) {
    if (alg != "RS256" && alg != "ES256") return invalid("only RS256 and ES256 tokens are supported");
  }
  return std::unique_ptr<OidcVerifier>(new OidcVerifier(std::move(options), std::move(fetch)));
}

Status OidcVerifier::Refresh(Clock::time_point now) {
  std::lock_guard<std::mutex> one_fetch(refresh_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Checked under refresh_mu_: callers that waited for a fetch in flight find it recent and skip.
    if (attempted_ && !Elapsed(last_attempt_, now, options_.jwks_min_refresh_interval)) return absl::OkStatus();
    attempted_ = true;
    last_attempt_ = now;
    ++fetches_;
  }
  StatusOr<std::string> document;
  try {  // the fetch is the integrator's code; a throw must not escape into the request pipeline
    document = fetch_();
  } catch (const std::exception& e) {
    document = absl::InternalError(std::string("the JWKS fetch threw: ") + e.what());
  }
  StatusOr<JwkSet> set = document.ok() ? ParseJwks(*document) : StatusOr<JwkSet>(document.status());
  std::lock_guard<std::mutex> lock(mu_);
  if (!set.ok()) {
    last_error_ = WithContext(set.status(), "fetching the OIDC provider's JWKS");
    return last_error_;
  }
  keys_ = std::make_shared<const JwkSet>(std::move(*set));
  last_success_ = now;
  last_error_ = absl::OkStatus();
  return absl::OkStatus();
}

uint64_t OidcVerifier::fetch_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

std::shared_ptr<const JwkSet> OidcVerifier::CurrentKeys(Clock::time_point now) {
  bool due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    due = keys_ == nullptr || Elapsed(last_success_, now, options_.jwks_refresh_interval);
  }
  // A failure is kept in last_error_ and the old keys stay in use; Refresh rate-limits the retries.
  if (due) Refresh(now).IgnoreError();
  std::lock_guard<std::mutex> lock(mu_);
  return keys_;
}

std::vector<Grant> OidcVerifier::GrantsFor(const boost::json::object& claims,
                                           std::vector<std::string>* roles) const {
  std::vector<std::string_view> claimed;
  if (const boost::json::value* value = FindPath(claims, options_.roles_claim)) {
    if (value->is_string()) {
      claimed.emplace_back(value->as_string().data(), value->as_string().size());
    } else if (value->is_array()) {
      for (const boost::json::value& item : value->as_array()) {
        if (item.is_string()) claimed.emplace_back(item.as_string().data(), item.as_string().size());
      }
    }
  }
  std::vector<Grant> grants;
  // Iterating the configured roles (not the token's) keeps the work and the roles list bounded by
  // the configuration, whatever the token holds.
  for (const auto& [role, role_grants] : options_.role_grants) {
    if (std::find(claimed.begin(), claimed.end(), role) == claimed.end()) continue;
    roles->push_back(role);
    grants.insert(grants.end(), role_grants.begin(), role_grants.end());
  }
  return grants;
}

StatusOr<Principal> OidcVerifier::Verify(std::string_view token, Clock::time_point now) {
  auto jws = ParseJws(token);
  if (!jws.ok()) return jws.status();
  // HS256 here would be algorithm confusion (a public key used as an HMAC secret): refused with
  // anything else outside the list before any key is looked at.
  if (std::find(options_.algorithms.begin(), options_.algorithms.end(), jws->alg) == options_.algorithms.end()) {
    return AuthFailure("alg_refused",
                       "OIDC tokens must be signed with " + absl::StrJoin(options_.algorithms, " or "));
  }
  if (jws->kid.empty()) return AuthFailure("malformed", "the token header has no \"kid\"");

  std::shared_ptr<const JwkSet> keys = CurrentKeys(now);
  if (keys == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    return absl::UnavailableError("the OIDC provider's signing keys are not available yet: " +
                                  StatusMessage(last_error_));
  }
  const Jwk* jwk = keys->Find(jws->kid, jws->alg);
  if (jwk == nullptr && !keys->HasKid(jws->kid)) {
    // A kid we do not know: the provider may have rotated its keys. Refresh (rate-limited) and retry.
    Refresh(now).IgnoreError();  // a failure is kept in last_error_; the token is refused below
    std::lock_guard<std::mutex> lock(mu_);
    keys = keys_;
    jwk = keys->Find(jws->kid, jws->alg);
  }
  if (jwk == nullptr) {
    if (keys->HasKid(jws->kid)) {
      return AuthFailure("alg_refused", "the token's key does not sign with the token's algorithm");
    }
    return AuthFailure("unknown_kid", "the token is signed with a key the OIDC provider does not publish");
  }
  if (!VerifyWithPublicKey(jwk->key, jws->alg, jws->signing_input, jws->signature)) {
    return AuthFailure("bad_signature", "the token's signature is not valid");
  }

  auto claims = ParseJwtClaims(jws->payload);
  if (!claims.ok()) return claims.status();
  VJ_RETURN_IF_ERROR(CheckJwtTimes(*claims, now, options_.leeway, /*exp_required=*/true));
  const boost::json::value* iss = claims->if_contains("iss");
  if (iss == nullptr || !iss->is_string() || iss->as_string() != options_.issuer) {
    return AuthFailure("bad_issuer", "the token was not issued by the configured OIDC issuer");
  }
  const boost::json::value* aud = claims->if_contains("aud");
  if (aud == nullptr || !AudienceContains(*aud, options_.audience)) {
    return AuthFailure("bad_audience", "the token is not meant for this server's audience");
  }
  const boost::json::value* sub = claims->if_contains("sub");
  if (sub == nullptr || !sub->is_string() ||
      !ValidJwtSubject(std::string_view(sub->as_string().data(), sub->as_string().size()))) {
    return AuthFailure("malformed", "the token's \"sub\" claim must have 1 to 256 printable characters");
  }
  Principal principal;
  principal.id = "oidc:" + std::string(sub->as_string());
  principal.grants = GrantsFor(*claims, &principal.roles);
  if (principal.grants.empty()) {
    return AuthFailure("no_access", "the token has no role that this server grants access to");
  }
  if (const boost::json::value* tenant = claims->if_contains(options_.tenant_claim); tenant && !tenant->is_null()) {
    if (!tenant->is_string() || !ValidTenantId(std::string_view(tenant->as_string().data(), tenant->as_string().size()))) {
      return AuthFailure("malformed", "the token's \"" + options_.tenant_claim +
                                          "\" claim must be a tenant id (1 to 32 characters of a-z, 0-9, '_', '-')");
    }
    principal.tenant = std::string(tenant->as_string());
  }
  return principal;
}

}  // namespace vj

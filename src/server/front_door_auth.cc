#include "server/front_door_auth.h"

#include <fstream>
#include <sstream>

#include "cluster/http_client.h"
#include "security/auth_failure.h"
#include "security/jws.h"
#include "security/static_keys.h"

namespace vj {
namespace {

// Reads the JWKS from a file or an http(s) URL; a failure keeps the keys in use (security/oidc.h).
JwksFetch MakeJwksFetch(const ServerConfig::Oidc& oidc) {
  if (!oidc.jwks_file.empty()) {
    return [path = oidc.jwks_file]() -> StatusOr<std::string> {
      std::ifstream in(path, std::ios::binary);
      if (!in) return absl::UnavailableError("cannot read the JWKS file " + path);
      std::ostringstream text;
      text << in.rdbuf();
      return text.str();
    };
  }
  auto http = std::make_shared<HttpClient>(HttpClientOptions{std::chrono::milliseconds(2000),
                                                             std::chrono::milliseconds(5000), 1, 1 << 20});
  return [http, url = oidc.jwks_url]() -> StatusOr<std::string> {
    VJ_ASSIGN_OR_RETURN(HttpResult r, http->Send("GET", url));
    if (r.status != 200) return absl::UnavailableError("the JWKS URL answered HTTP " + std::to_string(r.status));
    return r.body;
  };
}

}  // namespace

StatusOr<std::unique_ptr<FrontDoorAuthenticator>> FrontDoorAuthenticator::Create(const ServerConfig& config,
                                                                                  const SecurityStore* store) {
  std::unique_ptr<FrontDoorAuthenticator> auth(new FrontDoorAuthenticator(config, store));
  // The key store alone does not count: it starts empty, and only an admin can fill it.
  auth->configured_ = !config.api_key.empty() || !config.alt_api_key.empty() || !config.read_only_api_key.empty();
  if (config.jwt_rbac) {
    std::vector<std::string> keys;
    for (const std::string& k : {config.api_key, config.alt_api_key}) {
      if (!k.empty()) keys.push_back(k);
    }
    if (keys.empty()) {
      return absl::InvalidArgumentError("security.jwt_rbac: needs security.api_key (tokens are signed with it)");
    }
    VJ_ASSIGN_OR_RETURN(auth->qdrant_jwt_, QdrantJwtVerifier::Create(std::move(keys)));
    auth->configured_ = true;
  }
  if (!config.oidc.issuer.empty()) {
    if (config.oidc.jwks_url.empty() == config.oidc.jwks_file.empty()) {
      return absl::InvalidArgumentError("security.oidc: give one of jwks_url and jwks_file");
    }
    OidcOptions options;
    options.issuer = config.oidc.issuer;
    options.audience = config.oidc.audience;
    options.roles_claim = config.oidc.roles_claim;
    options.tenant_claim = config.oidc.tenant_claim;
    options.role_grants = config.oidc.role_grants;
    options.leeway = std::chrono::seconds(config.oidc.leeway_s);
    options.jwks_min_refresh_interval = std::chrono::seconds(config.oidc.jwks_min_refresh_s);
    auto oidc = OidcVerifier::Create(std::move(options), MakeJwksFetch(config.oidc));
    if (!oidc.ok()) return WithContext(oidc.status(), "security.oidc");
    auth->oidc_ = std::move(*oidc);
    auth->configured_ = true;
  }
  return auth;
}

StatusOr<Principal> FrontDoorAuthenticator::AuthenticateToken(std::string_view token) const {
  const auto now = std::chrono::system_clock::now();
  StatusOr<Principal> principal = AuthFailure("unknown_key", "invalid credentials");
  if (qdrant_jwt_ != nullptr) {
    principal = qdrant_jwt_->Verify(token, now);
    // An RS256/ES256 token is not Qdrant's: the OIDC verifier decides.
    if (principal.ok() || oidc_ == nullptr || AuthFailureReason(principal.status()) != "alg_refused") {
      return principal;
    }
  }
  if (oidc_ != nullptr) principal = oidc_->Verify(token, now);
  return principal;
}

StatusOr<std::shared_ptr<const Principal>> FrontDoorAuthenticator::Authenticate(const Request& request) const {
  const std::optional<std::string_view> credential = PresentedApiKey(request.headers);
  if (!credential) return std::shared_ptr<const Principal>();
  StatusOr<Principal> principal = keys_.Authenticate(*credential);
  if (!principal.ok() && (qdrant_jwt_ != nullptr || oidc_ != nullptr) && LooksLikeJwt(*credential)) {
    principal = AuthenticateToken(*credential);
  }
  if (!principal.ok()) return principal.status();
  return std::make_shared<const Principal>(std::move(*principal));
}

}  // namespace vj

// FrontDoorAuthenticator: the REST port's authenticate step (server/request_pipeline.h). A request
// presents one credential, as Qdrant clients do (`api-key: X` or `Authorization: Bearer X`), and it is
// tried in this order:
//   1. an API key: a managed key ("vjk_...", security/security_store.h) or a configured one
//      (security.api_key, alt_api_key, read_only_api_key; security/static_keys.h);
//   2. a JSON Web Token, when it has a JWT's shape and no key matched: Qdrant's HS256 tokens signed with
//      the api key (security.jwt_rbac; security/qdrant_jwt.h), then OIDC tokens (RS256/ES256 against
//      the provider's JWKS; security/oidc.h).
// A request without a credential has no principal (only public routes serve it); a wrong one is an
// AuthFailure whatever the route. Qdrant's `value_exists` claim is checked by the pipeline
// (RequestPipelineHooks::value_exists) on every request.
//
// Thread-safety: Authenticate may be called concurrently; the store (when set) outlives it.
#pragma once

#include <atomic>
#include <memory>

#include "security/api_key_authenticator.h"
#include "security/oidc.h"
#include "security/qdrant_jwt.h"
#include "server/request_pipeline.h"
#include "server/server_config.h"

namespace vj {

class FrontDoorAuthenticator final : public Authenticator {
 public:
  // From the node's settings; InvalidArgument when they are inconsistent (jwt_rbac without an api key,
  // OIDC without audience or keys). `store` may be null (no managed keys).
  static StatusOr<std::unique_ptr<FrontDoorAuthenticator>> Create(const ServerConfig& config,
                                                                  const SecurityStore* store);

  // Whether authentication is configured: a configured key, JWT or OIDC (the key store alone does not
  // count: it starts empty). False = the node runs open, only where that is allowed (tools/main.cc).
  bool configured() const { return configured_; }

  StatusOr<std::shared_ptr<const Principal>> Authenticate(const Request& request) const override;

 private:
  FrontDoorAuthenticator(const ServerConfig& config, const SecurityStore* store)
      : keys_(StaticKeysConfig{config.api_key, config.alt_api_key, config.read_only_api_key}, store) {}
  StatusOr<Principal> AuthenticateToken(std::string_view token) const;

  ApiKeyAuthenticator keys_;
  std::unique_ptr<QdrantJwtVerifier> qdrant_jwt_;
  std::unique_ptr<OidcVerifier> oidc_;  // Verify may refresh its keys (internally synchronized)
  bool configured_ = false;
};

// The REST port's authenticator across SIGHUP reloads (server/config_reload.h): the current
// FrontDoorAuthenticator, or, while it has nothing configured (a node allowed to run open), the open door
// (every request is the unauthenticated admin). Requests in flight finish with the one they took.
// Thread-safety: Authenticate and Replace may be called concurrently.
class ReloadableFrontDoor final : public Authenticator {
 public:
  explicit ReloadableFrontDoor(std::shared_ptr<const FrontDoorAuthenticator> current)
      : current_(std::move(current)) {}
  void Replace(std::shared_ptr<const FrontDoorAuthenticator> next) { current_.store(std::move(next)); }
  std::shared_ptr<const FrontDoorAuthenticator> current() const { return current_.load(); }

  StatusOr<std::shared_ptr<const Principal>> Authenticate(const Request& request) const override {
    const std::shared_ptr<const FrontDoorAuthenticator> now = current_.load();
    return now->configured() ? now->Authenticate(request) : open_.Authenticate(request);
  }

 private:
  std::atomic<std::shared_ptr<const FrontDoorAuthenticator>> current_;
  const OpenDoor open_;
};

}  // namespace vj

// ApiKeyAuthenticator: the principal behind a request's API key, as Qdrant clients present it (an
// `api-key` header or `Authorization: Bearer KEY`). A secret starting with "vjk_" is a managed key
// (SecurityStore); anything else is compared with the configured keys (StaticKeys). The authenticate
// step of the request pipeline calls it; it decides nothing about access (Principal::Allows does).
// Thread-safety: Authenticate may be called concurrently; the store must outlive it.
#pragma once

#include <map>
#include <string>

#include "core/status.h"
#include "security/permission.h"
#include "security/security_store.h"
#include "security/static_keys.h"

namespace vj {

class ApiKeyAuthenticator {
 public:
  // `store` may be null (no managed keys, e.g. before the cluster's store is open).
  ApiKeyAuthenticator(const StaticKeysConfig& config, const SecurityStore* store)
      : static_keys_(config), store_(store) {}

  // Whether there is anything to authenticate against (a configured key or a key store).
  bool enabled() const { return !static_keys_.empty() || store_ != nullptr; }
  // The key's principal; AuthFailure("missing", ...) when the request has no key, otherwise the
  // failure of StaticKeys or SecurityStore.
  StatusOr<Principal> Authenticate(const std::map<std::string, std::string>& headers) const;
  // The same for a secret already taken out of the headers (PresentedApiKey).
  StatusOr<Principal> Authenticate(std::string_view secret) const;

 private:
  const StaticKeys static_keys_;
  const SecurityStore* const store_;
};

}  // namespace vj

#include "security/api_key_authenticator.h"

#include "security/auth_failure.h"

namespace vj {

StatusOr<Principal> ApiKeyAuthenticator::Authenticate(const std::map<std::string, std::string>& headers) const {
  return Authenticate(PresentedApiKey(headers).value_or(std::string_view()));
}

StatusOr<Principal> ApiKeyAuthenticator::Authenticate(std::string_view secret) const {
  if (secret.empty()) {
    return AuthFailure("missing", "an API key is required: send it in the api-key header or as "
                                  "Authorization: Bearer <key>");
  }
  if (store_ != nullptr && secret.substr(0, kManagedKeyPrefix.size()) == kManagedKeyPrefix) {
    return store_->Authenticate(secret);
  }
  return static_keys_.Authenticate(secret);
}

}  // namespace vj

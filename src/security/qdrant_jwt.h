// Qdrant-compatible JWT RBAC (`security.jwt_rbac`): HS256 tokens signed with one of the node's
// full-access API keys, carrying Qdrant's claims. A client that holds a token minted for Qdrant gets
// the same access here.
//
// Claims (all optional, as in Qdrant):
//   exp          expiry (seconds since the epoch), checked with the leeway; nbf is checked too
//                (Qdrant ignores it; honouring it only refuses tokens their issuer meant to refuse).
//   access       "r": read every collection -> Grant{"*", kRead}.
//                "m": Qdrant's "manage", which is the same access as its full API key, cluster and
//                     snapshot operations included -> Grant{"*", kAdmin}.
//                [{"collection": NAME, "access": "r" | "rw" | "prw"}, ...]: per collection, exact name
//                     -> kRead ("r") or kWrite ("rw", and "prw" = points-only read-write). Duplicate
//                     names, a non-null deprecated "payload" and names with '*' are refused (malformed).
//                     An empty list authenticates but grants nothing (Qdrant answers 403 then, too).
//                absent: full access, as in Qdrant (only a holder of the API key can sign a token)
//                     -> Grant{"*", kAdmin}.
//   subject      free-form caller name for audit -> Principal.id "jwt:<subject>" ("jwt" without one).
//   value_exists {"collection": C, "matches": [{"key": K, "value": V}, ...]} -> Principal.value_exists
//                and value_exists_json; the caller must check it (see ValueExistsCondition).
//   sub, iss, aud and unknown claims are ignored, as in Qdrant.
// Thread-safety: immutable after Create; Verify may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "security/permission.h"

namespace vj {

class QdrantJwtVerifier {
 public:
  // `keys`: the node's full-access API keys (api_key, alt_api_key); a token signed with any of them
  // is accepted. Empty keys are ignored (as in Qdrant); InvalidArgument when none is left.
  // `leeway`: clock skew allowed on exp and nbf (Qdrant uses 30 s).
  [[nodiscard]] static StatusOr<std::unique_ptr<QdrantJwtVerifier>> Create(
      std::vector<std::string> keys, std::chrono::seconds leeway = std::chrono::seconds(30));

  // The principal `token` names, or an AuthFailure: malformed, alg_refused (anything but HS256,
  // "none" included), bad_signature (no key signed it), expired, not_yet_valid.
  [[nodiscard]] StatusOr<Principal> Verify(std::string_view token,
                                           std::chrono::system_clock::time_point now) const;

 private:
  QdrantJwtVerifier(std::vector<std::string> keys, std::chrono::seconds leeway)
      : keys_(std::move(keys)), leeway_(leeway) {}

  const std::vector<std::string> keys_;
  const std::chrono::seconds leeway_;
};

}  // namespace vj

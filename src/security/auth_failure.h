// AuthFailure: how authenticators say no. The Status is Unauthenticated (HTTP 401) with a message for
// the client that never quotes the credential, and a short reason label for the metric
// vjvector_auth_failures_total{reason} ("missing", "unknown_key", "expired", "not_yet_valid",
// "bad_signature", "bad_issuer", "bad_audience", "malformed", "alg_refused", "unknown_kid", ...).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

inline constexpr char kAuthFailureReasonPayload[] = "vjvector/auth-failure-reason";

inline Status AuthFailure(std::string_view reason, std::string_view message) {
  Status s = absl::UnauthenticatedError(std::string(message));
  s.SetPayload(kAuthFailureReasonPayload, absl::Cord(std::string(reason)));
  return s;
}

// The reason label of an AuthFailure; "other" for any other Status.
inline std::string AuthFailureReason(const Status& status) {
  auto reason = status.GetPayload(kAuthFailureReasonPayload);
  return reason ? std::string(*reason) : std::string("other");
}

}  // namespace vj

// RetryAfter: a refusal the client can wait out (a rate limit): ResourceExhausted (HTTP 429) carrying
// the seconds to wait, which api/error_mapping.cc sends as the Retry-After header. The per-principal
// limiter (server/) and strict mode's per-collection limits (api/strict_mode.h) both answer with it.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <absl/strings/numbers.h>

#include "core/status.h"

namespace vj {

inline constexpr char kRetryAfterPayload[] = "vjvector/retry-after-seconds";

// ResourceExhausted with `message`, to be retried after `seconds` (at least 1).
inline Status RetryAfterError(std::string_view message, int64_t seconds) {
  Status s = absl::ResourceExhaustedError(std::string(message));
  s.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(seconds < 1 ? 1 : seconds)));
  return s;
}

// The seconds a RetryAfterError carries; none for any other Status.
inline std::optional<int64_t> RetryAfterSeconds(const Status& status) {
  auto payload = status.GetPayload(kRetryAfterPayload);
  int64_t seconds = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &seconds) || seconds < 1) return std::nullopt;
  return seconds;
}

}  // namespace vj

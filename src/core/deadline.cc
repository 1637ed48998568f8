#include "core/deadline.h"

#include <cmath>
#include <cstdio>

#include <absl/strings/cord.h>

namespace vj {

namespace {

// Whole seconds print as Qdrant prints them ("1"); fractions keep up to three decimals ("0.05").
std::string FormatSeconds(double seconds) {
  if (seconds == std::floor(seconds) && std::fabs(seconds) < 1e15) {
    return std::to_string(static_cast<long long>(seconds));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", seconds);
  return buf;
}

}  // namespace

Status RequestTimeoutError(const std::string& message) {
  Status status = absl::DeadlineExceededError(message);
  status.SetPayload(kRequestTimeoutPayload, absl::Cord("1"));
  return status;
}

Status Deadline::TimeoutError(std::string_view operation) const {
  return RequestTimeoutError("Timeout error: Operation '" + std::string(operation) + "' timed out after " +
                             FormatSeconds(timeout_seconds_) + " seconds");
}

bool IsRequestTimeout(const Status& status) {
  return status.code() == absl::StatusCode::kDeadlineExceeded &&
         status.GetPayload(kRequestTimeoutPayload).has_value();
}

}  // namespace vj

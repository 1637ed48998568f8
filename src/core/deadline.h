// Deadline: the moment by which a request's work must stop, and the error it stops with. A request
// carries one (collection/requests.h) from the API down to the scans and graph walks that check it as
// they go; a default-constructed Deadline never expires. DeadlineTicker makes the check cheap inside a
// loop (one clock read every kTickEvery steps).
//
// The error is Qdrant's timeout answer: DeadlineExceeded with the message "Timeout error: Operation
// '<op>' timed out after <s> seconds", marked with kRequestTimeoutPayload so that api/error_mapping
// answers 408 Request Timeout (Qdrant's status) rather than the 504 other DeadlineExceeded errors get
// (a peer or replica that did not answer in time).
//
// Thread-safety: plain values; a Deadline may be read from any number of threads. A DeadlineTicker is
// owned by one thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

// Payload type URL that marks a DeadlineExceeded Status as a request timeout (HTTP 408).
inline constexpr char kRequestTimeoutPayload[] = "vjvector/request-timeout";

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr double kMaxTimeoutSeconds = 365.0 * 24 * 3600;

  // Never expires.
  Deadline() = default;
  // Expires `timeout` after now; `timeout` is also what the error message reports. A timeout over a
  // year (or not a finite number) never expires: converting it to clock ticks would overflow.
  static Deadline After(std::chrono::duration<double> timeout) {
    if (!(timeout.count() <= kMaxTimeoutSeconds)) return Deadline();
    Deadline d;
    d.set_ = true;
    d.at_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
    d.timeout_seconds_ = timeout.count();
    return d;
  }

  bool is_set() const { return set_; }
  double timeout_seconds() const { return timeout_seconds_; }
  bool Expired() const { return set_ && Clock::now() >= at_; }
  // Seconds left (0 once expired); meaningful only when is_set().
  double remaining_seconds() const {
    return std::max(0.0, std::chrono::duration<double>(at_ - Clock::now()).count());
  }

  // OK while time is left, else the request-timeout error naming `operation` ("Search", "Scroll").
  [[nodiscard]] Status Check(std::string_view operation) const {
    if (!Expired()) return absl::OkStatus();
    return TimeoutError(operation);
  }
  [[nodiscard]] Status TimeoutError(std::string_view operation) const;

 private:
  bool set_ = false;
  Clock::time_point at_{};
  double timeout_seconds_ = 0;
};

// True when `status` is a request timeout made by Deadline (or read back from a peer's 408).
bool IsRequestTimeout(const Status& status);
// A request-timeout Status with `message` (used to rebuild a peer's 408 answer).
Status RequestTimeoutError(const std::string& message);

// Checks a deadline every kTickEvery calls of Expired(), so a loop over points pays for one clock read
// per kTickEvery points. Once expired it stays expired.
class DeadlineTicker {
 public:
  static constexpr size_t kTickEvery = 256;
  explicit DeadlineTicker(const Deadline& deadline) : deadline_(deadline) {}
  bool Expired() {
    if (expired_) return true;
    if (!deadline_.is_set() || ++steps_ % kTickEvery != 0) return false;
    expired_ = deadline_.Expired();
    return expired_;
  }
  bool expired() const { return expired_; }

 private:
  const Deadline& deadline_;
  size_t steps_ = 0;
  bool expired_ = false;
};

}  // namespace vj

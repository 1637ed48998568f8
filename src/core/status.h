// Status and StatusOr: recoverable errors are values (absl::Status). Codes map to HTTP statuses in
// api/error_mapping. Thread-safety: plain values.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"

namespace vj {

using absl::Status;
using absl::StatusOr;

// Debian's abseil is built with its own string_view; these give std::string for composing messages.
inline std::string StatusMessage(const Status& status) { return std::string(status.message()); }
// The same error code and payloads (marks such as kDiskFullPayload) with `context + ": "` before the
// message.
Status WithContext(const Status& status, const std::string& context);

// Payload type URL that marks a ResourceExhausted Status as "the disk holding the data is full" (HTTP 507
// Insufficient Storage), as opposed to a limit or overload (429).
inline constexpr char kDiskFullPayload[] = "vjvector/disk-full";
// ResourceExhausted with kDiskFullPayload and `message`.
Status DiskFullError(const std::string& message);
bool IsDiskFull(const Status& status);

// An Unavailable that waiting a few hundred milliseconds will not cure (this node lost its lease, the
// shard's primary reaches too few replicas, ...): it is answered at once (HTTP 503 with the reason),
// never retried by the node that meets it. Between nodes it travels as kFinalRefusalHeader on the 503.
inline constexpr char kFinalRefusalPayload[] = "vjvector/final-refusal";
inline constexpr char kFinalRefusalHeader[] = "X-VJVector-Refusal";
inline Status FinalUnavailable(const std::string& message) {
  Status status = absl::UnavailableError(message);
  status.SetPayload(kFinalRefusalPayload, absl::Cord("final"));
  return status;
}
inline bool IsFinalUnavailable(const Status& status) {
  return absl::IsUnavailable(status) && status.GetPayload(kFinalRefusalPayload).has_value();
}

namespace internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}  // namespace internal

}  // namespace vj

#define VJ_INTERNAL_CONCAT_IMPL(a, b) a##b
#define VJ_INTERNAL_CONCAT(a, b) VJ_INTERNAL_CONCAT_IMPL(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define VJ_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::absl::Status vj_status_ = (expr);           \
    if (!vj_status_.ok()) return vj_status_;      \
  } while (0)

#define VJ_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()

// `VJ_ASSIGN_OR_RETURN(auto x, F())`: assigns the value of a StatusOr or returns its error.
#define VJ_ASSIGN_OR_RETURN(lhs, rexpr) \
  VJ_INTERNAL_ASSIGN_OR_RETURN(VJ_INTERNAL_CONCAT(vj_statusor_, __COUNTER__), lhs, rexpr)

// Crashes on a broken internal invariant ("cannot happen"); never for bad input.
#define VJ_CHECK(cond)                                              \
  do {                                                              \
    if (!(cond)) ::vj::internal::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (0)

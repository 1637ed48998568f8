#include "core/status.h"

#include <absl/strings/cord.h>

namespace vj {

Status WithContext(const Status& status, const std::string& context) {
  if (status.ok()) return status;
  Status out(status.code(), context + ": " + std::string(status.message()));
  status.ForEachPayload([&out](auto type_url, const absl::Cord& payload) {
    out.SetPayload(type_url, payload);
  });
  return out;
}

Status DiskFullError(const std::string& message) {
  Status status = absl::ResourceExhaustedError(message);
  status.SetPayload(kDiskFullPayload, absl::Cord("1"));
  return status;
}

bool IsDiskFull(const Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.GetPayload(kDiskFullPayload).has_value();
}

}  // namespace vj

namespace vj::internal {

void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "VJ_CHECK failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace vj::internal

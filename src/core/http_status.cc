#include "core/http_status.h"

#include "core/deadline.h"

namespace vj {

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted: return 409;
    // A full disk is not a limit the client can wait out by slowing down: 507 Insufficient Storage.
    // A request over a size limit cannot succeed by waiting either: 413 Payload Too Large.
    case absl::StatusCode::kResourceExhausted: return IsDiskFull(status) ? 507 : IsTooLarge(status) ? 413 : 429;
    case absl::StatusCode::kCancelled: return 499;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    // A request's own timeout is Qdrant's 408; a peer or replica that did not answer in time is 504.
    case absl::StatusCode::kDeadlineExceeded: return IsRequestTimeout(status) ? 408 : 504;
    default: return 500;
  }
}

Status StatusFromHttpStatus(int http_status, const std::string& message) {
  switch (http_status) {
    case 400: return absl::InvalidArgumentError(message);
    case 401: return absl::UnauthenticatedError(message);
    case 403: return absl::PermissionDeniedError(message);
    case 404: return absl::NotFoundError(message);
    case 408: return RequestTimeoutError(message);
    case 409: return absl::AlreadyExistsError(message);
    case 413: return TooLargeError(message);
    case 429: return absl::ResourceExhaustedError(message);
    case 501: return absl::UnimplementedError(message);
    case 507: return DiskFullError(message);
    case 503: return absl::UnavailableError(message);
    case 504: return absl::DeadlineExceededError(message);
    default: return absl::InternalError("HTTP " + std::to_string(http_status) + ": " + message);
  }
}

}  // namespace vj

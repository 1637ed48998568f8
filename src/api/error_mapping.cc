#include "api/error_mapping.h"

#include <boost/json.hpp>

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
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kCancelled: return 499;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

Response ErrorResponse(const Status& status, double seconds) {
  Response response;
  response.status = HttpStatusFor(status);
  boost::json::object body{{"status", boost::json::object{{"error", std::string(status.message())}}},
                           {"time", seconds}};
  response.body = boost::json::serialize(body);
  // Unavailable is transient by definition (a full write queue, a closing collection, a peer down):
  // tell clients when to try again instead of letting them retry at once.
  if (response.status == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

Status StatusFromHttp(int http_status, const std::string& body) {
  std::string message = body;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const auto* status = v.as_object().if_contains("status"); status && status->is_object()) {
      if (const auto* error = status->as_object().if_contains("error"); error && error->is_string()) {
        message = std::string(error->as_string());
      }
    }
  }
  switch (http_status) {
    case 400: return absl::InvalidArgumentError(message);
    case 401: return absl::UnauthenticatedError(message);
    case 403: return absl::PermissionDeniedError(message);
    case 404: return absl::NotFoundError(message);
    case 409: return absl::AlreadyExistsError(message);
    case 413:
    case 429: return absl::ResourceExhaustedError(message);
    case 501: return absl::UnimplementedError(message);
    case 503: return absl::UnavailableError(message);
    case 504: return absl::DeadlineExceededError(message);
    default: return absl::InternalError("HTTP " + std::to_string(http_status) + ": " + message);
  }
}

}  // namespace vj

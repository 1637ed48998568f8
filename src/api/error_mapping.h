// Maps Status codes to HTTP statuses (one table) and renders Qdrant's error body.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "api/request.h"
#include "core/status.h"

namespace vj {

int HttpStatusFor(const Status& status);
// {"status": {"error": "<message>"}, "time": seconds} with HttpStatusFor's code.
Response ErrorResponse(const Status& status, double seconds);
// The inverse, for answers of peers: the Status an HTTP error status and error body stand for (the
// body's status.error message, or the body itself when it is not an error body).
Status StatusFromHttp(int http_status, const std::string& body);

}  // namespace vj

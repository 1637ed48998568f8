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

}  // namespace vj

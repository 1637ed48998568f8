// Helpers of the HTTP transport (internal to server/): request-target decoding, the plain-text and
// error responses the transport produces itself, and bounded metric labels. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "api/request.h"

namespace vj {

// Splits a request target into the percent-decoded path and query parameters ('+' is a space in the
// query; a repeated key keeps the last value; a malformed escape is kept literally).
void DecodeTarget(std::string_view target, Request& req);
// Qdrant's error body with the given HTTP status, so clients parse transport errors like API errors.
Response TransportError(int status, std::string_view message);
Response TextResponse(int status, std::string body, std::string route);
// The method as a metric label; unknown methods from clients become "other" (bounded cardinality).
std::string MethodLabel(std::string_view method);

}  // namespace vj

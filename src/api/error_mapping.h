// Maps Status codes to HTTP statuses (one table) and renders Qdrant's error body. Error bodies never
// carry the server's file paths (storage errors name their files): ErrorResponse replaces them and logs
// the full message.
// Thread-safety: pure functions (ErrorResponse also writes to the log).
#pragma once

#include <string>
#include <string_view>

#include "api/request.h"
#include "core/http_status.h"  // HttpStatusFor
#include "core/status.h"

namespace vj {

// {"status": {"error": "<message>"}, "time": seconds} with HttpStatusFor's code; file paths in the
// message are redacted (RedactFilePaths).
Response ErrorResponse(const Status& status, double seconds);
// The same answer (status, headers) for a route of the peer port, with the peer protocol's typed error
// body instead of Qdrant's (cluster/peer_protocol.h): the exact code and its marks reach the peer.
Response PeerErrorResponse(const Status& status);
// `message` with every file path replaced by ".../<last component>": words that start with "./" or
// "../", and absolute paths whose first component exists in the root directory (so that API paths such
// as /collections/a, which are not files, stay).
std::string RedactFilePaths(std::string_view message);
// The inverse, for answers of peers: the Status an HTTP error status and error body stand for (the
// body's status.error message, or the body itself when it is not an error body).
Status StatusFromHttp(int http_status, const std::string& body);

}  // namespace vj

// BrowserPolicy: what the HTTP server refuses or adds so that a web page cannot use a browser to act on
// a node (cross-site request forgery, DNS rebinding) and so that pages of configured origins can call it
// (CORS). Decided from the method, path and a few headers before a request is dispatched:
//   * a request with a body must say `Content-Type: application/json` (application/octet-stream on
//     the peer port's /internal/replication/): a page can send text/plain, form and multipart bodies cross-site without
//     asking the browser first, but not JSON -> 415;
//   * an `Origin` header that is neither the node's own origin (http(s)://<Host>) nor listed in
//     cors_origins -> 403: browsers send it on every cross-site fetch and form post;
//   * a `Host` that is not allowed -> 403: on a node listening on a loopback address only loopback names
//     (localhost, 127.0.0.0/8, [::1]) and allowed_hosts; elsewhere any Host unless allowed_hosts is set;
//   * CORS, off unless cors_origins is set: an OPTIONS request from a listed origin (a preflight) is
//     answered here (204, the methods and headers Qdrant clients use, whatever the preflight asked),
//     and responses to a listed origin carry Access-Control-Allow-Origin; all carry `Vary: Origin`.
// Clients that are not browsers (SDKs, curl, peers) send JSON with no Origin and a Host they dialled,
// so none of this changes what they see.
// Thread-safety: immutable after construction; Check may be called concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/request.h"
#include "core/status.h"

namespace vj {

// The request headers Check reads; the transport copies these (lower-case names) into Request::headers.
inline constexpr const char* kBrowserPolicyHeaders[] = {"host", "origin", "content-type"};

struct BrowserPolicyOptions {
  // Origins whose pages may call the node ("https://app.example.com", scheme://host[:port], no path);
  // "*" allows every origin. Empty = CORS off and every foreign Origin refused.
  std::vector<std::string> cors_origins;
  // Host names (without port, case-insensitive) accepted in the Host header besides the loopback ones;
  // "*" accepts any. Empty = loopback names only on a loopback listener, any name otherwise.
  std::vector<std::string> allowed_hosts;
  // Paths under this prefix take binary bodies (application/octet-stream): "/internal/replication/" on
  // the peer port; empty on the REST port, where every body is JSON.
  std::string binary_body_prefix;
};

struct BrowserDecision {
  // Sent instead of dispatching the request: a refusal, or the answer to a CORS preflight.
  std::optional<Response> answer;
  // Added to whatever response the request gets (CORS headers).
  std::vector<std::pair<std::string, std::string>> response_headers;
};

class BrowserPolicy {
 public:
  // `loopback_listener`: whether the server listens on a loopback address (127.0.0.0/8, ::1).
  BrowserPolicy(BrowserPolicyOptions options, bool loopback_listener);

  // `request.headers` holds those of kBrowserPolicyHeaders the client sent, by lower-case name.
  BrowserDecision Check(const Request& request) const;

 private:
  bool HostAllowed(std::string_view host_name) const;
  bool CorsOriginAllowed(std::string_view origin) const;

  const BrowserPolicyOptions options_;
  const bool loopback_listener_;
};

// Helpers, exposed for tests.
// The host part of a Host header value: "Example.com:80" -> "example.com", "[::1]:6333" -> "::1";
// empty for a malformed value.
std::string HostName(std::string_view host_header);
// localhost, 127.0.0.0/8 in dotted-quad form, ::1.
bool IsLoopbackName(std::string_view host_name);
// The media type of a Content-Type value, lower-case, without parameters: "Application/JSON; charset=x"
// -> "application/json".
std::string MediaType(std::string_view content_type);
// Checks an entry of http.cors_origins: "*" or scheme://host[:port] (http or https, no path).
Status ValidateCorsOrigin(std::string_view origin);
// Checks an entry of http.allowed_hosts: "*" or a host name or address without port.
Status ValidateAllowedHost(std::string_view host_name);

}  // namespace vj

#include "server/browser_policy.h"

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/address.hpp>

#include "server/http_messages.h"

namespace vj {
namespace {

// Metric label of the responses the policy produces itself (bounded cardinality).
constexpr char kRoute[] = "browser_policy";
constexpr char kAllowedMethods[] = "GET, POST, PUT, PATCH, DELETE, HEAD";
// What Qdrant's clients send from a browser: a JSON body and an API key or a bearer token.
constexpr char kAllowedHeaders[] = "content-type, api-key, authorization";
constexpr char kPreflightMaxAgeSeconds[] = "600";

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IEquals(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

const std::string* Header(const Request& request, const char* name) {
  auto it = request.headers.find(name);
  return it == request.headers.end() ? nullptr : &it->second;
}

bool IsIpAddress(std::string_view host_name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host_name), ec);
  return !ec;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool ValidNameChars(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

Response Refusal(int status, std::string message) {
  Response r = TransportError(status, message);
  r.route = kRoute;
  return r;
}

}  // namespace

std::string HostName(std::string_view host_header) {
  std::string_view name = host_header;
  std::string_view port;
  if (!name.empty() && name.front() == '[') {  // [v6]:port
    const size_t close = name.find(']');
    if (close == std::string_view::npos) return "";
    std::string_view rest = name.substr(close + 1);
    name = name.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "";
      port = rest.substr(1);
      if (!AllDigits(port)) return "";
    }
    return IsIpAddress(name) ? Lower(name) : "";
  }
  if (const size_t colon = name.find(':'); colon != std::string_view::npos) {
    port = name.substr(colon + 1);
    name = name.substr(0, colon);
    if (!AllDigits(port)) return "";
  }
  return ValidNameChars(name) ? Lower(name) : "";
}

bool IsLoopbackName(std::string_view host_name) {
  if (IEquals(host_name, "localhost")) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host_name), ec);
  return !ec && address.is_loopback();
}

std::string MediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return Lower(type);
}

Status ValidateCorsOrigin(std::string_view origin) {
  if (origin == "*") return absl::OkStatus();
  std::string_view rest;
  if (origin.substr(0, 7) == "http://") {
    rest = origin.substr(7);
  } else if (origin.substr(0, 8) == "https://") {
    rest = origin.substr(8);
  } else {
    return absl::InvalidArgumentError("expected \"*\" or http(s)://HOST[:PORT], got \"" + std::string(origin) +
                                      "\"");
  }
  if (HostName(rest).empty()) {
    return absl::InvalidArgumentError("expected http(s)://HOST[:PORT] without a path, got \"" +
                                      std::string(origin) + "\"");
  }
  return absl::OkStatus();
}

Status ValidateAllowedHost(std::string_view host_name) {
  if (host_name == "*" || ValidNameChars(host_name) || IsIpAddress(host_name)) return absl::OkStatus();
  return absl::InvalidArgumentError("expected \"*\" or a host name without port, got \"" +
                                    std::string(host_name) + "\"");
}

BrowserPolicy::BrowserPolicy(BrowserPolicyOptions options, bool loopback_listener)
    : options_(std::move(options)), loopback_listener_(loopback_listener) {}

bool BrowserPolicy::HostAllowed(std::string_view host_name) const {
  // DNS rebinding needs a name the attacker controls: addresses and loopback names are always safe.
  if (IsIpAddress(host_name) || IsLoopbackName(host_name)) return true;
  for (const std::string& allowed : options_.allowed_hosts) {
    if (allowed == "*" || IEquals(allowed, host_name)) return true;
  }
  return options_.allowed_hosts.empty() && !loopback_listener_;
}

bool BrowserPolicy::CorsOriginAllowed(std::string_view origin) const {
  for (const std::string& allowed : options_.cors_origins) {
    // "null" (sandboxed frames, file: pages) is never covered by "*": any page can produce it.
    if ((allowed == "*" && origin != "null") || IEquals(allowed, origin)) return true;
  }
  return false;
}

BrowserDecision BrowserPolicy::Check(const Request& request) const {
  BrowserDecision decision;
  const std::string* host = Header(request, "host");
  if (host != nullptr) {
    const std::string name = HostName(*host);
    if (name.empty()) {
      decision.answer = Refusal(400, "Bad request: malformed Host header \"" + *host + "\"");
      return decision;
    }
    if (!HostAllowed(name)) {
      decision.answer = Refusal(
          403, "Forbidden: Host \"" + *host + "\" is not allowed (protection against DNS rebinding): " +
                   (loopback_listener_
                        ? "a node listening on a loopback address accepts only localhost, 127.0.0.0/8, "
                          "[::1] and IP addresses"
                        : "it accepts only IP addresses, loopback names") +
                   " and the names in http.allowed_hosts");
      return decision;
    }
  }

  const std::string* origin = Header(request, "origin");
  const bool cors_enabled = !options_.cors_origins.empty();
  if (cors_enabled) decision.response_headers.emplace_back("Vary", "Origin");
  if (origin != nullptr) {
    const bool own = host != nullptr && (IEquals(*origin, "http://" + *host) || IEquals(*origin, "https://" + *host));
    const bool cors = !own && CorsOriginAllowed(*origin);
    if (!own && !cors) {
      decision.answer = Refusal(403, "Forbidden: requests from web pages of origin \"" + *origin +
                                         "\" are refused (cross-site request); list the origin in "
                                         "http.cors_origins to allow it");
      return decision;
    }
    if (cors) {
      decision.response_headers.emplace_back("Access-Control-Allow-Origin", *origin);
      if (request.method == "OPTIONS") {
        decision.response_headers.emplace_back("Access-Control-Allow-Methods", kAllowedMethods);
        decision.response_headers.emplace_back("Access-Control-Allow-Headers", kAllowedHeaders);
        decision.response_headers.emplace_back("Access-Control-Max-Age", kPreflightMaxAgeSeconds);
        Response preflight = TextResponse(204, "", kRoute);
        decision.answer = std::move(preflight);
        return decision;
      }
    }
  }

  if (!request.body.empty()) {
    const bool replication = !options_.binary_body_prefix.empty() &&
                             request.path.rfind(options_.binary_body_prefix, 0) == 0;
    // Qdrant's snapshot upload (POST /collections/{name}/snapshots/upload) is a form upload.
    const bool upload = request.method == "POST" && request.path.size() > 17 &&
                        request.path.compare(request.path.size() - 17, 17, "/snapshots/upload") == 0;
    const char* expected = replication ? "application/octet-stream"
                           : upload    ? "multipart/form-data"
                                       : "application/json";
    const std::string* content_type = Header(request, "content-type");
    if (content_type == nullptr || MediaType(*content_type) != expected) {
      decision.answer = Refusal(
          415, std::string("Unsupported Media Type: a request body must be sent with Content-Type: ") +
                   expected + ", got " + (content_type == nullptr ? "none" : "\"" + *content_type + "\""));
      return decision;
    }
  }
  return decision;
}

}  // namespace vj

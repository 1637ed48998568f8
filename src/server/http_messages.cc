#include "server/http_messages.h"

#include "api/error_mapping.h"
#include "core/hex.h"

namespace vj {
namespace {

// Percent-decoding; a malformed escape is kept literally rather than rejected, as most servers do.
std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexDigitValue(in[i + 1]), lo = HexDigitValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

}  // namespace

// Splits a request target into the decoded path and query parameters (a repeated key keeps the
// last value).
void DecodeTarget(std::string_view target, Request& req) {
  if (size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  size_t q = target.find('?');
  req.path = PercentDecode(target.substr(0, q), /*plus_is_space=*/false);
  if (q == std::string_view::npos) return;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1), true);
    req.query[std::move(key)] = std::move(value);
  }
}

Response TransportError(int status, std::string_view message) {
  Response r = ErrorResponse(absl::InvalidArgumentError(std::string(message)), 0);
  r.status = status;
  r.route = "unmatched";
  return r;
}

Response TextResponse(int status, std::string body, std::string route) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = "text/plain; charset=utf-8";
  r.route = std::move(route);
  return r;
}

// The method label: arbitrary method tokens from clients must not create unbounded series.
std::string MethodLabel(std::string_view m) {
  for (const char* known : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
    if (m == known) return known;
  }
  return "other";
}

}  // namespace vj

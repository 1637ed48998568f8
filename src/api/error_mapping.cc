#include "api/error_mapping.h"

#include <filesystem>
#include <system_error>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "cluster/peer_protocol.h"
#include "core/deadline.h"
#include "core/retry_after.h"

namespace vj {
namespace {

// The longest error message sent (and logged) for one request.
constexpr size_t kMaxErrorMessageBytes = 2048;

// Characters of a path word; a path ends at anything else (space, quote, ':' before a reason, ...).
bool PathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
         c == '.' || c == '_' || c == '-' || c == '@' || c == '+' || c == '~' || c == '%' || c == '=' ||
         c == ',';
}

bool StartsWord(std::string_view text, size_t i) {
  if (i == 0) return true;
  const char c = text[i - 1];
  return c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '`' || c == '(' || c == '[' ||
         c == '=' || c == ':' || c == ',';
}

// Whether `word` (a run of PathChar) names a file of this machine.
bool IsFilePath(std::string_view word) {
  if (word.substr(0, 2) == "./" || word.substr(0, 3) == "../") return word.size() > 2;
  if (word.size() < 2 || word[0] != '/' || word[1] == '/') return false;
  const std::string_view first = word.substr(1, word.find('/', 1) - 1);
  if (first.empty() || first == "." || first == "..") return false;
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path("/") / std::string(first), ec);
}

}  // namespace

std::string RedactFilePaths(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  size_t i = 0;
  while (i < message.size()) {
    if ((message[i] == '/' || message[i] == '.') && StartsWord(message, i)) {
      size_t end = i;
      while (end < message.size() && PathChar(message[end])) ++end;
      std::string_view word = message.substr(i, end - i);
      // A trailing '.' or ',' ends the sentence, not the path.
      while (!word.empty() && (word.back() == '.' || word.back() == ',')) word.remove_suffix(1);
      if (IsFilePath(word)) {
        std::string_view last = word;
        while (!last.empty() && last.back() == '/') last.remove_suffix(1);
        last = last.substr(last.rfind('/') + 1);
        out += ".../";
        out += last;
        i += word.size();
        continue;
      }
    }
    out += message[i++];
  }
  return out;
}

namespace {

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when it is not one.
size_t Utf8SequenceLength(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

// Error messages quote what the client sent (a path segment is any bytes once percent-decoded); bytes
// that are not UTF-8 would make the body invalid JSON, so each becomes U+FFFD.
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const size_t n = Utf8SequenceLength(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      s.remove_prefix(1);
    } else {
      out.append(s.substr(0, n));
      s.remove_prefix(n);
    }
  }
  return out;
}

}  // namespace

Response ErrorResponse(const Status& status, double seconds) {
  Response response;
  response.status = HttpStatusFor(status);
  // A message may quote what the client sent (an unknown key, a value): cap it before the work that
  // is per word (redaction) and before it reaches the log. ValidUtf8 mends a cut character.
  std::string full = StatusMessage(status);
  if (full.size() > kMaxErrorMessageBytes) {
    full.resize(kMaxErrorMessageBytes);
    full += "... (cut)";
  }
  std::string message = RedactFilePaths(full);
  if (message != full) spdlog::warn("answering HTTP {} for: {}", response.status, full);
  boost::json::object body{{"status", boost::json::object{{"error", ValidUtf8(message)}}},
                           {"time", seconds}};
  response.body = boost::json::serialize(body);
  // Unavailable is transient by definition (a full write queue, a closing collection, a peer down):
  // tell clients when to try again instead of letting them retry at once.
  // A rate limit says how long (core/retry_after.h).
  if (std::optional<int64_t> wait = RetryAfterSeconds(status)) {
    response.headers.emplace_back("Retry-After", std::to_string(*wait));
  } else if (response.status == 503) {
    response.headers.emplace_back("Retry-After", "1");
  }
  // A peer that forwarded the request must not retry it either (cluster/peer_client.cc reads this).
  if (IsFinalUnavailable(status)) response.headers.emplace_back(kFinalRefusalHeader, "final");
  return response;
}

Response PeerErrorResponse(const Status& status) {
  Response response = ErrorResponse(status, 0);
  response.body = EncodePeerError(status);
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
  return StatusFromHttpStatus(http_status, message);
}

}  // namespace vj

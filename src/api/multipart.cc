#include "api/multipart.h"

#include <cctype>
#include <string>

namespace vj {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of parameter `name` in a header value's "; a=b; c=\"d\"" list, or "" when absent.
std::string Parameter(std::string_view header, std::string_view name) {
  size_t pos = header.find(';');
  while (pos != std::string_view::npos) {
    const size_t next = header.find(';', pos + 1);
    std::string_view item = Trim(header.substr(pos + 1, next == std::string_view::npos ? std::string_view::npos
                                                                                         : next - pos - 1));
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos && Lower(Trim(item.substr(0, eq))) == name) {
      std::string_view value = Trim(item.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
    pos = next;
  }
  return "";
}

}  // namespace

StatusOr<std::string_view> MultipartField(std::string_view content_type, std::string_view body,
                                          std::string_view field) {
  if (Lower(Trim(content_type.substr(0, content_type.find(';')))) != "multipart/form-data") {
    return absl::InvalidArgumentError("expected a multipart/form-data body");
  }
  const std::string boundary = Parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70) {
    return absl::InvalidArgumentError("Content-Type: multipart/form-data needs a boundary of 1 to 70 characters");
  }
  const std::string delimiter = "--" + boundary;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return absl::InvalidArgumentError("multipart body: no boundary line");
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") return absl::InvalidArgumentError("multipart body: malformed boundary line");
    pos += 2;
    const size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) return absl::InvalidArgumentError("multipart body: part without headers' end");
    const std::string_view headers = body.substr(pos, headers_end - pos);
    const size_t content_start = headers_end + 4;
    const size_t next = body.find("\r\n" + delimiter, content_start);
    if (next == std::string_view::npos) {
      return absl::InvalidArgumentError("multipart body: a part has no closing boundary (truncated?)");
    }
    std::string name;
    size_t line_start = 0;
    while (line_start <= headers.size()) {
      size_t line_end = headers.find("\r\n", line_start);
      if (line_end == std::string_view::npos) line_end = headers.size();
      const std::string_view line = headers.substr(line_start, line_end - line_start);
      const size_t colon = line.find(':');
      if (colon != std::string_view::npos && Lower(Trim(line.substr(0, colon))) == "content-disposition") {
        name = Parameter(line.substr(colon + 1), "name");
      }
      line_start = line_end + 2;
    }
    if (name == field) return body.substr(content_start, next - content_start);
    pos = next + 2;
  }
  return absl::InvalidArgumentError("multipart body: no field \"" + std::string(field) + "\"");
}

}  // namespace vj

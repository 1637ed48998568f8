#include "core/trace_context.h"

#include "core/hex.h"

namespace vj {
namespace {

bool AllZero(const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

bool LowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Reads 2*n lower-case hex digits into bytes.
bool ReadHex(std::string_view text, uint8_t* out, size_t n) {
  if (text.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (!LowerHex(text[2 * i]) || !LowerHex(text[2 * i + 1])) return false;
    out[i] = static_cast<uint8_t>(HexDigitValue(text[2 * i]) * 16 + HexDigitValue(text[2 * i + 1]));
  }
  return true;
}

// A tracestate key: lcalpha 0*255(lcalpha / DIGIT / "_" / "-"/ "*" / "/"), optionally "tenant@system".
bool TracestateKey(std::string_view key) {
  if (key.empty() || key.size() > 256) return false;
  if (!((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= '0' && key[0] <= '9'))) return false;
  size_t ats = 0;
  for (char c : key) {
    if (c == '@') {
      ++ats;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/')) {
      return false;
    }
  }
  return ats <= 1 && key.back() != '@';
}

// A tracestate value: 0*255 printable ASCII except ',' and '=', not ending in a space.
bool TracestateValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool TraceContext::valid() const {
  return !AllZero(trace_id.data(), trace_id.size()) && !AllZero(span_id.data(), span_id.size());
}

std::string TraceContext::TraceIdHex() const { return ToHex(trace_id); }
std::string TraceContext::SpanIdHex() const { return ToHex(span_id); }

std::optional<TraceContext> ParseTraceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  constexpr size_t kLength = 55;
  if (header.size() < kLength) return std::nullopt;
  uint8_t version = 0;
  if (!ReadHex(header.substr(0, 2), &version, 1) || version == 0xff) return std::nullopt;
  // Version 00 has exactly these fields; a later version may append "-..." after them.
  if (version == 0 ? header.size() != kLength : (header.size() > kLength && header[kLength] != '-')) {
    return std::nullopt;
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  TraceContext context;
  if (!ReadHex(header.substr(3, 32), context.trace_id.data(), 16)) return std::nullopt;
  if (!ReadHex(header.substr(36, 16), context.span_id.data(), 8)) return std::nullopt;
  if (!ReadHex(header.substr(53, 2), &context.flags, 1)) return std::nullopt;
  if (!context.valid()) return std::nullopt;
  return context;
}

std::string FormatTraceparent(const TraceContext& context) {
  std::string out = "00-";
  out += ToHex(context.trace_id);
  out += '-';
  out += ToHex(context.span_id);
  out += '-';
  out += HexEncode(&context.flags, 1);
  return out;
}

std::string SanitizeTracestate(std::string_view header) {
  constexpr size_t kMaxBytes = 512;
  constexpr size_t kMaxEntries = 32;
  if (header.empty() || header.size() > kMaxBytes) return "";
  std::string out;
  size_t entries = 0;
  while (true) {
    size_t comma = header.find(',');
    std::string_view member = Trim(header.substr(0, comma));
    if (!member.empty()) {  // empty list members are allowed and dropped
      size_t eq = member.find('=');
      if (eq == std::string_view::npos) return "";
      std::string_view key = member.substr(0, eq);
      std::string_view value = member.substr(eq + 1);
      if (!TracestateKey(key) || !TracestateValue(value) || ++entries > kMaxEntries) return "";
      if (!out.empty()) out += ',';
      out.append(member);
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace vj

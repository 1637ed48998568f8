#include "tracing/otlp_json.h"

#include <cmath>
#include <cstdio>

namespace vj {
namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  if (n == 3 && ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) >= 0xa0))) return 0;  // overlong, surrogate
  if (n == 4 && ((c == 0xf0 && b(i + 1) < 0x90) || (c == 0xf4 && b(i + 1) >= 0x90))) return 0;  // overlong, > U+10FFFF
  return n;
}

// A JSON string; bytes that are not UTF-8 become U+FFFD (a path or name may hold any byte).
void AppendString(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const size_t n = Utf8Length(s, i);
      if (n == 0) {
        out += "\\ufffd";
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendValue(std::string& out, const AttributeValue& value) {
  out += '{';
  if (const auto* s = std::get_if<std::string>(&value)) {
    out += "\"stringValue\":";
    AppendString(out, *s);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    out += "\"intValue\":\"";
    out += std::to_string(*i);
    out += '"';
  } else if (const auto* d = std::get_if<double>(&value)) {
    out += "\"doubleValue\":";
    if (std::isfinite(*d)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      out += buf;
    } else {
      out += std::isnan(*d) ? "\"NaN\"" : (*d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    }
  } else {
    out += "\"boolValue\":";
    out += std::get<bool>(value) ? "true" : "false";
  }
  out += '}';
}

void AppendAttribute(std::string& out, std::string_view key, const AttributeValue& value) {
  out += "{\"key\":";
  AppendString(out, key);
  out += ",\"value\":";
  AppendValue(out, value);
  out += '}';
}

void AppendSpan(std::string& out, const SpanData& span) {
  out += "{\"traceId\":\"";
  out += ToHex(span.context.trace_id);
  out += "\",\"spanId\":\"";
  out += ToHex(span.context.span_id);
  out += '"';
  const SpanId zero{};
  if (span.parent_span_id != zero) {
    out += ",\"parentSpanId\":\"";
    out += ToHex(span.parent_span_id);
    out += '"';
  }
  if (!span.tracestate.empty()) {
    out += ",\"traceState\":";
    AppendString(out, span.tracestate);
  }
  out += ",\"name\":";
  AppendString(out, span.name);
  out += ",\"kind\":";
  out += std::to_string(static_cast<int>(span.kind));
  out += ",\"startTimeUnixNano\":\"";
  out += std::to_string(span.start_unix_nanos);
  out += "\",\"endTimeUnixNano\":\"";
  out += std::to_string(span.end_unix_nanos);
  out += "\",\"attributes\":[";
  for (size_t i = 0; i < span.attributes.size(); ++i) {
    if (i) out += ',';
    AppendAttribute(out, span.attributes[i].first, span.attributes[i].second);
  }
  out += "],\"status\":{\"code\":";
  out += std::to_string(static_cast<int>(span.status));
  if (!span.status_message.empty()) {
    out += ",\"message\":";
    AppendString(out, span.status_message);
  }
  // OTLP's span flags: the W3C flags, and whether the parent is known to be remote (bits 8 and 9).
  uint32_t flags = span.context.flags | 0x100u | (span.parent_remote ? 0x200u : 0u);
  out += "},\"flags\":";
  out += std::to_string(flags);
  out += '}';
}

}  // namespace

std::string EncodeOtlpTraces(const OtlpResource& resource, const std::vector<std::unique_ptr<SpanData>>& spans) {
  std::string out;
  out.reserve(256 + spans.size() * 512);
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  AppendAttribute(out, "service.name", resource.service_name);
  if (!resource.service_instance_id.empty()) {
    out += ',';
    AppendAttribute(out, "service.instance.id", resource.service_instance_id);
  }
  if (!resource.service_version.empty()) {
    out += ',';
    AppendAttribute(out, "service.version", resource.service_version);
  }
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"vjvector\"},\"spans\":[";
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i) out += ',';
    AppendSpan(out, *spans[i]);
  }
  out += "]}]}]}";
  return out;
}

}  // namespace vj

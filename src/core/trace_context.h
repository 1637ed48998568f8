// TraceContext: the W3C Trace Context of one span (https://www.w3.org/TR/trace-context/): a 16-byte
// trace id, the 8-byte id of the span, and the trace flags (bit 0: sampled). It is what travels with a
// request (RequestContext::trace) and in the `traceparent` header of peer requests; the spans
// themselves are tracing/'s.
//
// traceparent: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lower-case hex. Version 00 is
// parsed exactly; a higher version is parsed by its first four fields (the spec's forward
// compatibility). An all-zero id, version ff, upper-case hex or a wrong length is invalid: the caller
// starts a new trace, the request never fails for it.
// tracestate: vendor entries "key=value,..." passed on as they came when they are well formed
// (at most 32 entries, 512 bytes, printable ASCII without spaces around them); otherwise dropped.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/hex.h"
namespace vj {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};
  uint8_t flags = 0;  // bit 0: sampled

  // Both ids set (a context that can be continued); a default-constructed one is not.
  bool valid() const;
  bool sampled() const { return (flags & 1) != 0; }
  std::string TraceIdHex() const;
  std::string SpanIdHex() const;
};

// Lower-case hex of an id.
template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& id) {
  return HexEncode(id.data(), N);
}

// The context a traceparent header names, or nullopt when it is not a valid one.
std::optional<TraceContext> ParseTraceparent(std::string_view header);
// "00-<trace id>-<span id>-<flags>".
std::string FormatTraceparent(const TraceContext& context);
// The header when it is a well-formed tracestate (see above), else "".
std::string SanitizeTracestate(std::string_view header);

}  // namespace vj

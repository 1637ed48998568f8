// RequestContext: what the server knows about one request, built once where it enters (server/ for the
// REST port; the peer port for node-to-node requests) and passed explicitly down through api/ ->
// collection/ -> cluster/, across thread pools and into peer requests. No layer reads headers or
// globals to learn who is asking or how long it may take.
//
// Thread-safety: a plain value, copied where it crosses a thread; the principal it points to is
// immutable and shared.
#pragma once

#include <memory>
#include <string>

#include "core/deadline.h"
#include "core/trace_context.h"

namespace vj {

struct Principal;  // security/permission.h

struct RequestContext {
  // Unique per request on this node ("<node-start-nonce>-<counter>", or the X-Request-Id a client or a
  // peer sent when it is a safe token); echoed in the X-Request-Id answer header and in logs.
  std::string request_id;
  // Who is asking (security/permission.h); null only before authentication ran, and for the health
  // routes that need none.
  std::shared_ptr<const Principal> principal;
  // The tenant the request acts for (issue 12); empty until tenants exist.
  std::string tenant;
  // W3C trace context of the caller (the traceparent header), empty when none was sent.
  std::string traceparent;
  // The request's active span (tracing/span.h): the server span the transport started, whose id is
  // the parent of the spans below it and of peer requests' traceparent. Not valid while tracing is
  // off (tracing.otlp_endpoint empty).
  TraceContext trace;
  // The caller's tracestate header when well formed (core/trace_context.h), passed on to peers.
  std::string tracestate;
  // "ip:port" of the client (for a peer request, the peer).
  std::string client_address;
  // When the request's work must stop (?timeout=, limits.default_timeout_s); none by default.
  Deadline deadline;
};

}  // namespace vj

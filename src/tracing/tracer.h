// Tracer: the process's tracing switch, sampler and exporter, and the thread's current span.
//
// Tracing is off until a Tracer is installed (server start-up, when tracing.otlp_endpoint is set);
// then StartSpan samples new traces (tracing/sampler.h) and ended spans go to the exporter
// (tracing/span_exporter.h), which drops rather than blocks when its queue is full.
//
// The current span travels two ways: in RequestContext::trace (explicitly, across layers and to
// peers: point writes take the context down to the forwarded copy, cluster/routed_shard.h) and as the
// thread's current context (ScopedTraceContext). The thread's context is kept only where no
// RequestContext reaches: reads below api/ (their request structs carry only a Deadline,
// collection/requests.h), the shard's own spans (Shard::Submit, shard_read.cc), and log lines (the %&
// flag of the log pattern, tools/main.cc); RunOnShardPool carries it to its pool threads.
//
// Thread-safety: all functions may be called from any thread. InstallTracer/UninstallTracer are for
// start-up and shutdown: the installed Tracer must outlive every span started while it was installed.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "core/trace_context.h"
#include "tracing/span.h"

namespace vj {

class BatchSpanExporter;

struct TracerOptions {
  // Share of new traces recorded (tracing.sample_ratio), in [0, 1]. A trace whose caller sent a
  // traceparent follows the caller's sampled flag instead.
  double sample_ratio = 1.0;
};

class Tracer {
 public:
  // `exporter` must outlive the tracer.
  Tracer(TracerOptions options, BatchSpanExporter& exporter) : options_(options), exporter_(exporter) {}

  // A new span: a child of `parent` when it is valid (`remote`: it came in a traceparent header),
  // else the root of a new trace.
  Span Start(std::string_view name, SpanKind kind, const TraceContext& parent, bool remote,
             std::string_view tracestate = {});
  // Hands an ended span to the exporter (Span::End calls it).
  void Export(std::unique_ptr<SpanData> span);

 private:
  const TracerOptions options_;
  BatchSpanExporter& exporter_;
};

// The installed tracer, or null while tracing is off.
void InstallTracer(Tracer* tracer);
inline std::atomic<Tracer*> g_active_tracer{nullptr};
inline Tracer* ActiveTracer() { return g_active_tracer.load(std::memory_order_acquire); }

// Starts a span that is a child of the thread's current context (a root when there is none). With
// tracing off this is one branch and returns a non-recording, invalid Span.
inline Span StartSpan(std::string_view name, SpanKind kind = SpanKind::kInternal);
// Starts a span with an explicit parent (a request's incoming traceparent, a queued write's context).
inline Span StartSpan(std::string_view name, SpanKind kind, const TraceContext& parent, bool remote = false,
                      std::string_view tracestate = {});

// The thread's current context while a ScopedTraceContext lives: what new spans descend from, what
// peer requests propagate and what log lines name. `request_id` (may be null) is logged with it.
class ScopedTraceContext {
 public:
  explicit ScopedTraceContext(const TraceContext& context, const std::string* request_id = nullptr,
                              const std::string* tracestate = nullptr);
  ~ScopedTraceContext();
  ScopedTraceContext(const ScopedTraceContext&) = delete;
  ScopedTraceContext& operator=(const ScopedTraceContext&) = delete;

 private:
  struct Saved {
    TraceContext context;
    const std::string* request_id;
    const std::string* tracestate;
  };
  Saved saved_;
};

// The thread's current context (invalid when none), and the request id set with it ("" when none).
const TraceContext& CurrentTraceContext();
const std::string& CurrentRequestId();
const std::string& CurrentTracestate();
// The traceparent header for a request made now on behalf of the current span; "" when none.
std::string CurrentTraceparent();

inline Span StartSpan(std::string_view name, SpanKind kind) {
  Tracer* tracer = ActiveTracer();
  if (tracer == nullptr) return Span();
  return tracer->Start(name, kind, CurrentTraceContext(), /*remote=*/false, CurrentTracestate());
}

inline Span StartSpan(std::string_view name, SpanKind kind, const TraceContext& parent, bool remote,
                      std::string_view tracestate) {
  Tracer* tracer = ActiveTracer();
  if (tracer == nullptr) return Span();
  return tracer->Start(name, kind, parent, remote, tracestate);
}

}  // namespace vj

#include "tracing/tracer.h"

#include <chrono>
#include <random>
#include <thread>

#include "core/wall_clock.h"
#include "tracing/sampler.h"
#include "tracing/span_exporter.h"

namespace vj {
namespace {

// Ids come from a per-thread splitmix64 seeded from the OS: unique enough for trace ids (the W3C
// spec asks for randomness, not secrecy) and a few nanoseconds each.
uint64_t NextRandom() {
  thread_local uint64_t state = [] {
    std::random_device device;
    uint64_t seed = (uint64_t{device()} << 32) ^ device();
    return seed ^ (std::hash<std::thread::id>()(std::this_thread::get_id()) * 0x9e3779b97f4a7c15ull);
  }();
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void FillRandom(uint8_t* out, size_t n) {
  while (true) {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t r = NextRandom();
      for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
    for (size_t i = 0; i < n; ++i) {
      if (out[i] != 0) return;  // an all-zero id is invalid
    }
  }
}

struct ThreadContext {
  TraceContext context;
  const std::string* request_id = nullptr;
  const std::string* tracestate = nullptr;
};
thread_local ThreadContext t_current;

const std::string& Empty() {
  static const std::string empty;
  return empty;
}

}  // namespace

Span Tracer::Start(std::string_view name, SpanKind kind, const TraceContext& parent, bool remote,
                   std::string_view tracestate) {
  TraceContext context;
  const bool has_parent = parent.valid();
  if (has_parent) {
    context.trace_id = parent.trace_id;
  } else {
    FillRandom(context.trace_id.data(), context.trace_id.size());
  }
  FillRandom(context.span_id.data(), context.span_id.size());
  const bool sampled = ShouldSample(parent, context.trace_id, options_.sample_ratio);
  context.flags = static_cast<uint8_t>((has_parent ? parent.flags & ~1 : 0) | (sampled ? 1 : 0));
  if (!sampled) return Span(context, nullptr);
  auto data = std::make_unique<SpanData>();
  data->context = context;
  if (has_parent) data->parent_span_id = parent.span_id;
  data->parent_remote = has_parent && remote;
  if (has_parent) data->tracestate = tracestate;
  data->name = name;
  data->kind = kind;
  data->start_unix_nanos = WallClockUnixNanos();
  return Span(context, std::move(data));
}

void Tracer::Export(std::unique_ptr<SpanData> span) { (void)exporter_.Push(std::move(span)); }

void InstallTracer(Tracer* tracer) { g_active_tracer.store(tracer, std::memory_order_release); }

void Span::SetError(std::string_view message) {
  if (!data_) return;
  data_->status = SpanStatus::kError;
  data_->status_message = std::string(message.substr(0, 256));
}

void Span::End() {
  if (!data_) return;
  data_->end_unix_nanos = WallClockUnixNanos();
  if (Tracer* tracer = ActiveTracer()) tracer->Export(std::move(data_));
  data_.reset();
}

ScopedTraceContext::ScopedTraceContext(const TraceContext& context, const std::string* request_id,
                                       const std::string* tracestate)
    : saved_{t_current.context, t_current.request_id, t_current.tracestate} {
  t_current.context = context;
  if (request_id != nullptr) t_current.request_id = request_id;
  if (tracestate != nullptr) t_current.tracestate = tracestate;
}

ScopedTraceContext::~ScopedTraceContext() {
  t_current.context = saved_.context;
  t_current.request_id = saved_.request_id;
  t_current.tracestate = saved_.tracestate;
}

const TraceContext& CurrentTraceContext() { return t_current.context; }
const std::string& CurrentRequestId() { return t_current.request_id ? *t_current.request_id : Empty(); }
const std::string& CurrentTracestate() { return t_current.tracestate ? *t_current.tracestate : Empty(); }

std::string CurrentTraceparent() {
  const TraceContext& context = t_current.context;
  return context.valid() ? FormatTraceparent(context) : std::string();
}

}  // namespace vj

// Spans: the OpenTelemetry span model, small. A Span is one timed operation of a trace (a request,
// a shard's search, a replication round trip) with a kind, attributes and a status; it is ended when
// it goes out of scope (RAII) or by End(), and then handed to the active Tracer's exporter.
//
// How to use it (the whole API other modules need; tracing/tracer.h has the rest):
//   Span span = StartSpan("shard.query", SpanKind::kInternal);   // child of the thread's current span
//   span.SetAttribute("db.collection.name", name);                // no-op when not recording
//   ScopedTraceContext scope(span.context());                     // spans started below are its children
//   ... if (!status.ok()) span.SetError(status.message());
// A Span that does not record (tracing off, or a trace not sampled) costs a branch: no clock read, no
// allocation. Its context() still carries the trace id and the sampled flag (0) so that peers honour
// the decision; with tracing off it is invalid and nothing is propagated.
//
// Thread-safety: a Span is used by one thread at a time (it may move between threads).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"
#include "core/trace_context.h"

namespace vj {

// OTLP's span kinds (the numbers of its protobuf enum).
enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };

// OTLP's status codes: unset (the default, success) or error.
enum class SpanStatus : int { kUnset = 0, kOk = 1, kError = 2 };

using AttributeValue = std::variant<std::string, int64_t, double, bool>;
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

// What an ended span reports (the exporter's input).
struct SpanData {
  TraceContext context;   // this span's trace id, span id and flags
  SpanId parent_span_id{};  // all zero for a root span
  bool parent_remote = false;  // the parent came from another process (a traceparent header)
  std::string tracestate;
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_unix_nanos = 0;
  uint64_t end_unix_nanos = 0;
  Attributes attributes;
  SpanStatus status = SpanStatus::kUnset;
  std::string status_message;
};

class Span {
 public:
  Span() = default;  // not recording, invalid context
  // A recording span (`data` set) or a context-only one (`data` null).
  Span(TraceContext context, std::unique_ptr<SpanData> data) : context_(context), data_(std::move(data)) {}
  Span(Span&&) noexcept = default;
  Span& operator=(Span&& other) noexcept {
    if (this != &other) {
      End();
      context_ = other.context_;
      data_ = std::move(other.data_);
    }
    return *this;
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { End(); }

  // Whether attributes set now are kept (tracing on and the trace sampled).
  bool recording() const { return data_ != nullptr; }
  // The context to propagate: children's parent, peers' traceparent.
  const TraceContext& context() const { return context_; }

  void SetName(std::string_view name) {
    if (data_) data_->name = name;
  }
  // Attribute setters: no-ops when not recording. Integers are OTLP int64, strings are copied.
  void SetAttribute(std::string_view key, std::string_view value) { if (data_) Set(key, std::string(value)); }
  void SetAttribute(std::string_view key, const std::string& value) { if (data_) Set(key, value); }
  void SetAttribute(std::string_view key, const char* value) { if (data_) Set(key, std::string(value)); }
  void SetAttribute(std::string_view key, int value) { if (data_) Set(key, int64_t{value}); }
  void SetAttribute(std::string_view key, int64_t value) { if (data_) Set(key, value); }
  void SetAttribute(std::string_view key, uint32_t value) { if (data_) Set(key, int64_t{value}); }
  void SetAttribute(std::string_view key, uint64_t value) { if (data_) Set(key, static_cast<int64_t>(value)); }
  void SetAttribute(std::string_view key, double value) { if (data_) Set(key, value); }
  void SetAttribute(std::string_view key, bool value) { if (data_) Set(key, value); }
  // Marks the span failed (OTLP status ERROR) with a short description.
  void SetError(std::string_view message);
  void SetError(const Status& status) {
    if (data_) SetError(std::string_view(status.message().data(), status.message().size()));
  }
  // Records the end time and hands the span to the exporter; later calls do nothing.
  void End();

 private:
  void Set(std::string_view key, AttributeValue value) {
    if (data_) data_->attributes.emplace_back(std::string(key), std::move(value));
  }

  TraceContext context_;
  std::unique_ptr<SpanData> data_;
};

}  // namespace vj

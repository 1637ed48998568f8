// BatchSpanExporter: ended spans wait in a bounded queue and a background thread sends them in
// batches as OTLP/JSON (tracing/otlp_json.h) through `post` (the server passes an HTTP POST to
// <tracing.otlp_endpoint>/v1/traces). A batch leaves when max_batch_spans are queued or
// flush_interval has passed since the last one.
//
// Never blocks a request: when the queue is full a span is dropped and counted (dropped_spans()), and
// a batch that cannot be sent (collector down, non-2xx) is dropped after one attempt and counted
// (failed_spans()): traces are best effort, the database's work comes first. The counts are exported
// as Prometheus counters by the server.
//
// Thread-safety: Push, Flush and the counters may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "core/status.h"
#include "tracing/otlp_json.h"
#include "tracing/span.h"

namespace vj {

struct SpanExporterOptions {
  size_t max_queue_spans = 4096;
  size_t max_batch_spans = 512;
  std::chrono::milliseconds flush_interval{1000};
  OtlpResource resource;
};

// Sends one OTLP/JSON request body; OK when the collector accepted it (2xx).
using OtlpPost = std::function<Status(const std::string& body)>;

class BatchSpanExporter {
 public:
  BatchSpanExporter(SpanExporterOptions options, OtlpPost post);
  // Sends what is queued (one attempt), then stops the thread. After one failed send the rest of the
  // queue is counted failed unsent: a silent collector costs shutdown one timeout, not one per batch.
  ~BatchSpanExporter();
  BatchSpanExporter(const BatchSpanExporter&) = delete;
  BatchSpanExporter& operator=(const BatchSpanExporter&) = delete;

  // Queues an ended span; false (and counted) when the queue is full.
  bool Push(std::unique_ptr<SpanData> span);
  // Blocks until every span queued before the call was sent or dropped.
  void Flush();

  uint64_t exported_spans() const { return exported_.load(std::memory_order_relaxed); }
  uint64_t dropped_spans() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t failed_spans() const { return failed_.load(std::memory_order_relaxed); }
  uint64_t queued_spans() const;

 private:
  void Run();
  // Sends one batch (called without the lock); true when the collector accepted it.
  bool Send(std::vector<std::unique_ptr<SpanData>>& batch);

  // Fixed after construction.
  const SpanExporterOptions options_;
  const OtlpPost post_;

  mutable std::mutex mu_;
  std::condition_variable wake_;   // the thread: a full batch, a flush or stop
  std::condition_variable sent_;   // Flush: a batch was handled
  std::deque<std::unique_ptr<SpanData>> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t pushed_ ABSL_GUARDED_BY(mu_) = 0;   // spans accepted into the queue, ever
  uint64_t handled_ ABSL_GUARDED_BY(mu_) = 0;  // of those, sent or failed
  uint64_t flush_to_ ABSL_GUARDED_BY(mu_) = 0; // a Flush waits for handled_ to reach this
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failed_{0};
  std::thread thread_;
};

}  // namespace vj

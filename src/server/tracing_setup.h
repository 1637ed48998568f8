// Tracing at server start-up (docs/operations.md "Tracing"): when tracing.otlp_endpoint is set, an
// OTLP/HTTP exporter (tracing/span_exporter.h) posting to <endpoint>/v1/traces through its own
// HttpClient, and the Tracer installed for the process; its counters become Prometheus metrics
// (vjvector_trace_spans_exported_total, vjvector_trace_spans_dropped_total{reason}).
// Thread-safety: create and destroy on the main thread; the installed tracer is used by every thread.
#pragma once

#include <memory>
#include <string>

#include "cluster/http_client.h"
#include "server/metrics.h"
#include "server/server_config.h"
#include "tracing/span_exporter.h"
#include "tracing/tracer.h"

namespace vj {

class TracingRuntime {
 public:
  // Null when tracing is off (no endpoint). `instance_id` names this node (service.instance.id).
  static std::unique_ptr<TracingRuntime> Start(const ServerConfig& config, const std::string& instance_id,
                                               Metrics& metrics);
  // Uninstalls the tracer, then sends what is queued (one attempt).
  ~TracingRuntime();

 private:
  TracingRuntime() = default;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<BatchSpanExporter> exporter_;
  std::unique_ptr<Tracer> tracer_;
};

}  // namespace vj

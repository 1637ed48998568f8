#include "server/tracing_setup.h"

#include <spdlog/spdlog.h>

namespace vj {

std::unique_ptr<TracingRuntime> TracingRuntime::Start(const ServerConfig& config, const std::string& instance_id,
                                                      Metrics& metrics) {
  if (config.tracing_otlp_endpoint.empty()) return nullptr;
  std::unique_ptr<TracingRuntime> runtime(new TracingRuntime());
  HttpClientOptions http_options;
  http_options.connect_timeout = std::chrono::milliseconds(1000);
  http_options.request_timeout = std::chrono::milliseconds(5000);
  http_options.max_idle_per_host = 2;
  http_options.max_response_bytes = 1 << 20;
  runtime->http_ = std::make_unique<HttpClient>(http_options);
  const std::string url = config.tracing_otlp_endpoint + "/v1/traces";
  SpanExporterOptions options;
  options.resource.service_name = config.tracing_service_name;
  options.resource.service_instance_id = instance_id;
  HttpClient& http = *runtime->http_;
  runtime->exporter_ = std::make_unique<BatchSpanExporter>(options, [&http, url](const std::string& body) -> Status {
    StatusOr<HttpResult> result = http.Send("POST", url, body, {{"Content-Type", "application/json"}});
    if (!result.ok()) return result.status();
    if (result->status / 100 != 2) {
      return absl::UnavailableError("the OTLP collector answered HTTP " + std::to_string(result->status));
    }
    return absl::OkStatus();
  });
  runtime->tracer_ = std::make_unique<Tracer>(TracerOptions{config.tracing_sample_ratio}, *runtime->exporter_);
  InstallTracer(runtime->tracer_.get());

  metrics.DeclareCounter("vjvector_trace_spans_exported_total", "Spans the OTLP collector accepted.");
  metrics.DeclareCounter("vjvector_trace_spans_dropped_total",
                         "Spans not exported, by reason: queue_full (the exporter's queue was full; spans "
                         "are dropped rather than delaying requests) or export_failed (the collector did "
                         "not accept the batch).");
  BatchSpanExporter* exporter = runtime->exporter_.get();
  metrics.AddCollector([exporter](Metrics& m) {
    m.SetCounter("vjvector_trace_spans_exported_total", {}, static_cast<double>(exporter->exported_spans()));
    m.SetCounter("vjvector_trace_spans_dropped_total", {{"reason", "queue_full"}},
                 static_cast<double>(exporter->dropped_spans()));
    m.SetCounter("vjvector_trace_spans_dropped_total", {{"reason", "export_failed"}},
                 static_cast<double>(exporter->failed_spans()));
  });
  spdlog::info("tracing on: spans to {} (OTLP/HTTP JSON), sample ratio {}", url, config.tracing_sample_ratio);
  return runtime;
}

TracingRuntime::~TracingRuntime() {
  InstallTracer(nullptr);
  tracer_.reset();
  exporter_.reset();  // sends what is queued
}

}  // namespace vj

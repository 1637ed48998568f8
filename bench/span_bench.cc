// What a span point costs (tracing/): with tracing off, on but not sampled, and sampled (the span is
// recorded and queued for the exporter), plus the exporter thread's OTLP/JSON encoding per span.
// A request of the REST port starts 3 such spans for a search (the request, authentication, one
// shard's search). docs/benchmarks.md "Tracing" has the figures.
//   build/vjvector-span-bench [--benchmark_min_time=0.2]
#include <benchmark/benchmark.h>

#include "tracing/otlp_json.h"
#include "tracing/span_exporter.h"
#include "tracing/tracer.h"

namespace vj {
namespace {

// The attributes of a typical server span.
void SpanPoint(benchmark::State& state) {
  const std::string path = "/collections/bench/points/query";
  for (auto _ : state) {
    Span span = StartSpan("POST", SpanKind::kServer);
    ScopedTraceContext scope(span.context());
    if (span.recording()) {
      span.SetAttribute("http.request.method", "POST");
      span.SetAttribute("url.path", path);
      span.SetAttribute("http.route", "/collections/{name}/points/query");
      span.SetAttribute("http.response.status_code", 200);
      span.SetAttribute("db.system.name", "vjvector");
    }
    benchmark::DoNotOptimize(span.context());
  }
}

void BM_SpanTracingOff(benchmark::State& state) {
  InstallTracer(nullptr);
  SpanPoint(state);
}
BENCHMARK(BM_SpanTracingOff);

void WithTracer(benchmark::State& state, double ratio) {
  SpanExporterOptions options;
  options.max_queue_spans = 1 << 20;  // nothing dropped: the cost of a recorded span, not of a drop
  BatchSpanExporter exporter(options, [](const std::string&) { return absl::OkStatus(); });
  Tracer tracer(TracerOptions{ratio}, exporter);
  InstallTracer(&tracer);
  SpanPoint(state);
  InstallTracer(nullptr);
  exporter.Flush();
  state.counters["dropped"] = static_cast<double>(exporter.dropped_spans());
}

void BM_SpanNotSampled(benchmark::State& state) { WithTracer(state, 0.0); }
BENCHMARK(BM_SpanNotSampled);
void BM_SpanSampled(benchmark::State& state) { WithTracer(state, 1.0); }
BENCHMARK(BM_SpanSampled);

// The exporter thread's work per span: OTLP/JSON encoding of a batch of 512.
void BM_EncodeOtlpPerSpan(benchmark::State& state) {
  std::vector<std::unique_ptr<SpanData>> batch;
  for (int i = 0; i < 512; ++i) {
    auto span = std::make_unique<SpanData>();
    span->context.trace_id[15] = 1;
    span->context.span_id[7] = 2;
    span->parent_span_id[7] = 3;
    span->name = "POST /collections/{name}/points/query";
    span->kind = SpanKind::kServer;
    span->start_unix_nanos = 1765000000000000000ull;
    span->end_unix_nanos = 1765000000000100000ull;
    span->attributes = {{"http.request.method", std::string("POST")},
                        {"url.path", std::string("/collections/bench/points/query")},
                        {"http.route", std::string("/collections/{name}/points/query")},
                        {"http.response.status_code", int64_t{200}},
                        {"db.system.name", std::string("vjvector")}};
    batch.push_back(std::move(span));
  }
  OtlpResource resource{"vjvector", "node-1", ""};
  for (auto _ : state) benchmark::DoNotOptimize(EncodeOtlpTraces(resource, batch));
  state.SetItemsProcessed(state.iterations() * 512);
}
BENCHMARK(BM_EncodeOtlpPerSpan);

}  // namespace
}  // namespace vj

BENCHMARK_MAIN();

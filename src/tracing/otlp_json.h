// The OTLP/JSON encoding of spans (an ExportTraceServiceRequest, as POSTed to <endpoint>/v1/traces):
// the protobuf JSON mapping with OTLP's exceptions: trace and span ids in lower-case hex, enums as
// numbers, 64-bit integers (timestamps in Unix nanoseconds, int attributes) as decimal strings.
// One resourceSpans entry (service.name, service.instance.id, service.version) with one scopeSpans
// entry (scope "vjvector").
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tracing/span.h"

namespace vj {

struct OtlpResource {
  std::string service_name = "vjvector";
  std::string service_instance_id;  // the node id; omitted when empty
  std::string service_version;      // omitted when empty
};

std::string EncodeOtlpTraces(const OtlpResource& resource, const std::vector<std::unique_ptr<SpanData>>& spans);

}  // namespace vj

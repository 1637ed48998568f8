// The sampling decision of a new span (OpenTelemetry's ParentBased(TraceIdRatioBased)):
//  * with a valid parent, the parent's sampled flag decides (a caller that sampled its trace gets the
//    whole trace, one that did not gets none of it; the nodes of a cluster agree);
//  * a root span is sampled when the trace id's last 8 bytes, read as a big-endian number, fall below
//    ratio * 2^64, so every node decides the same for the same trace id.
// Thread-safety: pure functions.
#pragma once

#include "core/trace_context.h"

namespace vj {

// The ratio bound for a trace id's last 8 bytes: ratio <= 0 samples nothing, ratio >= 1 everything.
bool TraceIdBelowRatio(const TraceId& trace_id, double ratio);

inline bool ShouldSample(const TraceContext& parent, const TraceId& trace_id, double ratio) {
  if (parent.valid()) return parent.sampled();
  return TraceIdBelowRatio(trace_id, ratio);
}

}  // namespace vj

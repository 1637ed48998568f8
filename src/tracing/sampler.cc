#include "tracing/sampler.h"

#include <cmath>

namespace vj {

bool TraceIdBelowRatio(const TraceId& trace_id, double ratio) {
  if (!(ratio > 0)) return false;  // NaN too
  if (ratio >= 1) return true;
  uint64_t low = 0;
  for (size_t i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  // ratio * 2^64, computed in long double so that ratios near 1 do not round up to 2^64.
  const long double bound = std::ldexp(static_cast<long double>(ratio), 64);
  return static_cast<long double>(low) < bound;
}

}  // namespace vj

#include "collection/fan_out.h"

#include <algorithm>
#include <latch>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "tracing/tracer.h"

namespace vj {

namespace {

// Shard calls mostly wait (on a peer, or on a shard's lock), so the pool is larger than the core count.
boost::asio::thread_pool& ShardPool() {
  static boost::asio::thread_pool pool(std::max<size_t>(16, 4 * std::thread::hardware_concurrency()));
  return pool;
}

}  // namespace

void RunOnShardPool(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (n == 1) return fn(0);
  std::latch done(static_cast<std::ptrdiff_t>(n - 1));
  // The caller's trace context goes with its calls (their spans are children of its span); the
  // strings it points to outlive the calls, which this function waits for.
  const TraceContext trace = CurrentTraceContext();
  const std::string* request_id = &CurrentRequestId();
  const std::string* tracestate = &CurrentTracestate();
  for (size_t i = 1; i < n; ++i) {
    boost::asio::post(ShardPool(), [&fn, &done, i, trace, request_id, tracestate] {
      ScopedTraceContext scope(trace, request_id, tracestate);
      fn(i);
      done.count_down();
    });
  }
  fn(0);
  done.wait();
}

}  // namespace vj

// Request phases: where a request's time goes inside the server. The transport (server/http_server.cc)
// times reading the request, handing it to a thread, and writing the answer; what happens inside the
// handler it cannot see, so handlers mark the span that runs the collection's work with ExecutePhase,
// and everything else inside the handler (routing, authentication, decoding the body, building the
// request) counts as decode before the first execute and encode (building and serializing the answer)
// after the last. The server exports the sums per route as vjvector_http_request_phase_seconds_total
// (docs/operations.md) so that "the server's own cost" is total less execute, measured from the
// server's side (bench/rest_bench.cc reads it).
// Thread-safety: HandlerPhases is thread-local; a handler runs on one thread from start to end, and the
// transport resets and reads the marks on that thread around the call.
#pragma once

#include <chrono>

namespace vj {

struct HandlerPhases {
  using Clock = std::chrono::steady_clock;
  bool executed = false;                   // some ExecutePhase ran
  Clock::time_point first_execute_begin;   // the first ExecutePhase's start
  Clock::time_point last_execute_end;      // the last one's end
  double execute_seconds = 0;              // the sum of them (a batch runs several)
};

// This thread's marks. The transport resets them before calling a handler.
HandlerPhases& CurrentHandlerPhases();

// Marks its lifetime as execute time: a collection's search or query plan (the search and query
// service functions use it; a write's handler marks nothing yet, so its whole work counts as decode).
class ExecutePhase {
 public:
  ExecutePhase() : begin_(HandlerPhases::Clock::now()) {}
  ~ExecutePhase();
  ExecutePhase(const ExecutePhase&) = delete;
  ExecutePhase& operator=(const ExecutePhase&) = delete;

 private:
  const HandlerPhases::Clock::time_point begin_;
};

}  // namespace vj

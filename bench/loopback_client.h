// LoopbackClient: a minimal HTTP/1.1 keep-alive client over one TCP connection, for driving the server
// from the benchmark without a client library in the measured path. Not a general HTTP client: it
// expects Content-Length framed responses (what vjvector sends). Every send and receive is bounded by
// `timeout_s` (an unanswered call fails with DeadlineExceeded instead of hanging). One per thread.
#pragma once

#include <chrono>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace vj::bench {

class LoopbackClient {
 public:
  // spin: wait for responses by polling the socket instead of sleeping in recv (a diagnostic: it takes
  // the client's own wake-up out of the measured latency, leaving what the server costs).
  LoopbackClient(std::string host, uint16_t port, double timeout_s = 120, bool spin = false)
      : host_(std::move(host)), port_(port), timeout_s_(timeout_s), spin_(spin) {}
  ~LoopbackClient();
  LoopbackClient(const LoopbackClient&) = delete;
  LoopbackClient& operator=(const LoopbackClient&) = delete;

  // Sends one request and reads the response; reconnects once if the connection was closed.
  // Returns the HTTP status; the body goes to *body.
  StatusOr<int> Call(const std::string& method, const std::string& target, const std::string& payload,
                     std::string* body);

 private:
  Status Connect();
  StatusOr<int> Exchange(const std::string& request, std::string* body);
  Status Timeout();
  // recv() of up to `size` bytes; with spin_, polls until data, EOF, an error or the timeout (-1, EAGAIN).
  ssize_t Receive(char* data, size_t size);

  std::string host_;
  uint16_t port_;
  double timeout_s_;
  bool spin_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the previous response
};

// The floor under any blocking HTTP exchange on this machine: `count` round trips between two threads of
// this process over a loopback TCP connection (TCP_NODELAY, blocking sockets), each sending
// `request_bytes` one way and `reply_bytes` back, the responder computing (spinning) for `work` before it
// replies, as a server computes an answer. The waiting side sleeps that long, and on a virtual machine
// waking a vCPU that slept longer costs more. With `responder_polls` the responder polls its socket
// instead of sleeping in recv (as a server with busy polling does). Returns each round trip's seconds
// less `work`.
StatusOr<std::vector<double>> LoopbackRoundTrips(size_t request_bytes, size_t reply_bytes, size_t count,
                                                 std::chrono::nanoseconds work, bool responder_polls);

}  // namespace vj::bench

// LoopbackClient: a minimal HTTP/1.1 keep-alive client over one TCP connection, for driving the server
// from the benchmark without a client library in the measured path. Not a general HTTP client: it
// expects Content-Length framed responses (what vjvector sends). Every send and receive is bounded by
// `timeout_s` (an unanswered call fails with DeadlineExceeded instead of hanging). One per thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace vj::bench {

class LoopbackClient {
 public:
  LoopbackClient(std::string host, uint16_t port, double timeout_s = 120)
      : host_(std::move(host)), port_(port), timeout_s_(timeout_s) {}
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

  std::string host_;
  uint16_t port_;
  double timeout_s_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the previous response
};

}  // namespace vj::bench

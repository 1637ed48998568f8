// HttpServer: HTTP/1.1 over Boost.Beast/Asio (keep-alive, a pool of I/O threads). It serves the
// health endpoints itself (/livez, /readyz, /healthz) and passes every other request to the handler
// (the port's RequestPipeline, server/request_pipeline.h). Bodies over max_body_bytes get 413 without reaching the handler.
// Every request is counted and timed in the Metrics registry by route and status.
//
// Bounded by design, so that no client or burst can starve or exhaust the node:
// - The I/O threads only read, write and answer the health endpoints. Handlers run on a worker pool
//   behind a bounded queue (503 + Retry-After when it is full); a handler marked run_inline may run on
//   the I/O thread that read it, but never on the last free one, so /livez always finds a thread.
// - Request bodies being read and responses being written draw on process-wide byte budgets (503 +
//   Retry-After when a body or response does not fit); connections over max_connections are answered
//   503 and closed; a queued request whose client has gone is dropped before it runs.
//
// TLS: with options.tls set, every connection is TLS (TLS 1.2+, see tls_context.h); a plain HTTP request
// fails the handshake and is closed. Each connection keeps the certificate context it was accepted with,
// so TlsContext::Reload() affects new connections only. The verified client certificate's CN and the
// client's address are passed to the handler on the Request.
//
// Shutdown: Stop() stops accepting, lets in-flight requests finish (up to drain_timeout), then returns.
// Thread-safety: Start/Stop from one controlling thread; the handler is called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/request.h"
#include "core/status.h"
#include "server/browser_policy.h"
#include "server/metrics.h"

namespace vj {

class TlsContext;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6333;  // 0 = pick a free port (see bound_port())
  size_t threads = 4;  // I/O threads
  // How long the I/O threads keep polling after the last request before they sleep (0 = never poll):
  // trades up to this much CPU time per burst of requests for a lower latency (see io_threads.h).
  std::chrono::microseconds busy_poll{0};
  // Threads that run blocking handlers; 0 = `threads`. A cluster node needs more: a handler may wait on
  // a peer whose handler waits on this node (forwarded writes waiting for replication).
  size_t worker_threads = 0;
  size_t max_body_bytes = 32ull << 20;
  // Admission control (see the header comment). Each limit refuses with 503 and Retry-After.
  size_t max_connections = 1024;                       // open client connections
  size_t max_queued_requests = 256;                    // requests waiting for a worker thread
  size_t max_buffered_body_bytes = 256ull << 20;       // request bodies being read, all connections
  size_t max_pending_response_bytes = 512ull << 20;    // responses being written, all connections
  std::chrono::milliseconds drain_timeout{10000};
  std::chrono::seconds idle_timeout{60};
  // Requests for which the handler may run directly on the I/O thread that read them, saving two
  // thread hand-offs: only for handlers that never block (searches, reads), and only while another I/O
  // thread stays free (so never with threads = 1). Others run on the worker pool.
  std::function<bool(const Request&)> run_inline;
  // CORS, Origin, Host and Content-Type rules applied before a request is dispatched (browser_policy.h).
  BrowserPolicyOptions browser;
  // When set, asked before a request is refused for its Content-Type (415): a refusal for its
  // credentials (RequestPipeline::RefuseUnauthenticated) is answered instead, so that a caller without
  // them (a wrong internal token on the peer port) hears 401/403 and nothing of the route's media type.
  std::function<std::optional<Response>(const Request&)> refuse_unauthenticated;
  // Serve HTTPS with this context (shared with whoever reloads it on SIGHUP); null = plain HTTP.
  std::shared_ptr<TlsContext> tls;
};

class HttpServer {
 public:
  using Handler = std::function<Response(const Request&)>;
  // Whether every collection is loaded; /readyz answers 503 until it is true.
  using ReadyCheck = std::function<bool()>;

  HttpServer(HttpServerOptions options, Handler handler, ReadyCheck ready, Metrics& metrics);
  ~HttpServer();

  // Binds and starts serving on background threads. Error (with the address) if the bind fails.
  [[nodiscard]] Status Start();
  // Stops accepting, drains in-flight requests, joins the threads. Idempotent.
  void Stop();
  uint16_t bound_port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vj

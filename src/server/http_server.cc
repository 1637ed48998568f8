#include "server/http_server.h"

#include <poll.h>

#include "api/request_phases.h"
#include "cluster/peer_protocol.h"
#include "core/byte_budget.h"
#include "core/json_memory.h"
#include "core/wall_clock.h"
#include "security/peer_identity.h"
#include "server/http_messages.h"
#include "server/io_threads.h"
#include "server/tls_context.h"
#include "server/worker_pool.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

namespace vj {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr char kRequestsTotal[] = "vjvector_http_requests_total";
constexpr char kRequestDuration[] = "vjvector_http_request_duration_seconds";
// Where the time of requests that reached a handler went (api/request_phases.h), summed per route.
constexpr char kPhaseSeconds[] = "vjvector_http_request_phase_seconds_total";
constexpr char kPhaseRequests[] = "vjvector_http_request_phase_requests_total";
// Per request: everything but execute (the server's own cost), fine-grained where it lies.
constexpr char kServerCost[] = "vjvector_http_request_server_cost_seconds";
// read: header read to body read; dispatch: to the handler's start (building the Request, the browser
// policy, the worker queue); decode / execute / encode: inside the handler; write: the handler's end
// to the response written (including the hand-back from a worker to the connection's strand).
constexpr const char* kPhaseNames[] = {"read", "dispatch", "decode", "execute", "encode", "write"};
constexpr size_t kPhaseCount = std::size(kPhaseNames);
constexpr char kRefused[] = "vjvector_http_refused_total";
constexpr char kConnections[] = "vjvector_http_connections";
constexpr char kQueued[] = "vjvector_http_queued_requests";
constexpr char kBodyBytes[] = "vjvector_http_buffered_body_bytes";
constexpr char kResponseBytes[] = "vjvector_http_pending_response_bytes";
// Responses smaller than this are not counted against the response budget: their bytes are bounded by
// the connection limit, and counting them would cost an atomic per request for nothing.
constexpr size_t kSmallResponseBytes = 64 * 1024;
// How long a client that was refused for load is asked to wait before it retries.
constexpr char kRetryAfterSeconds[] = "1";
// How long a connection that is being closed after an error keeps discarding what the client still
// sends, so that closing with unread data (which makes the kernel send RST) cannot destroy the
// error response before the client has read it.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
// How long a connection over the limit may take to send its (health check) request.
constexpr auto kRefusedReadTimeout = std::chrono::seconds(5);
// How long a client may take to complete the TLS handshake.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr char kTlsHandshakeFailures[] = "vjvector_tls_handshake_failures_total";

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// "ip:port" ("[v6]:port") of the connection's peer; "" when the socket has none (already reset).
std::string PeerAddress(const tcp::socket& socket) {
  beast::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "";
  const std::string ip = peer.address().to_string();
  return (peer.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(peer.port());
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Handler handler, ReadyCheck ready, Metrics& metrics)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        ready_(std::move(ready)),
        metrics_(metrics),
        work_(asio::make_work_guard(ioc_)),
        acceptor_(asio::make_strand(ioc_)),
        io_threads_(ioc_, options_.threads, options_.busy_poll),
        max_inline_(options_.threads > 1 ? options_.threads - 1 : 0),
        body_budget_(options_.max_buffered_body_bytes),
        response_budget_(options_.max_pending_response_bytes),
        workers_(options_.worker_threads != 0 ? options_.worker_threads : options_.threads,
                 options_.max_queued_requests) {
    metrics_.DeclareCounter(kRequestsTotal, "HTTP requests answered, by route, method and status.");
    metrics_.DeclareCounter(kRefused,
                            "Requests and connections refused for load (503 with Retry-After) or "
                            "dropped because the client had gone, by reason.");
    metrics_.DeclareGauge(kConnections, "Open client connections.");
    if (options_.tls) {
      metrics_.DeclareCounter(kTlsHandshakeFailures,
                              "TLS handshakes that failed (plain HTTP, old protocol versions, missing or "
                              "untrusted client certificates, timeouts).");
    }
    metrics_.DeclareGauge(kQueued, "Requests waiting for a worker thread.");
    metrics_.DeclareGauge(kBodyBytes, "Bytes reserved for request bodies being read.");
    metrics_.DeclareGauge(kResponseBytes, "Bytes of large responses being written.");
    metrics_.AddCollector([this](Metrics& m) {
      m.Set(kConnections, {}, static_cast<double>(connections_.load()));
      m.Set(kQueued, {}, static_cast<double>(workers_.queued()));
      m.Set(kBodyBytes, {}, static_cast<double>(body_budget_.used()));
      m.Set(kResponseBytes, {}, static_cast<double>(response_budget_.used()));
    });
    metrics_.DeclareHistogram(kRequestDuration,
                              "HTTP request latency from the request being read to the response "
                              "being written, by route and method.",
                              {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                               2.5, 5, 10});
    metrics_.DeclareCounter(kPhaseSeconds,
                            "Seconds spent by requests that reached a handler, by route and phase (read, "
                            "dispatch, decode, execute, encode, write); the server's own cost is the total "
                            "less execute.");
    metrics_.DeclareHistogram(kServerCost,
                              "Per request that reached a handler: its time in the server less the "
                              "collection's work (read, dispatch, decode, encode and write), by route.",
                              {5e-6, 10e-6, 15e-6, 20e-6, 25e-6, 30e-6, 35e-6, 40e-6, 45e-6, 50e-6, 60e-6,
                               70e-6, 80e-6, 90e-6, 100e-6, 125e-6, 150e-6, 200e-6, 250e-6, 300e-6, 400e-6,
                               500e-6, 750e-6, 1e-3, 2.5e-3, 10e-3, 0.1, 1});
    metrics_.DeclareCounter(kPhaseRequests, "Requests counted in " + std::string(kPhaseSeconds) + ", by route.");
    metrics_.AddCollector([this](Metrics& m) {
      std::lock_guard<std::mutex> lock(phase_mu_);
      for (const auto& [route, sums] : phase_sums_) {
        for (size_t i = 0; i < kPhaseCount; ++i) {
          m.SetCounter(kPhaseSeconds, {{"route", route}, {"phase", kPhaseNames[i]}}, sums.seconds[i]);
        }
        m.SetCounter(kPhaseRequests, {{"route", route}}, static_cast<double>(sums.requests));
      }
    });
  }
  ~Impl() { Stop(); }

  Status Start();
  void Stop();
  uint16_t bound_port() const { return bound_port_.load(); }

 private:
  // What Stop() needs of a session, whatever its stream.
  class Connection {
   public:
    virtual ~Connection() = default;
    virtual void Close() = 0;
  };
  // Stream: beast::tcp_stream (plain HTTP) or TlsStream.
  template <class Stream>
  class Session;

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  // Serves the operational endpoints that must answer even when every worker is busy; returns
  // nullopt for everything else.
  std::optional<Response> ServeInline(const Request& req);
  // The handler's span on the thread that ran it, with the marks it left (api/request_phases.h).
  struct HandlerSpan {
    bool handled = false;
    Clock::time_point begin, end;
    HandlerPhases phases;
  };
  Response CallHandler(const Request& req, HandlerSpan* span);
  Response CallHandlerGuarded(const Request& req);
  // Adds one handled request's phases to its route's sums: t0 (header read), read_done (body read),
  // the handler's span, and now (response written).
  void RecordPhases(const std::string& route, Clock::time_point t0, Clock::time_point read_done,
                    const HandlerSpan& span);
  void Record(const std::string& route, const std::string& method, int status, Clock::time_point t0);
  void CountRefusal(const char* reason) { metrics_.Increment(kRefused, {{"reason", reason}}); }
  // A slot for running a handler on an I/O thread; false when that would take the last free one.
  bool TryEnterInline() {
    size_t n = inline_running_.load(std::memory_order_relaxed);
    do {
      if (n >= max_inline_) return false;
    } while (!inline_running_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return true;
  }
  void LeaveInline() { inline_running_.fetch_sub(1, std::memory_order_relaxed); }

  void Unregister(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(id);
    cv_.notify_all();
  }
  void BeginRequest() {
    std::lock_guard<std::mutex> lock(mu_);
    ++in_flight_;
  }
  void EndRequest() {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    cv_.notify_all();
  }

  // Fixed after construction.
  const HttpServerOptions options_;
  const Handler handler_;
  const ReadyCheck ready_;
  Metrics& metrics_;

  // Declared before the io_context: sessions destroyed along with it unregister here.
  std::mutex mu_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;                                          // guarded by mu_
  uint64_t next_session_id_ = 0;                                  // guarded by mu_
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> sessions_;  // guarded by mu_
  std::atomic<bool> stopping_{false};
  bool started_ = false;  // Start/Stop are called from one controlling thread
  bool stopped_ = false;
  std::atomic<uint16_t> bound_port_{0};
  struct PhaseSums {
    std::array<double, kPhaseCount> seconds{};
    uint64_t requests = 0;
  };
  std::mutex phase_mu_;
  std::unordered_map<std::string, PhaseSums> phase_sums_;  // by route; guarded by phase_mu_

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;  // used only on its strand once serving
  IoThreads io_threads_;
  const size_t max_inline_;                 // I/O threads that may run handlers at once
  std::atomic<size_t> inline_running_{0};  // I/O threads running a handler now
  std::atomic<size_t> connections_{0};     // sessions serving requests (not those being refused)
  ByteBudget body_budget_;
  ByteBudget response_budget_;
  // Handlers block (durable writes, searches), so they run here, not on the I/O threads. Declared
  // last: destroyed (joined) first, while everything its tasks use is still alive.
  WorkerPool workers_;
  asio::steady_timer accept_backoff_{acceptor_.get_executor()};
  std::optional<BrowserPolicy> browser_policy_;  // set by Start, before the first accept
};

// One connection. All its members are used only on its strand (the stream's executor); the worker
// that runs the handler touches nothing of it but posts the response back to the strand.
// Over TLS the session first completes the handshake (a plain HTTP request fails it and is closed);
// everything after that is the same for both streams: timeouts, the client-gone poll and lingering
// work on the TCP socket underneath.
template <class Stream>
class HttpServer::Impl::Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // A session created over max_connections (`refuse`) answers the health endpoints and 503 to anything
  // else, then closes. `tls` is the context of a TLS session (it keeps the one it was accepted with).
  Session(Impl& server, tcp::socket socket, uint64_t id, bool refuse,
          std::shared_ptr<asio::ssl::context> tls = nullptr)
      : server_(server), id_(id), refuse_(refuse), client_address_(PeerAddress(socket)), tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())) {
    if (!refuse_) server_.connections_.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() override {
    if (!refuse_) server_.connections_.fetch_sub(1, std::memory_order_relaxed);
    server_.Unregister(id_);
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->DoHandshake();
      } else {
        self->DoReadHeader();
      }
    });
  }
  void Close() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ec;
      self->tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
      self->tcp().close();
    });
  }

 private:
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

  static Stream MakeStream(tcp::socket socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  const HttpServerOptions& options() const { return server_.options_; }
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  void DoHandshake() {
    tcp().expires_after(kHandshakeTimeout);
    stream_.async_handshake(asio::ssl::stream_base::server,
                            beast::bind_front_handler(&Session::OnHandshake, shared_from_this()));
  }
  void OnHandshake(beast::error_code ec) {
    if (ec) {
      // A plain HTTP request, an old protocol version, a missing or untrusted client certificate, or a
      // client that never finished: nothing can be answered over this connection.
      server_.metrics_.Increment(kTlsHandshakeFailures, {});
      spdlog::debug("TLS handshake with {} failed: {}", client_address_, ec.message());
      beast::error_code ignored;
      tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
      return tcp().close();
    }
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      tls_client_cn_ = VerifiedPeerCommonName(ssl);
      if (X509* cert = SSL_get0_peer_certificate(ssl); cert != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) {
        tls_client_names_ = std::make_shared<const std::vector<std::string>>(CertificateNames(cert));
      }
    }
    DoReadHeader();
  }

  void DoReadHeader() {
    // A flat_buffer that starts empty reads 512 bytes at a time: a query of a few KB would cost a
    // dozen reads and completion handlers. Room for a typical request makes it one read.
    if (!refuse_ && buffer_.capacity() < kReadBufferBytes) buffer_.reserve(kReadBufferBytes);
    parser_.emplace();
    parser_->body_limit(options().max_body_bytes);
    parser_->header_limit(64 * 1024);
    tcp().expires_after(refuse_ ? std::chrono::duration_cast<std::chrono::seconds>(kRefusedReadTimeout)
                                  : options().idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    t0_ = Clock::now();
    if (ec) return OnReadError(ec);
    if (refuse_ && (parser_->chunked() || parser_->content_length().value_or(0) > 0)) {
      return Fail(TooManyConnections());  // not a health check: do not read the body
    }
    // Beast reserves a body's whole Content-Length before reading it: take the bytes from the
    // process-wide budget first (a chunked body may grow to the body limit).
    const size_t body_bytes = parser_->chunked() ? options().max_body_bytes
                                                 : static_cast<size_t>(parser_->content_length().value_or(0));
    if (body_bytes > 0 && body_bytes <= options().max_body_bytes &&
        !server_.body_budget_.TryReserve(body_bytes, &body_reservation_)) {
      server_.CountRefusal("body_memory");
      return Fail(Busy("request bodies being read use the server's buffer limit of " +
                       std::to_string(options().max_buffered_body_bytes) + " bytes"));
    }
    auto& req = parser_->get();
    // curl and others wait for "100 Continue" before sending a large body.
    if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue")) {
      continue_ = http::response<http::empty_body>(http::status::continue_, req.version());
      http::async_write(stream_, continue_,
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->tcp().close();
                          self->DoReadBody();
                        });
      return;
    }
    DoReadBody();
  }

  void DoReadBody() {
    tcp().expires_after(options().idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRequest, shared_from_this()));
  }

  void OnReadError(beast::error_code ec) {
    body_reservation_.Release();
    static const auto& http_category = make_error_code(http::error::body_limit).category();
    if (ec == http::error::body_limit) {
      return Fail(TransportError(413, "Payload too large: the request body exceeds the limit of " +
                                         std::to_string(options().max_body_bytes) + " bytes"));
    }
    if (ec.category() == http_category && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      return Fail(TransportError(400, "Bad request: " + ec.message()));
    }
    // The client went away, timed out while idle, or the server is closing: nothing to answer.
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    tcp().close();
  }

  static Response Busy(const std::string& why) {
    Response r = TransportError(503, "Service unavailable: " + why + "; retry later");
    r.headers.emplace_back("Retry-After", kRetryAfterSeconds);
    return r;
  }

  Response TooManyConnections() {
    server_.CountRefusal("connections");
    return Busy("the server has " + std::to_string(options().max_connections) +
                " open connections, its limit");
  }

  // Answers a request that could not be parsed, then closes: the rest of the stream is not framed.
  void Fail(Response response) {
    method_ = MethodLabel(parser_->get().method_string());
    keep_alive_ = false;
    head_ = false;
    version_ = 11;
    server_.BeginRequest();
    Send(std::move(response));
  }

  void OnRequest(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    read_done_ = Clock::now();
    http::request<http::string_body> req = parser_->release();
    method_ = MethodLabel(req.method_string());
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    version_ = req.version();
    server_.BeginRequest();

    Request request;
    request.method = std::string(req.method_string());
    DecodeTarget(req.target(), request);
    if (auto token = req.find(kInternalTokenHeader); token != req.end()) {
      request.headers.emplace(kInternalTokenHeader, std::string(token->value()));
    }
    if (auto version = req.find(kPeerProtocolHeader); version != req.end()) {
      request.headers.emplace(kPeerProtocolHeader, std::string(version->value()));
    }
    if (auto forward = req.find(kForwardDeadlineHeader); forward != req.end()) {
      request.headers.emplace(kForwardDeadlineHeader, std::string(forward->value()));
    }
    for (const char* name : kRequestHeaders) {
      if (auto h = req.find(name); h != req.end()) request.headers.emplace(name, std::string(h->value()));
    }
    for (const char* name : kBrowserPolicyHeaders) {
      if (auto h = req.find(name); h != req.end()) request.headers.emplace(name, std::string(h->value()));
    }
    request.body = std::move(req.body());
    // The body's decoded JSON is charged to the same budget as its text, as it is built.
    if (!request.body.empty()) {
      request.json_memory = std::make_shared<JsonBodyMemory>(server_.body_budget_, request.body.size());
    }
    request.client_address = client_address_;
    request.tls_client_cn = tls_client_cn_;
    request.tls_client_names = tls_client_names_;
    BrowserDecision browser = server_.browser_policy_->Check(request);
    extra_headers_ = std::move(browser.response_headers);
    if (browser.answer) {
      if (browser.answer->status == 415 && options().refuse_unauthenticated) {
        if (std::optional<Response> refusal = options().refuse_unauthenticated(request)) {
          return Send(std::move(*refusal));
        }
      }
      return Send(std::move(*browser.answer));
    }
    if (std::optional<Response> inline_response = server_.ServeInline(request)) {
      body_reservation_.Release();
      if (refuse_) keep_alive_ = false;
      return Send(std::move(*inline_response));
    }
    if (refuse_) {
      keep_alive_ = false;
      return Send(TooManyConnections());
    }
    if (options().run_inline && options().run_inline(request) && server_.TryEnterInline()) {
      Response response = server_.CallHandler(request, &span_);
      server_.LeaveInline();
      if (request.json_memory) request.json_memory->Close();
      request = Request();  // frees the body before its reservation
      body_reservation_.Release();
      return Send(std::move(response));
    }
    // The worker owns the body (and its reservation) until the handler returns. The socket is read
    // there only to see whether the client is still connected; the session does nothing else with it
    // until the response is posted back.
    const int fd = tcp().socket().native_handle();
    auto reservation = std::make_shared<ByteBudget::Reservation>(std::move(body_reservation_));
    auto task = [self = shared_from_this(), request = std::move(request), reservation, fd]() mutable {
      if (ClientGone(fd)) {
        // Nobody would read the answer: skip the work (a client that timed out, or a flood of
        // requests from clients that disconnected while they waited in the queue).
        request = Request();
        reservation->Release();
        self->server_.CountRefusal("client_gone");
        return asio::post(self->stream_.get_executor(), [self] { self->Abandon(); });
      }
      HandlerSpan span;
      Response response = self->server_.CallHandler(request, &span);
      // Parts of the tree a handler kept (in a copy of the request, in longer-lived state) are charged no more.
      if (request.json_memory) request.json_memory->Close();
      request = Request();
      reservation->Release();
      asio::post(self->stream_.get_executor(), [self, response = std::move(response), span]() mutable {
        self->span_ = span;
        self->Send(std::move(response));
      });
    };
    if (!server_.workers_.TrySubmit(std::move(task))) {
      // TrySubmit dropped the task and with it the body and its reservation.
      server_.CountRefusal("queue_full");
      keep_alive_ = false;  // shed the connection too: a client under backpressure reconnects later
      return Send(Busy(std::to_string(options().max_queued_requests) +
                       " requests are already waiting for a worker"));
    }
  }

  // Whether the peer closed or reset the connection: poll for a hang-up without reading, so bytes of a
  // pipelined request stay in the socket. A client that half-closes before its answer counts as gone,
  // as it does for nginx (499).
  static bool ClientGone(int fd) {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

  void Abandon() {
    server_.Record("unmatched", method_, 499, t0_);
    server_.EndRequest();
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }

  // A response whose body is a file (Response::body_file), streamed by Beast's file_body in blocks.
  void SendFile(Response response) {
    http::file_body::value_type file;
    beast::error_code ec;
    file.open(response.body_file.c_str(), beast::file_mode::scan, ec);
    if (ec) {
      Response gone = TransportError(404, "Not found: the file of this response is gone (deleted meanwhile)");
      gone.route = std::move(response.route);
      return Send(std::move(gone));
    }
    const uint64_t size = file.size();
    route_ = std::move(response.route);
    status_ = response.status >= 100 && response.status <= 999 ? response.status : 500;
    auto fill = [&](auto& res) {
      res.result(static_cast<unsigned>(status_));
      res.version(version_);
      res.set(http::field::server, "vjvector");
      res.set(http::field::content_type, response.content_type);
      for (auto& [name, value] : response.headers) res.set(name, value);
      for (const auto& [name, value] : extra_headers_) res.set(name, value);
      extra_headers_.clear();
      res.keep_alive(keep_alive_ && !server_.stopping_.load());
    };
    if (head_) {  // the headers only, with the file's Content-Length
      res_.emplace();
      fill(*res_);
      res_->content_length(size);
      tcp().expires_after(options().idle_timeout);
      http::async_write(stream_, *res_, beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
      return;
    }
    file_res_.emplace();
    fill(*file_res_);
    file_res_->body() = std::move(file);
    file_res_->prepare_payload();
    // The whole write runs under one deadline: the idle timeout plus one second per MiB.
    tcp().expires_after(options().idle_timeout + std::chrono::seconds(size >> 20));
    http::async_write(stream_, *file_res_, beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void Send(Response response) {
    if (!response.body_file.empty()) return SendFile(std::move(response));
    if (response.body.size() > kSmallResponseBytes &&
        !server_.response_budget_.TryReserve(response.body.size(), &response_reservation_)) {
      // Clients that read slowly (or never) hold the responses already queued for them; this one
      // would take the total over the limit.
      server_.CountRefusal("response_memory");
      response = Busy("responses being written use the server's limit of " +
                      std::to_string(options().max_pending_response_bytes) + " bytes");
    }
    route_ = std::move(response.route);
    status_ = response.status >= 100 && response.status <= 999 ? response.status : 500;
    res_.emplace();
    res_->result(static_cast<unsigned>(status_));
    res_->version(version_);
    res_->set(http::field::server, "vjvector");
    res_->set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res_->set(name, value);
    for (const auto& [name, value] : extra_headers_) res_->set(name, value);
    extra_headers_.clear();
    // A draining server asks clients to reconnect (to another replica) rather than reuse this one.
    res_->keep_alive(keep_alive_ && !server_.stopping_.load());
    res_->body() = std::move(response.body);
    res_->prepare_payload();
    if (head_) res_->body().clear();  // Content-Length stays that of the GET body
    tcp().expires_after(options().idle_timeout);
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    server_.Record(route_, method_, status_, t0_);
    if (span_.handled) server_.RecordPhases(route_, t0_, read_done_, span_);
    span_.handled = false;
    server_.EndRequest();
    const bool keep_alive = file_res_ ? file_res_->keep_alive() : res_->keep_alive();
    res_.reset();
    file_res_.reset();
    response_reservation_.Release();
    if (ec) return tcp().close();
    if (keep_alive) return DoReadHeader();
    Linger();
  }

  // Half-closes and discards what the client still sends until it closes or kLingerTimeout passes;
  // closing with unread input would reset the connection and could destroy our response in flight.
  void Linger() {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (scratch_ == nullptr) scratch_ = std::make_unique<char[]>(kScratchBytes);
    tcp().expires_at(Clock::now() + kLingerTimeout);
    DiscardInput();
  }
  void DiscardInput() {
    tcp().async_read_some(asio::buffer(scratch_.get(), kScratchBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->tcp().close();
                              self->DiscardInput();
                            });
  }

  static constexpr size_t kScratchBytes = 16 * 1024;
  Impl& server_;
  const uint64_t id_;
  const bool refuse_;
  const std::string client_address_;
  const std::shared_ptr<asio::ssl::context> tls_;  // null for plain HTTP; outlives stream_
  Stream stream_;
  std::string tls_client_cn_;  // the verified client certificate's subject CN, or ""
  std::shared_ptr<const std::vector<std::string>> tls_client_names_;  // all its names; null: none
  static constexpr size_t kReadBufferBytes = 64 * 1024;
  beast::flat_buffer buffer_;  // kept across requests: it may hold the next pipelined one
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_;
  std::optional<http::response<http::string_body>> res_;
  std::optional<http::response<http::file_body>> file_res_;  // instead of res_ for a file's body
  std::unique_ptr<char[]> scratch_;
  ByteBudget::Reservation body_reservation_;      // the body being read
  ByteBudget::Reservation response_reservation_;  // a large response being written
  // The request being answered.
  Clock::time_point t0_;         // its header read
  Clock::time_point read_done_;  // its body read
  HandlerSpan span_;             // its handler's, when one ran
  std::string method_;
  std::string route_;
  int status_ = 0;
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  std::vector<std::pair<std::string, std::string>> extra_headers_;  // the browser policy's (CORS)
};

Status HttpServer::Impl::Start() {
  if (started_) return absl::FailedPreconditionError("HTTP server already started");
  const std::string address = options_.host + ":" + std::to_string(options_.port);
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto results = resolver.resolve(options_.host, std::to_string(options_.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError("cannot resolve listen address " + address + ": " +
                                      (ec ? ec.message() : "no addresses"));
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  beast::error_code ignored;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) bound_port_ = acceptor_.local_endpoint(ec).port();
  if (ec) {
    acceptor_.close(ignored);
    return absl::UnavailableError("cannot listen on " + address + ": " + ec.message());
  }
  browser_policy_.emplace(options_.browser, endpoint.address().is_loopback());
  started_ = true;
  DoAccept();
  io_threads_.Start();
  spdlog::info("HTTP server listening on {}:{}", endpoint.address().to_string(), bound_port_.load());
  return absl::OkStatus();
}

void HttpServer::Impl::DoAccept() {
  acceptor_.async_accept(asio::make_strand(ioc_),
                         beast::bind_front_handler(&Impl::OnAccept, this));
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // E.g. out of file descriptors: back off instead of spinning on the failing accept.
    spdlog::warn("HTTP accept failed: {}", ec.message());
    accept_backoff_.expires_after(std::chrono::milliseconds(50));
    accept_backoff_.async_wait([this](beast::error_code ec) {
      if (!ec && acceptor_.is_open()) DoAccept();
    });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::shared_ptr<Session<beast::tcp_stream>> plain;
  std::shared_ptr<Session<TlsStream>> tls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) return;  // the socket closes as it goes out of scope
    const uint64_t id = next_session_id_++;
    const bool refuse = connections_.load(std::memory_order_relaxed) >= options_.max_connections;
    if (options_.tls) {
      tls = std::make_shared<Session<TlsStream>>(*this, std::move(socket), id, refuse, options_.tls->Current());
      sessions_[id] = tls;
    } else {
      plain = std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket), id, refuse);
      sessions_[id] = plain;
    }
  }
  if (tls) tls->Start();
  if (plain) plain->Start();
  DoAccept();
}

std::optional<Response> HttpServer::Impl::ServeInline(const Request& req) {
  if (req.method != "GET") return std::nullopt;
  if (req.path == "/livez") {
    // Peers' probes read this node's wall clock from it (cluster/peer_prober.h).
    Response live = TextResponse(200, "ok", req.path);
    live.headers.emplace_back(kClockHeader, std::to_string(WallClockUnixMs()));
    return live;
  }
  if (req.path == "/healthz") return TextResponse(200, "healthz check passed", req.path);
  if (req.path == "/readyz") {
    bool ready = false;
    try {
      ready = !ready_ || ready_();
    } catch (...) {
      ready = false;
    }
    return ready ? TextResponse(200, "all shards are ready", req.path)
                 : TextResponse(503, "not ready", req.path);
  }
  return std::nullopt;
}

Response HttpServer::Impl::CallHandler(const Request& req, HandlerSpan* span) {
  HandlerPhases& phases = CurrentHandlerPhases();
  phases = HandlerPhases{};
  span->begin = Clock::now();
  Response response = CallHandlerGuarded(req);
  span->end = Clock::now();
  span->phases = phases;
  span->handled = true;
  return response;
}

void HttpServer::Impl::RecordPhases(const std::string& route, Clock::time_point t0, Clock::time_point read_done,
                                    const HandlerSpan& span) {
  auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::max(0.0, std::chrono::duration<double>(b - a).count());
  };
  const Clock::time_point written = Clock::now();
  std::array<double, kPhaseCount> d{};
  d[0] = seconds(t0, read_done);
  d[1] = seconds(read_done, span.begin);
  const HandlerPhases& p = span.phases;
  if (p.executed) {
    // Between the first and the last execute (a batch) the handler decodes the next item: decode.
    const double execute_span = seconds(p.first_execute_begin, p.last_execute_end);
    d[2] = seconds(span.begin, p.first_execute_begin) + std::max(0.0, execute_span - p.execute_seconds);
    d[3] = p.execute_seconds;
    d[4] = seconds(p.last_execute_end, span.end);
  } else {
    d[2] = seconds(span.begin, span.end);
  }
  d[5] = seconds(span.end, written);
  metrics_.Observe(kServerCost, {{"route", route}}, d[0] + d[1] + d[2] + d[4] + d[5]);
  std::lock_guard<std::mutex> lock(phase_mu_);
  PhaseSums& sums = phase_sums_[route];
  for (size_t i = 0; i < kPhaseCount; ++i) sums.seconds[i] += d[i];
  ++sums.requests;
}

Response HttpServer::Impl::CallHandlerGuarded(const Request& req) {
  try {
    return handler_(req);
  } catch (const std::exception& e) {
    spdlog::error("HTTP handler for {} {} threw: {}", req.method, req.path, e.what());
    return TransportError(500, std::string("Internal server error: ") + e.what());
  } catch (...) {
    spdlog::error("HTTP handler for {} {} threw a non-exception", req.method, req.path);
    return TransportError(500, "Internal server error");
  }
}

void HttpServer::Impl::Record(const std::string& route, const std::string& method, int status,
                              Clock::time_point t0) {
  metrics_.Increment(kRequestsTotal,
                     {{"route", route}, {"method", method}, {"status", std::to_string(status)}});
  metrics_.Observe(kRequestDuration, {{"route", route}, {"method", method}},
                   std::chrono::duration<double>(Clock::now() - t0).count());
}

void HttpServer::Impl::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;
  // The acceptor lives on its strand; close it there and wait, so nothing is accepted after this.
  std::promise<void> closed;
  asio::post(acceptor_.get_executor(), [this, &closed] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_backoff_.cancel();
    closed.set_value();
  });
  closed.get_future().wait();

  std::vector<std::shared_ptr<Connection>> open;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, options_.drain_timeout, [this] { return in_flight_ == 0; })) {
      spdlog::warn("HTTP server: {} requests still in flight after the drain timeout", in_flight_);
    }
    for (auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->Close();
  open.clear();
  // With every socket closed the I/O threads run out of work; stop() is the backstop for a
  // session still held by a handler that outlived the drain timeout.
  work_.reset();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return sessions_.empty(); });
  }
  ioc_.stop();
  io_threads_.Join();
  // Handlers reference this object; wait for any that outlived the drain.
  workers_.Join();
  spdlog::info("HTTP server on port {} stopped", bound_port_.load());
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler, ReadyCheck ready,
                       Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(ready),
                                   metrics)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
uint16_t HttpServer::bound_port() const { return impl_->bound_port(); }

}  // namespace vj

// HttpClient: a small synchronous HTTP/1.1 client (Boost.Beast) for talking to etcd's JSON gateway and to
// peer nodes (forwarding, replication). http:// and https:// URLs.
//
// https: TLS 1.2+, the server's certificate is verified against HttpClientTls::ca_file (or the system's
// CAs) and must name the URL's host (a DNS name, or an IP address in its subjectAltName); with
// cert_file/key_file the client presents a certificate (mutual TLS). A connection that fails any of
// this is Unavailable with OpenSSL's reason.
//
// Rotation: ReloadTls() reads the TLS files again (SIGHUP); new connections present the new certificate,
// idle pooled ones are dropped, requests in flight finish on theirs.
//
// Connections are kept alive and reused per host:port (a bounded idle pool). A request that fails on a
// reused connection before any response byte arrived (the peer closed an idle keep-alive connection) is
// retried once on a fresh connection, as curl and Go's net/http do.
//
// Errors: never throws. Bad URL -> InvalidArgument; cannot resolve / connect (refused, connect timeout),
// connection reset -> Unavailable; no complete response before the request's deadline -> DeadlineExceeded;
// response over max_response_bytes -> ResourceExhausted. Any HTTP status is a successful result.
//
// Thread-safety: all methods may be called concurrently; each call uses its own connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "absl/base/thread_annotations.h"
#include "core/status.h"

namespace vj {

// The files of the client side of TLS (PEM). They are read when the client is constructed.
struct HttpClientTls {
  std::string ca_file;    // CAs the server's certificate must chain to; empty = the system's CAs
  std::string cert_file;  // this client's certificate for mutual TLS; empty = none
  std::string key_file;   // its private key; set with cert_file
};

// Checks that the files load (the same checks HttpClient makes): InvalidArgument naming the file.
[[nodiscard]] Status CheckHttpClientTls(const HttpClientTls& tls);

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{2000};
  // Total time for one request (connect + write + read) unless the call passes its own.
  std::chrono::milliseconds request_timeout{10000};
  size_t max_idle_per_host = 8;
  size_t max_response_bytes = 64ull << 20;
  HttpClientTls tls{};  // for https:// URLs
  // After the TLS handshake and the hostname check, asked with the names of the server's certificate
  // (security/peer_identity.h CertificateNames); an error fails the connection (Unavailable naming it).
  // Unset: any certificate that verified is accepted. Node-to-node clients check the peer is a node.
  std::function<Status(const std::vector<std::string>& names)> check_server_names;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;
  std::string body;
  HttpHeaders headers;
  // The first header named `name` (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
};

// "http(s)://host:port/target" split into parts; the port defaults to 80 (443 for https), the target
// to "/".
struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";
  bool tls = false;  // https
};
[[nodiscard]] StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request/response (plain http to host:port; the URL form below also speaks https). `timeout`
  // overrides options.request_timeout. A JSON content type is sent with a non-empty body unless
  // `headers` names one. `abandon`, when set, is asked every 100 ms while the
  // request waits (to connect, to send, for the answer): once it returns true the connection is closed
  // and the result is Unavailable (a peer known to be unreachable is not waited for until the timeout).
  [[nodiscard]] StatusOr<HttpResult> Send(std::string_view method, const std::string& host, uint16_t port,
                                          std::string_view target, std::string_view body = {},
                                          const HttpHeaders& headers = {},
                                          std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                                          const std::function<bool()>& abandon = {});
  [[nodiscard]] StatusOr<HttpResult> Send(std::string_view method, std::string_view url,
                                          std::string_view body = {}, const HttpHeaders& headers = {},
                                          std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                                          const std::function<bool()>& abandon = {});

  // Streams a long-lived response (etcd watch): POSTs `body` on a dedicated connection and calls `on_line`
  // for each newline-terminated line of the (chunked or not) response body as it arrives (a trailing
  // unterminated line is delivered at the end). Returns OK when the server ends the response, when
  // `on_line` returns false, or when `stop` becomes true (checked at least every 100 ms). A non-2xx status
  // is returned as an error carrying the body: Unavailable for 5xx, FailedPrecondition otherwise.
  // `idle_timeout` (0 = none) gives DeadlineExceeded when no byte arrives for that long.
  [[nodiscard]] Status Stream(std::string_view url, std::string_view body,
                              const std::function<bool(std::string_view line)>& on_line,
                              const std::atomic<bool>& stop,
                              std::chrono::milliseconds idle_timeout = std::chrono::milliseconds{0});

  // Reads options.tls's files again: on success new connections use them and idle connections are
  // dropped; on error (InvalidArgument naming the file) nothing changes.
  [[nodiscard]] Status ReloadTls();

  // Connections currently idle in the pool (all hosts). For tests and metrics.
  size_t idle_connections() const;
  // Connections opened since construction. For tests and metrics.
  uint64_t connections_opened() const { return connections_opened_.load(); }

 private:
  struct Connection;
  using Clock = std::chrono::steady_clock;

  StatusOr<HttpResult> SendTo(std::string_view method, const HttpUrl& url, std::string_view body,
                              const HttpHeaders& headers, std::optional<std::chrono::milliseconds> timeout,
                              const std::function<bool()>& abandon);
  // Connects (and completes the TLS handshake for an https URL) before `deadline`.
  StatusOr<std::unique_ptr<Connection>> Connect(const HttpUrl& url, Clock::time_point deadline,
                                                const std::function<bool()>& abandon = {});
  std::unique_ptr<Connection> TakeIdle(const std::string& key);
  void ReturnIdle(std::unique_ptr<Connection> conn);

  // Fixed after construction.
  const HttpClientOptions options_;

  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> tls_ ABSL_GUARDED_BY(mu_);  // null when the TLS files did not load
  Status tls_error_ ABSL_GUARDED_BY(mu_);                                // why, for https requests
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> connections_opened_{0};
};

}  // namespace vj

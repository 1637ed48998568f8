#include "cluster/http_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <limits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "security/openssl_errors.h"
#include "security/peer_identity.h"

namespace vj {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace ssl = asio::ssl;

// A connection owns its io_context: every operation is started asynchronously (so tcp_stream's deadline
// applies) and the context is run on the calling thread until the operation completes.
struct HttpClient::Connection {
  asio::io_context ioc{1};
  beast::tcp_stream plain{ioc};  // moved into `tls` once connected for https
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::shared_ptr<ssl::context> tls_context;  // the context `tls` was made from (kept alive with it)
  beast::flat_buffer buffer;
  std::string key;  // "host:port", "https://host:port" (the pool's key)

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : plain; }
  // Calls f with the stream HTTP is spoken on.
  template <class F>
  void With(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(plain);
    }
  }
};

namespace {

constexpr std::chrono::milliseconds kStopPollInterval{100};

std::string HostKey(const std::string& host, uint16_t port) { return host + ":" + std::to_string(port); }
std::string PoolKey(const HttpUrl& url) { return (url.tls ? "https://" : "") + HostKey(url.host, url.port); }


StatusOr<std::shared_ptr<ssl::context>> BuildClientContext(const HttpClientTls& files) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_default_passwd_cb(ctx, NoPassphrase);
  auto file_error = [](const char* what, const std::string& path, const std::string& reason) {
    return absl::InvalidArgumentError(std::string("TLS ") + what + " " + path + ": " + reason);
  };
  if (!files.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.ca_file.c_str(), nullptr) != 1) {
      return file_error("CA file", files.ca_file, "cannot load PEM certificates: " + OpenSslErrors());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return absl::InternalError("TLS: cannot load the system's CA certificates: " + OpenSslErrors());
  }
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError("TLS client certificate and key must be set together");
  }
  if (!files.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
      return file_error("client certificate file", files.cert_file, "cannot load: " + OpenSslErrors());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return file_error("client key file", files.key_file,
                        "cannot load or does not match " + files.cert_file + ": " + OpenSslErrors());
    }
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return context;
}

// Runs `conn`'s io_context until the operation started by `start(handler)` completes.
template <class Start>
error_code RunOp(asio::io_context& ioc, Start&& start) {
  error_code result;
  start([&result](error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

// RunOp, asking `abandon` (when set) every kStopPollInterval: once it returns true the stream is closed
// and the result is operation_aborted.
template <class Start>
error_code RunAbandonable(asio::io_context& ioc, beast::tcp_stream& stream, const std::function<bool()>& abandon,
                          Start&& start) {
  if (!abandon) return RunOp(ioc, std::forward<Start>(start));
  error_code result;
  bool done = false;
  start([&](error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  ioc.restart();
  while (!done) {
    ioc.run_for(kStopPollInterval);
    if (!done && abandon()) {
      error_code ignored;
      stream.socket().cancel(ignored);
      stream.close();
      ioc.restart();
      ioc.run();
      return asio::error::operation_aborted;
    }
  }
  return result;
}

// True when `ec` means the peer closed or reset the connection.
bool IsConnectionClosed(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message || ec == ssl::error::stream_truncated;
}

Status MapIoError(const error_code& ec, const std::string& what, const std::string& key) {
  std::string message = what + " " + key + ": " + ec.message();
  if (ec == beast::error::timeout) return absl::DeadlineExceededError(message);
  if (ec == asio::error::operation_aborted) {
    return absl::UnavailableError(what + " " + key + ": abandoned (the peer does not answer)");
  }
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::UnavailableError(message);
}

bool SocketLooksIdle(tcp::socket& socket) {
  // An idle keep-alive connection has nothing to read; readable means the peer closed it (or sent junk).
  pollfd pfd{socket.native_handle(), POLLIN, 0};
  return ::poll(&pfd, 1, 0) == 0;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

template <class Body>
void FillRequest(http::request<Body>& req, std::string_view method, const std::string& host, uint16_t port,
                 std::string_view target, const HttpHeaders& headers, bool has_body) {
  http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) {
    req.method_string(beast::string_view(method.data(), method.size()));
  } else {
    req.method(verb);
  }
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(http::field::host, HostKey(host, port));
  req.set(http::field::user_agent, "vjvector");
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (IEquals(name, "content-type")) has_content_type = true;
    req.set(name, value);
  }
  if (has_body && !has_content_type) req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
}

}  // namespace

std::string HttpResult::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (IEquals(key, name)) return value;
  }
  return "";
}

Status CheckHttpClientTls(const HttpClientTls& tls) { return BuildClientContext(tls).status(); }

StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  HttpUrl parsed;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
    parsed.tls = true;
    parsed.port = 443;
  } else {
    return absl::InvalidArgumentError("url '" + std::string(url) + "': only http:// and https:// URLs are supported");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  parsed.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view host = authority;
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("url '" + std::string(url) + "': unterminated IPv6 address");
    }
    host = authority.substr(1, close - 1);
    colon = close + 1 < authority.size() && authority[close + 1] == ':' ? close + 1 : std::string_view::npos;
  } else if (colon != std::string_view::npos) {
    host = authority.substr(0, colon);
  }
  if (colon != std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return absl::InvalidArgumentError("url '" + std::string(url) + "': bad port");
    }
    parsed.port = static_cast<uint16_t>(value);
  }
  if (host.empty()) return absl::InvalidArgumentError("url '" + std::string(url) + "': no host");
  parsed.host = std::string(host);
  return parsed;
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  StatusOr<std::shared_ptr<ssl::context>> context = BuildClientContext(options_.tls);
  if (context.ok()) {
    tls_ = std::move(*context);
  } else {
    tls_error_ = context.status();
  }
}

HttpClient::~HttpClient() = default;

Status HttpClient::ReloadTls() {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> context, BuildClientContext(options_.tls));
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tls_ = std::move(context);
    tls_error_ = absl::OkStatus();
    dropped.swap(idle_);  // plain ones too: simpler, and they reconnect cheaply
  }
  return absl::OkStatus();
}

size_t HttpClient::idle_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, conns] : idle_) n += conns.size();
  return n;
}

std::unique_ptr<HttpClient::Connection> HttpClient::TakeIdle(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  while (!it->second.empty()) {
    std::unique_ptr<Connection> conn = std::move(it->second.back());
    it->second.pop_back();
    if (SocketLooksIdle(conn->tcp().socket())) return conn;
  }
  return nullptr;
}

void HttpClient::ReturnIdle(std::unique_ptr<Connection> conn) {
  if (conn->buffer.size() != 0) return;  // unexpected bytes after the response: do not reuse
  std::lock_guard<std::mutex> lock(mu_);
  auto& conns = idle_[conn->key];
  if (conns.size() < options_.max_idle_per_host) conns.push_back(std::move(conn));
}

StatusOr<std::unique_ptr<HttpClient::Connection>> HttpClient::Connect(const HttpUrl& url,
                                                                      Clock::time_point deadline,
                                                                      const std::function<bool()>& abandon) {
  auto conn = std::make_unique<Connection>();
  if (url.tls) {
    std::lock_guard<std::mutex> lock(mu_);
    if (tls_ == nullptr) return tls_error_;
    conn->tls_context = tls_;
  }
  conn->key = PoolKey(url);
  const std::string where = HostKey(url.host, url.port);
  error_code ec;
  tcp::resolver resolver(conn->ioc);
  auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) return absl::UnavailableError("resolve " + where + ": " + ec.message());
  conn->plain.expires_at(std::min(deadline, Clock::now() + options_.connect_timeout));
  ec = RunAbandonable(conn->ioc, conn->plain, abandon,
                      [&](auto handler) { conn->plain.async_connect(endpoints, handler); });
  if (ec == asio::error::operation_aborted) {
    return absl::UnavailableError("connect to " + where + ": abandoned (the peer does not answer)");
  }
  if (ec == beast::error::timeout) {
    return absl::UnavailableError("connect to " + where + " timed out");
  }
  if (ec) return absl::UnavailableError("connect to " + where + ": " + ec.message());
  conn->plain.socket().set_option(tcp::no_delay(true), ec);
  conn->plain.socket().set_option(asio::socket_base::keep_alive(true), ec);
  // Notice a peer that vanished (host down, partition) within ~20 s even on a silent watch stream.
  const int fd = conn->plain.socket().native_handle();
  const int idle = 10, interval = 3, count = 3;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
  if (url.tls) {
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(conn->plain), *conn->tls_context);
    SSL* ssl = conn->tls->native_handle();
    // The certificate must name the host we meant: its IP address, or its DNS name (also sent as SNI).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    error_code not_ip;
    asio::ip::make_address(url.host, not_ip);
    if (!not_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
      SSL_set_tlsext_host_name(ssl, url.host.c_str());
    }
    ec = RunAbandonable(conn->ioc, conn->tcp(), abandon, [&](auto handler) {
      conn->tls->async_handshake(ssl::stream_base::client, handler);
    });
    if (ec == asio::error::operation_aborted) {
      return absl::UnavailableError("TLS handshake with " + where + ": abandoned (the peer does not answer)");
    }
    if (ec) {
      std::string reason = ec.message();
      if (const long verify = SSL_get_verify_result(ssl); verify != X509_V_OK) {
        reason += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      }
      return absl::UnavailableError("TLS handshake with " + where + ": " + reason);
    }
    if (options_.check_server_names) {
      X509* cert = SSL_get0_peer_certificate(ssl);
      if (Status st = options_.check_server_names(CertificateNames(cert)); !st.ok()) {
        return absl::UnavailableError("TLS handshake with " + where + ": " + std::string(st.message()));
      }
    }
  }
  connections_opened_.fetch_add(1);
  return conn;
}

StatusOr<HttpResult> HttpClient::Send(std::string_view method, std::string_view url, std::string_view body,
                                      const HttpHeaders& headers,
                                      std::optional<std::chrono::milliseconds> timeout,
                                      const std::function<bool()>& abandon) {
  VJ_ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url));
  return SendTo(method, parsed, body, headers, timeout, abandon);
}

StatusOr<HttpResult> HttpClient::Send(std::string_view method, const std::string& host, uint16_t port,
                                      std::string_view target, std::string_view body,
                                      const HttpHeaders& headers,
                                      std::optional<std::chrono::milliseconds> timeout,
                                      const std::function<bool()>& abandon) {
  return SendTo(method, HttpUrl{host, port, std::string(target), false}, body, headers, timeout, abandon);
}

StatusOr<HttpResult> HttpClient::SendTo(std::string_view method, const HttpUrl& url, std::string_view body,
                                        const HttpHeaders& headers,
                                        std::optional<std::chrono::milliseconds> timeout,
                                        const std::function<bool()>& abandon) {
  try {
    const Clock::time_point deadline = Clock::now() + timeout.value_or(options_.request_timeout);
    const std::string key = PoolKey(url);
    http::request<http::string_body> req;
    FillRequest(req, method, url.host, url.port, url.target, headers, !body.empty());
    req.body().assign(body.data(), body.size());
    req.prepare_payload();

    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Connection> conn = attempt == 0 ? TakeIdle(key) : nullptr;
      const bool reused = conn != nullptr;
      if (!conn) {
        VJ_ASSIGN_OR_RETURN(conn, Connect(url, deadline, abandon));
      }
      conn->tcp().expires_at(deadline);
      error_code ec = RunAbandonable(conn->ioc, conn->tcp(), abandon, [&](auto handler) {
        conn->With([&](auto& stream) { http::async_write(stream, req, handler); });
      });
      if (ec) {
        if (reused && IsConnectionClosed(ec)) continue;
        return MapIoError(ec, "send request to", key);
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(options_.max_response_bytes);
      if (req.method() == http::verb::head) parser.skip(true);  // a HEAD response has no body
      ec = RunAbandonable(conn->ioc, conn->tcp(), abandon, [&](auto handler) {
        conn->With([&](auto& stream) { http::async_read(stream, conn->buffer, parser, handler); });
      });
      if (ec) {
        if (reused && !parser.got_some() && IsConnectionClosed(ec)) continue;
        return MapIoError(ec, "read response from", key);
      }
      http::response<http::string_body> res = parser.release();
      HttpResult result;
      result.status = static_cast<int>(res.result_int());
      for (const auto& field : res) {
        result.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      const bool keep_alive = res.keep_alive();
      result.body = std::move(res.body());
      if (keep_alive) ReturnIdle(std::move(conn));
      return result;
    }
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("http request to ") + url.host + ": " + e.what());
  }
}

Status HttpClient::Stream(std::string_view url, std::string_view body,
                          const std::function<bool(std::string_view line)>& on_line,
                          const std::atomic<bool>& stop, std::chrono::milliseconds idle_timeout) {
  try {
    VJ_ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url));
    VJ_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                        Connect(parsed, Clock::now() + options_.connect_timeout));
    const std::string& key = conn->key;
    http::request<http::string_body> req;
    FillRequest(req, "POST", parsed.host, parsed.port, parsed.target, {}, !body.empty());
    req.body().assign(body.data(), body.size());
    req.prepare_payload();
    conn->tcp().expires_after(options_.request_timeout);
    error_code ec = RunOp(conn->ioc, [&](auto handler) {
      conn->With([&](auto& stream) { http::async_write(stream, req, handler); });
    });
    if (ec) return MapIoError(ec, "send request to", key);

    http::response_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());

    // Runs one read to completion, polling `stop`; returns false when stopped.
    auto run_read = [&](auto start, error_code& result) -> bool {
      bool done = false;
      start([&](error_code e, size_t) {
        result = e;
        done = true;
      });
      conn->ioc.restart();
      while (!done) {
        conn->ioc.run_for(kStopPollInterval);
        if (!done && stop.load()) {
          error_code ignored;
          conn->tcp().socket().cancel(ignored);
          conn->tcp().close();
          conn->ioc.restart();
          conn->ioc.run();
          return false;
        }
      }
      return true;
    };

    conn->tcp().expires_after(options_.request_timeout);
    if (!run_read([&](auto h) {
          conn->With([&](auto& stream) { http::async_read_header(stream, conn->buffer, parser, h); });
        }, ec)) {
      return absl::OkStatus();
    }
    if (ec) return MapIoError(ec, "read response header from", key);
    const unsigned status = parser.get().result_int();

    std::string pending;  // bytes of an incomplete line
    char chunk[16384];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof(chunk);
      if (idle_timeout.count() > 0) {
        conn->tcp().expires_after(idle_timeout);
      } else {
        conn->tcp().expires_never();
      }
      if (!run_read([&](auto h) {
            conn->With([&](auto& stream) { http::async_read_some(stream, conn->buffer, parser, h); });
          }, ec)) {
        return absl::OkStatus();
      }
      if (ec && ec != http::error::need_buffer) return MapIoError(ec, "read stream from", key);
      pending.append(chunk, sizeof(chunk) - parser.get().body().size);
      if (status < 200 || status >= 300) {
        if (pending.size() > options_.max_response_bytes) break;
        continue;  // collect the error body
      }
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(pending.data() + start, nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty() && !on_line(line)) return absl::OkStatus();
      }
      pending.erase(0, start);
    }
    if (status < 200 || status >= 300) {
      std::string message = "stream from " + key + " answered HTTP " + std::to_string(status) + ": " + pending;
      if (status >= 500) return absl::UnavailableError(message);
      return absl::FailedPreconditionError(message);
    }
    if (!pending.empty()) on_line(pending);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError("http stream from " + std::string(url) + ": " + e.what());
  }
}

}  // namespace vj

// Fuzzes HTTP request parsing as the server does it (server/http_server.cc, Session): Boost.Beast's
// request_parser with the server's header limit and a body limit, over a stream that may hold several
// pipelined requests, then what Session does with each parsed request: the method label, the target
// decoding of server/http_messages (DecodeTarget), the internal token header, and the route lookup
// (RestApi::NeverBlocks, which decides where a request runs).
#include <cstdint>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/request.h"
#include "api/rest_api.h"
#include "fuzz/fuzz_check.h"
#include "server/http_messages.h"

namespace vj {
namespace {

namespace http = boost::beast::http;

// Session::DoReadHeader's header limit. The body limit is the smallest http.max_body_bytes allows, so
// that fuzz inputs (a few KB) reach the 413 path too.
constexpr size_t kHeaderLimit = 64 * 1024;
constexpr size_t kBodyLimit = 1024;
constexpr int kMaxPipelined = 8;

void Serve(http::request<http::string_body>& req) {
  Request request;
  request.method = std::string(req.method_string());
  (void)MethodLabel(req.method_string());
  DecodeTarget(req.target(), request);
  if (auto token = req.find(kInternalTokenHeader); token != req.end()) {
    request.headers.emplace(kInternalTokenHeader, std::string(token->value()));
  }
  (void)req.keep_alive();
  request.body = std::move(req.body());
  (void)RestApi::NeverBlocks(Port::kPublic, request);
  (void)RestApi::NeverBlocks(Port::kPeer, request);
}

}  // namespace
}  // namespace vj

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  namespace net = boost::asio;
  if (size == 0) return 0;
  // The bytes arrive as Beast's read loop sees them: in reads of `step` bytes (the first byte picks
  // it) appended to one buffer that carries over from request to request, as Session's buffer_ does.
  // Beast's contract: after need_more, put() is called again only once more bytes were appended.
  const size_t step = 1 + data[0] % 128;
  std::string buffer;
  size_t fed = 0;
  for (int i = 0; i < kMaxPipelined && (fed < size || !buffer.empty()); ++i) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    parser.header_limit(kHeaderLimit);
    parser.eager(true);
    boost::beast::error_code ec;
    bool need_more = buffer.empty();
    while (!parser.is_done()) {
      if (need_more) {
        if (fed == size) {
          parser.put_eof(ec);  // the client closed the connection
          break;
        }
        const size_t take = std::min(step, size - fed);
        buffer.append(reinterpret_cast<const char*>(data) + fed, take);
        fed += take;
        need_more = false;
      }
      const size_t used = parser.put(net::buffer(buffer), ec);
      buffer.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        need_more = true;
      } else if (ec) {
        break;
      } else if (buffer.empty()) {
        need_more = true;
      }
    }
    if (ec || !parser.is_done()) return 0;  // the server answers 400/413 and closes
    http::request<http::string_body> req = parser.release();
    Serve(req);
  }
  return 0;
}

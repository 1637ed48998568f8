#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/request_phases.h"
#include "server/idle_cpu.h"
#include "server/test_http_conn.h"

namespace vj {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;


class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(HttpServerOptions{}); }

  void StartServer(HttpServerOptions options) {
    options.port = 0;
    options.threads = 2;
    options.max_body_bytes = 1024;
    server_ = std::make_unique<HttpServer>(
        options, [this](const Request& req) { return Handle(req); },
        [this] { return ready_.load(); }, metrics_);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->bound_port();
    ASSERT_NE(port_, 0);
  }

  Response Handle(const Request& req) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/metrics") {  // served by the request pipeline in the binary
      Response r;
      r.route = "/metrics";
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics_.Render();
      return r;
    }
    if (req.path == "/execute") {  // a handler whose collection work takes at least 50 ms
      ExecutePhase execute;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (req.path == "/slow") {
      slow_started_.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      slow_finished_ = true;
    }
    Response r;
    r.route = "/echo";
    r.content_type = "text/plain";
    r.body = req.method + "|" + req.path + "|";
    for (const auto& [k, v] : req.query) r.body += "[" + k + "=" + v + "]";
    r.body += "|" + req.body;
    return r;
  }

  Metrics metrics_;
  std::atomic<bool> ready_{false};
  std::promise<void> slow_started_;
  std::atomic<bool> slow_finished_{false};
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

TEST_F(HttpServerTest, GetAndPostRoundTrip) {
  Conn c(port_);
  ASSERT_TRUE(c.connected());
  auto get = c.Do("GET", "/collections");
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET|/collections||");
  EXPECT_EQ(get->headers["server"], "vjvector");
  EXPECT_EQ(get->headers["content-type"], "text/plain");

  auto post = c.Do("POST", "/collections/a/points", R"({"points":[]})");
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, R"(POST|/collections/a/points||{"points":[]})");
}

TEST_F(HttpServerTest, DecodesPathAndQuery) {
  Conn c(port_);
  auto r = c.Do("GET", "/a%20b/c%2Fd%zz?x=1%2B2&y=a+b&z&&w=%41");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "GET|/a b/c/d%zz|[w=A][x=1+2][y=a b][z=]|");
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Conn c(port_);
  for (int i = 0; i < 5; ++i) {
    auto r = c.Do("GET", "/n?i=" + std::to_string(i));
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->body, "GET|/n|[i=" + std::to_string(i) + "]|");
    EXPECT_NE(r->headers["connection"], "close");
  }
  // Pipelined: two requests in one write, two answers in order.
  ASSERT_TRUE(c.Send("GET /p1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /p2 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto a = c.Read();
  auto b = c.Read();
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->body, "GET|/p1||");
  EXPECT_EQ(b->body, "GET|/p2||");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonored) {
  Conn c(port_);
  auto r = c.Do("GET", "/x", "", "Connection: close\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpServerTest, OversizedBodyGets413AndServerStaysUp) {
  {
    Conn c(port_);
    auto r = c.Do("POST", "/collections/a/points", std::string(4096, 'x'));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_THAT(r->body, StartsWith(R"({"status":{"error":"Payload too large: )"));
    EXPECT_THAT(r->body, HasSubstr(R"("time":)"));
    EXPECT_EQ(r->headers["content-type"], "application/json");
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    // Chunked bodies carry no length up front; the limit applies while reading.
    Conn c(port_);
    std::string chunk(800, 'y');
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", chunk.size());
    std::string req = "POST /p HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) req += std::string(size) + "\r\n" + chunk + "\r\n";
    req += "0\r\n\r\n";
    ASSERT_TRUE(c.Send(req));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
  }
  Conn c(port_);
  auto ok = c.Do("POST", "/p", std::string(1024, 'z'));  // exactly the limit is fine
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServerTest, MalformedRequestGets400AndClose) {
  for (const char* garbage : {"GET /x HTTP/1.1\r\nBad Header Line\r\n\r\n",
                              "\x01\x02\x03 nonsense\r\n\r\n",
                              "GET /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    Conn c(port_);
    ASSERT_TRUE(c.Send(garbage));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << garbage;
    EXPECT_EQ(r->status, 400);
    EXPECT_THAT(r->body, StartsWith(R"({"status":{"error":"Bad request: )"));
    EXPECT_TRUE(c.ClosedByPeer());
  }
  Conn c(port_);
  auto ok = c.Do("GET", "/still-up");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServerTest, OperationalEndpoints) {
  Conn c(port_);
  auto live = c.Do("GET", "/livez");
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->body, "ok");
  auto health = c.Do("GET", "/healthz");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->body, "healthz check passed");

  auto not_ready = c.Do("GET", "/readyz");
  ASSERT_TRUE(not_ready.has_value());
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "not ready");
  ready_ = true;
  auto ready = c.Do("GET", "/readyz");
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "all shards are ready");
}

TEST_F(HttpServerTest, MetricsCountRequests) {
  Conn c(port_);
  ASSERT_TRUE(c.Do("GET", "/livez").has_value());
  ASSERT_TRUE(c.Do("POST", "/anything", "{}").has_value());
  ASSERT_TRUE(c.Do("POST", "/anything", "{}").has_value());
  auto m = c.Do("GET", "/metrics");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(m->body, HasSubstr("# TYPE vjvector_http_requests_total counter\n"));
  EXPECT_THAT(m->body, HasSubstr(
      "vjvector_http_requests_total{route=\"/livez\",method=\"GET\",status=\"200\"} 1\n"));
  EXPECT_THAT(m->body, HasSubstr(
      "vjvector_http_requests_total{route=\"/echo\",method=\"POST\",status=\"200\"} 2\n"));
  EXPECT_THAT(m->body, HasSubstr(
      "vjvector_http_request_duration_seconds_count{route=\"/echo\",method=\"POST\"} 2\n"));
}

// The phases of handled requests: what the handler marks with ExecutePhase is execute, and the server's
// own cost (the histogram) is exactly the other phases.
TEST_F(HttpServerTest, PhaseMetricsKeepExecuteOutOfTheServersCost) {
  Conn c(port_);
  ASSERT_TRUE(c.Do("POST", "/execute", "{}").has_value());
  ASSERT_TRUE(c.Do("POST", "/execute", "{}").has_value());
  // Recorded once the response is written, which may be just after the client has read it.
  const std::string done = "vjvector_http_request_phase_requests_total{route=\"/echo\"} 2\n";
  std::string text;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       std::chrono::steady_clock::now() < until && text.find(done) == std::string::npos;) {
    std::this_thread::yield();
    text = metrics_.Render();
  }
  ASSERT_THAT(text, HasSubstr(done));
  auto value = [&](const std::string& sample) {
    const size_t at = text.find(sample + " ");
    EXPECT_NE(at, std::string::npos) << sample;
    return at == std::string::npos ? -1.0 : std::strtod(text.c_str() + at + sample.size() + 1, nullptr);
  };
  auto phase = [&](const char* name) {
    return value(std::string("vjvector_http_request_phase_seconds_total{route=\"/echo\",phase=\"") + name + "\"}");
  };
  EXPECT_GE(phase("execute"), 0.1);
  double others = 0;
  for (const char* name : {"read", "dispatch", "decode", "encode", "write"}) {
    EXPECT_GE(phase(name), 0) << name;
    others += phase(name);
  }
  EXPECT_EQ(value("vjvector_http_request_server_cost_seconds_count{route=\"/echo\"}"), 2);
  EXPECT_NEAR(value("vjvector_http_request_server_cost_seconds_sum{route=\"/echo\"}"), others, 1e-9);
}

TEST_F(HttpServerTest, ThrowingHandlerGets500AndServerStaysUp) {
  Conn c(port_);
  auto r = c.Do("GET", "/throw");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_THAT(r->body, HasSubstr("boom"));
  auto ok = c.Do("GET", "/after");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServerTest, ExpectContinue) {
  Conn c(port_);
  ASSERT_TRUE(c.Send("POST /e HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Type: application/json\r\n"
                     "Content-Length: 2\r\n\r\n"));
  auto cont = c.Read();
  ASSERT_TRUE(cont.has_value());
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.Send("{}"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "POST|/e||{}");
}

TEST_F(HttpServerTest, StopDrainsInFlightRequest) {
  Conn idle(port_);  // an idle keep-alive connection must not hold Stop up
  ASSERT_TRUE(idle.Do("GET", "/warm").has_value());

  std::optional<HttpReply> slow_reply;
  std::thread client([&] {
    Conn c(port_);
    slow_reply = c.Do("GET", "/slow");
  });
  slow_started_.get_future().wait();
  server_->Stop();
  EXPECT_TRUE(slow_finished_.load());
  client.join();
  ASSERT_TRUE(slow_reply.has_value());
  EXPECT_EQ(slow_reply->status, 200);
  EXPECT_EQ(slow_reply->body, "GET|/slow||");
  EXPECT_EQ(slow_reply->headers["connection"], "close");  // draining: clients should go elsewhere
  EXPECT_TRUE(idle.ClosedByPeer());

  server_->Stop();  // idempotent
  Conn refused(port_);
  EXPECT_FALSE(refused.connected());
}

TEST_F(HttpServerTest, StartFailsWhenPortIsTaken) {
  HttpServerOptions options;
  options.port = port_;
  HttpServer second(options, [](const Request&) { return Response{}; }, nullptr, metrics_);
  Status s = second.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(std::to_string(port_)));
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

// Inline requests run on the I/O thread; the rest still go through the worker pool, and both answer.
TEST(HttpServerInlineTest, InlineAndPooledRequestsBothAnswer) {
  Metrics metrics;
  HttpServerOptions options;
  options.port = 0;
  options.threads = 2;
  std::atomic<int> inline_calls{0};
  options.run_inline = [&](const Request& r) {
    const bool run = r.path == "/fast";
    inline_calls += run;
    return run;
  };
  HttpServer server(
      options,
      [](const Request& r) {
        Response out;
        out.body = r.path;
        return out;
      },
      [] { return true; }, metrics);
  ASSERT_TRUE(server.Start().ok());
  Conn c(server.bound_port());
  for (int i = 0; i < 3; ++i) {
    auto fast = c.Do("POST", "/fast", "{}");
    ASSERT_TRUE(fast.has_value());
    EXPECT_EQ(fast->body, "/fast");
    auto pooled = c.Do("POST", "/slow-path", "{}");
    ASSERT_TRUE(pooled.has_value());
    EXPECT_EQ(pooled->body, "/slow-path");
  }
  EXPECT_EQ(inline_calls.load(), 3);
  server.Stop();
}

// On the peer port a request with a wrong internal token and a wrong Content-Type hears about its token
// (403), not about the media type its route takes (415); with the right token the 415 stands.
TEST(HttpServerBrowserPolicyTest, ACredentialRefusalComesBeforeAContentTypeRefusal) {
  Metrics metrics;
  HttpServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.browser.binary_body_prefix = "/internal/replication/";
  options.refuse_unauthenticated = [](const Request& r) -> std::optional<Response> {
    auto token = r.headers.find(kInternalTokenHeader);
    if (token != r.headers.end() && token->second == "good") return std::nullopt;
    Response refusal;
    refusal.status = 403;
    refusal.body = "wrong token";
    return refusal;
  };
  HttpServer server(options, [](const Request&) { return Response{}; }, [] { return true; }, metrics);
  ASSERT_TRUE(server.Start().ok());
  auto post = [&](const std::string& token, const std::string& type) {
    Conn c(server.bound_port());
    EXPECT_TRUE(c.Send("POST /internal/replication/c/0 HTTP/1.1\r\nHost: localhost\r\n" +
                       std::string(kInternalTokenHeader) + ": " + token + "\r\nContent-Type: " + type +
                       "\r\nContent-Length: 2\r\n\r\nxx"));
    std::optional<HttpReply> reply = c.Read(false);
    return reply.has_value() ? reply->status : -1;
  };
  EXPECT_EQ(post("bad", "text/plain"), 403);
  EXPECT_EQ(post("good", "text/plain"), 415);
  EXPECT_EQ(post("good", "application/octet-stream"), 200);
  server.Stop();
}

// With busy polling on or off, many keep-alive connections get their answers (inline and from the
// worker pool), Stop still returns promptly, and an idle server stops spinning.
class HttpServerBusyPollTest : public ::testing::TestWithParam<int> {};

TEST_P(HttpServerBusyPollTest, ServesManyConnectionsAndSleepsWhenIdle) {
  Metrics metrics;
  HttpServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.busy_poll = std::chrono::microseconds(GetParam());
  options.run_inline = [](const Request& r) { return r.path == "/inline"; };
  HttpServer server(
      options,
      [](const Request& r) {
        Response out;
        out.body = r.body;
        return out;
      },
      [] { return true; }, metrics);
  ASSERT_TRUE(server.Start().ok());
  std::vector<std::unique_ptr<Conn>> conns;
  for (int c = 0; c < 4; ++c) conns.push_back(std::make_unique<Conn>(server.bound_port()));
  for (int round = 0; round < 20; ++round) {
    for (int c = 0; c < 4; ++c) {
      const std::string tag = "conn" + std::to_string(c) + "-" + std::to_string(round);
      auto inline_reply = conns[c]->Do("POST", "/inline", tag);
      ASSERT_TRUE(inline_reply.has_value());
      EXPECT_EQ(inline_reply->body, tag);
      auto pooled = conns[c]->Do("POST", "/pooled", tag);  // answered from the worker pool
      ASSERT_TRUE(pooled.has_value());
      EXPECT_EQ(pooled->body, tag);
    }
  }

  EXPECT_LT(IdleCpuSeconds(), 0.1) << "an idle server kept its I/O threads busy";

  const auto stop_start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, std::chrono::seconds(5));
  EXPECT_TRUE(conns[0]->ClosedByPeer());
}

INSTANTIATE_TEST_SUITE_P(BusyPoll, HttpServerBusyPollTest, ::testing::Values(0, 300));

}  // namespace
}  // namespace vj

#include "cluster/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/etcd_test_server.h"
#include "cluster/test_http_server.h"

namespace vj {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

TestServer::Reply Echo(const std::string& target, const std::string& body) {
  TestServer::Reply reply;
  reply.body = target + "|" + body;
  return reply;
}

std::string Chunk(const std::string& data) {
  char size[32];
  snprintf(size, sizeof(size), "%zx\r\n", data.size());
  return size + data + "\r\n";
}

TEST(ParseHttpUrlTest, SplitsHostPortTarget) {
  auto url = ParseHttpUrl("http://127.0.0.1:2379/v3/kv/range");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 2379);
  EXPECT_EQ(url->target, "/v3/kv/range");
  url = ParseHttpUrl("http://example.com");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");
  url = ParseHttpUrl("http://[::1]:8080/x");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 8080);
  url = ParseHttpUrl("https://node-2.example:6333/collections");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "node-2.example");
  EXPECT_EQ(url->port, 6333);
  url = ParseHttpUrl("https://example.com");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 443);
  EXPECT_FALSE(ParseHttpUrl("http://example.com")->tls);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseHttpUrl("ftp://a:1/").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseHttpUrl("httpx://a:1/").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseHttpUrl("http://a:99999/").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseHttpUrl("http://:80/").status()));
}

TEST(HttpClientTest, ReusesKeepAliveConnection) {
  TestServer server(Echo);
  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    auto res = client.Send("POST", "127.0.0.1", server.port(), "/echo", "n" + std::to_string(i));
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "/echo|n" + std::to_string(i));
  }
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(client.idle_connections(), 1u);
}

TEST(HttpClientTest, RetriesWhenServerClosedIdleConnection) {
  TestServer server([](const std::string& target, const std::string& body) {
    TestServer::Reply reply = Echo(target, body);
    reply.close_after = true;  // keep-alive promised, then closed: the pooled connection goes stale
    return reply;
  });
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    auto res = client.Send("GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/a");
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->body, "/a|");
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(server.accepted(), 3);
}

TEST(HttpClientTest, ConcurrentRequests) {
  TestServer server(Echo);
  HttpClient client(HttpClientOptions{.max_idle_per_host = 4});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto res = client.Send("POST", "127.0.0.1", server.port(), "/c", body);
        if (res.ok() && res->body == "/c|" + body) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_LE(client.connections_opened(), 4u);
}

TEST(HttpClientTest, TimeoutIsDeadlineExceeded) {
  TestServer server([](const std::string& target, const std::string& body) {
    TestServer::Reply reply = Echo(target, body);
    reply.delay = 1500ms;
    return reply;
  });
  HttpClient client;
  auto start = std::chrono::steady_clock::now();
  auto res = client.Send("GET", "127.0.0.1", server.port(), "/slow", "", {}, 200ms);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(absl::IsDeadlineExceeded(res.status())) << res.status();
  EXPECT_LT(elapsed, 1000ms);
}

TEST(HttpClientTest, AbandonEndsAWaitForAnAnswerEarly) {
  TestServer server([](const std::string& target, const std::string& body) {
    TestServer::Reply reply = Echo(target, body);
    reply.delay = 3000ms;  // a paused peer: the request is accepted, nothing answers
    return reply;
  });
  HttpClient client;
  const auto start = std::chrono::steady_clock::now();
  auto abandon = [&] { return std::chrono::steady_clock::now() - start > 300ms; };
  auto res = client.Send("GET", "127.0.0.1", server.port(), "/slow", "", {}, 10s, abandon);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(absl::IsUnavailable(res.status())) << res.status();
  EXPECT_LT(elapsed, 1500ms);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  HttpClient client;
  uint16_t port = EtcdTestServer::PickFreePort();
  auto res = client.Send("GET", "127.0.0.1", port, "/");
  EXPECT_TRUE(absl::IsUnavailable(res.status())) << res.status();
  EXPECT_THAT(std::string(res.status().message()), HasSubstr(std::to_string(port)));
}

TEST(HttpClientTest, ResponseOverLimitIsResourceExhausted) {
  TestServer server([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.body = std::string(4096, 'x');
    return reply;
  });
  HttpClient client(HttpClientOptions{.max_response_bytes = 1024});
  auto res = client.Send("GET", "127.0.0.1", server.port(), "/big");
  EXPECT_TRUE(absl::IsResourceExhausted(res.status())) << res.status();
}

TEST(HttpClientTest, HeadersAndStatusPassThrough) {
  TestServer server([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.raw = "HTTP/1.1 404 Not Found\r\nX-Thing: yes\r\nContent-Length: 4\r\n\r\nnope";
    return reply;
  });
  HttpClient client;
  auto res = client.Send("GET", "127.0.0.1", server.port(), "/missing");
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, "nope");
  EXPECT_EQ(res->Header("x-thing"), "yes");
}

TEST(HttpClientTest, StreamDeliversChunkedLines) {
  TestServer server([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.close_after = true;
    reply.parts = {{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk("{\"a\":1}\n"), 0ms},
                   {Chunk("{\"b\":"), 50ms},
                   {Chunk("2}\n{\"c\":3}\n{\"d\""), 50ms},
                   {Chunk(":4}") + "0\r\n\r\n", 50ms}};
    return reply;
  });
  HttpClient client;
  std::atomic<bool> stop{false};
  std::vector<std::string> lines;
  Status s = client.Stream("http://127.0.0.1:" + std::to_string(server.port()) + "/watch", "{}",
                           [&](std::string_view line) {
                             lines.emplace_back(line);
                             return true;
                           },
                           stop);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_THAT(lines, ElementsAre("{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "{\"d\":4}"));
}

TEST(HttpClientTest, StreamStopsOnFlagAndOnCallback) {
  TestServer server([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.close_after = true;
    reply.parts = {{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk("one\ntwo\n"), 0ms},
                   {Chunk("three\n"), 5000ms}};
    return reply;
  });
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/s";
  HttpClient client;
  std::atomic<bool> stop{false};
  int seen = 0;
  // The callback ends the stream.
  Status s = client.Stream(url, "", [&](std::string_view) { return ++seen < 1; }, stop);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, 1);
  // The stop flag ends a stream that waits for data.
  seen = 0;
  auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    stop = true;
  });
  s = client.Stream(url, "", [&](std::string_view) { return ++seen > 0; }, stop);
  stopper.join();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2000ms);
}

TEST(HttpClientTest, StreamErrorStatusCarriesBody) {
  TestServer server([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.raw = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nbusy!";
    return reply;
  });
  HttpClient client;
  std::atomic<bool> stop{false};
  Status s = client.Stream("http://127.0.0.1:" + std::to_string(server.port()) + "/s", "",
                           [](std::string_view) { return true; }, stop);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("busy!"));
}

}  // namespace
}  // namespace vj

// The HTTP server's bounds: admission control of the worker queue, the connection limit, the body and
// response byte budgets, requests of clients that have gone, and /livez while every worker is busy.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/http_server.h"
#include "server/test_http_conn.h"
#include "server/worker_pool.h"

namespace vj {
namespace {

using ::testing::HasSubstr;

// Handlers for /block wait until Open(); others answer at once with a body of ?bytes=N bytes.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits (up to 10 s) until n handlers are blocked in Wait.
  bool AwaitWaiting(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

class AdmissionTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options) {
    options.port = 0;
    server_ = std::make_unique<HttpServer>(
        options,
        [this](const Request& r) {
          ++calls_;
          if (r.path == "/block") gate_.Wait();
          Response out;
          out.content_type = "text/plain";
          auto it = r.query.find("bytes");
          out.body = it == r.query.end() ? r.path : std::string(std::stoul(it->second), 'x');
          return out;
        },
        [] { return true; }, metrics_);
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->bound_port();
  }
  void TearDown() override {
    gate_.Open();
    if (server_) server_->Stop();
  }

  Metrics metrics_;
  Gate gate_;
  std::atomic<int> calls_{0};
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

TEST(WorkerPoolTest, RefusesPastTheQueueBoundAndRunsEverythingAccepted) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  WorkerPool pool(1, 2);
  std::promise<void> started;
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.set_value();
    released.wait();
    ++ran;
  }));
  started.get_future().wait();  // the one thread is busy: the next two queue, the third is refused
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_EQ(pool.queued(), 2u);
  release.set_value();
  pool.Join();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));
}

TEST_F(AdmissionTest, FullQueueAnswers503WithRetryAfterAndQueuedWorkStillRuns) {
  HttpServerOptions options;
  options.threads = 2;
  options.worker_threads = 1;
  options.max_queued_requests = 1;
  Start(options);
  Conn running(port_), queued(port_), refused(port_);
  ASSERT_TRUE(running.Send("GET /block HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(gate_.AwaitWaiting(1));
  ASSERT_TRUE(queued.Send("GET /queued HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  for (int i = 0; i < 500 && metrics_.Render().find("vjvector_http_queued_requests 1") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Conn probe(port_);
  std::optional<HttpReply> reply = probe.Do("GET", "/other");
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->status, 503);
  EXPECT_EQ(reply->headers["retry-after"], "1");
  EXPECT_THAT(reply->body, HasSubstr("waiting for a worker"));
  gate_.Open();
  auto first = running.Read();
  auto second = queued.Read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "/queued");
  EXPECT_THAT(metrics_.Render(), HasSubstr("vjvector_http_refused_total{reason=\"queue_full\"}"));
}

TEST_F(AdmissionTest, LivezAnswersWhileEveryWorkerAndInlineSlotIsBusy) {
  HttpServerOptions options;
  options.threads = 2;
  options.worker_threads = 1;
  options.run_inline = [](const Request&) { return true; };
  Start(options);
  // One handler takes the only inline slot (threads - 1), the next the only worker.
  Conn a(port_), b(port_);
  ASSERT_TRUE(a.Send("GET /block HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(gate_.AwaitWaiting(1));
  ASSERT_TRUE(b.Send("GET /block HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(gate_.AwaitWaiting(2));
  for (int i = 0; i < 5; ++i) {
    Conn health(port_);
    auto livez = health.Do("GET", "/livez");
    ASSERT_TRUE(livez.has_value()) << "/livez got no answer while handlers were busy";
    EXPECT_EQ(livez->status, 200);
  }
  gate_.Open();
  EXPECT_TRUE(a.Read().has_value());
  EXPECT_TRUE(b.Read().has_value());
}

TEST_F(AdmissionTest, QueuedRequestOfAClientThatLeftIsNotRun) {
  HttpServerOptions options;
  options.threads = 2;
  options.worker_threads = 1;
  Start(options);
  Conn running(port_);
  ASSERT_TRUE(running.Send("GET /block HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(gate_.AwaitWaiting(1));
  {
    // Sends a request and leaves (FIN after the request): the request is still read and queued behind
    // the blocked one.
    Conn gone(port_);
    ASSERT_TRUE(gone.Send("GET /abandoned HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  }
  gate_.Open();
  ASSERT_TRUE(running.Read().has_value());
  // The pool runs the queued task next; it must see the hang-up and skip the handler.
  for (int i = 0; i < 200 && metrics_.Render().find("client_gone") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(metrics_.Render(), HasSubstr("vjvector_http_refused_total{reason=\"client_gone\"} 1"));
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(AdmissionTest, ConnectionsOverTheLimitGet503AndClose) {
  HttpServerOptions options;
  options.threads = 2;
  options.max_connections = 2;
  Start(options);
  Conn a(port_), b(port_);
  ASSERT_TRUE(a.Do("GET", "/a").has_value());  // both are registered once they were served
  ASSERT_TRUE(b.Do("GET", "/b").has_value());
  Conn health(port_);  // health checks are answered on a connection over the limit
  auto livez = health.Do("GET", "/livez");
  ASSERT_TRUE(livez.has_value());
  EXPECT_EQ(livez->status, 200);
  EXPECT_TRUE(health.ClosedByPeer());
  Conn c(port_);
  auto refused = c.Do("GET", "/c");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->headers["retry-after"], "1");
  EXPECT_THAT(refused->body, HasSubstr("open connections"));
  EXPECT_TRUE(c.ClosedByPeer());
  a.Close();
  // Once a slot is free, a new connection is served.
  std::optional<HttpReply> served;
  for (int i = 0; i < 100; ++i) {
    Conn d(port_);
    served = d.Do("GET", "/d");
    if (served && served->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(served->status, 200);
}

TEST_F(AdmissionTest, BodiesOverTheBufferBudgetGet503BeforeTheyAreRead) {
  HttpServerOptions options;
  options.threads = 2;
  options.max_body_bytes = 1 << 20;
  options.max_buffered_body_bytes = 1 << 20;
  Start(options);
  // A client that announces 800 KB and sends only part of it holds 800 KB of the 1 MB budget.
  Conn slow(port_);
  ASSERT_TRUE(slow.Send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        "Content-Length: 819200\r\n\r\n" + std::string(1000, ' ')));
  std::optional<HttpReply> reply;
  for (int i = 0; i < 100; ++i) {
    Conn other(port_);
    reply = other.Do("POST", "/upload", std::string(400 * 1024, ' '));
    ASSERT_TRUE(reply.has_value());
    if (reply->status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the first header not read yet
  }
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(reply->headers["retry-after"], "1");
  EXPECT_THAT(reply->body, HasSubstr("request bodies"));
  // A body that fits next to the first is served.
  Conn small(port_);
  auto ok = small.Do("POST", "/upload", std::string(100 * 1024, ' '));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  // When the first client goes away its bytes return to the budget.
  slow.Close();
  for (int i = 0; i < 100; ++i) {
    Conn again(port_);
    reply = again.Do("POST", "/upload", std::string(400 * 1024, ' '));
    if (reply && reply->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(reply->status, 200);
}

TEST_F(AdmissionTest, ResponsesOverThePendingBudgetGet503) {
  HttpServerOptions options;
  options.threads = 2;
  options.max_pending_response_bytes = 40 << 20;
  Start(options);
  // A client with a tiny receive window that does not read holds its 32 MB response in the server.
  Conn stalled(port_, 4096);
  ASSERT_TRUE(stalled.Send("GET /big?bytes=33554432 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  for (int i = 0; i < 500 && metrics_.Render().find("vjvector_http_pending_response_bytes 33554432") ==
                                 std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Conn other(port_);
  std::optional<HttpReply> reply = other.Do("GET", "/big?bytes=16777216");
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->status, 503) << "a 16 MB answer beside a stalled 32 MB one, limit 40 MB";
  EXPECT_THAT(reply->body, HasSubstr("responses being written"));
  Conn small(port_);
  auto ok = small.Do("GET", "/big?bytes=1048576");  // fits beside the stalled one
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body.size(), 1048576u);
}

}  // namespace
}  // namespace vj

// PeerProber against stand-in peers served by TestServer: one answers, one hangs as a paused process
// does (the kernel accepts the connection, nothing answers).
#include "cluster/peer_prober.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "cluster/test_http_server.h"

namespace vj {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string Url(const TestServer& server) { return "http://127.0.0.1:" + std::to_string(server.port()); }

// Polls `predicate` for up to `limit`.
template <class F>
bool Eventually(F predicate, std::chrono::milliseconds limit) {
  const auto give_up = Clock::now() + limit;
  while (Clock::now() < give_up) {
    if (predicate()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return predicate();
}

TEST(PeerProberTest, AHungPeerBecomesUnreachableWithinTheWindowAndAnAnsweringOneStays) {
  TestServer live([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.body = "ok";
    return reply;
  });
  TestServer hung([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.parts = {{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1h}};  // until the server stops
    return reply;
  });
  PeerProberOptions options;
  options.interval = 50ms;
  options.timeout = 200ms;
  options.window = 500ms;
  PeerProber prober(options);
  const auto start = Clock::now();
  prober.SetPeers({{"live", Url(live)}, {"hung", Url(hung)}});
  // A new peer counts as reachable at first.
  EXPECT_TRUE(prober.Reaches("hung"));
  EXPECT_TRUE(Eventually([&] { return !prober.Reaches("hung"); }, 2s));
  EXPECT_LT(Clock::now() - start, 3s);  // window + timeout, with room for a loaded machine
  EXPECT_TRUE(prober.Reaches("live"));
  EXPECT_EQ(prober.Reached(), std::vector<std::string>{"live"});
  EXPECT_EQ(prober.ReachesUrl(Url(hung)), std::optional<bool>(false));
  EXPECT_EQ(prober.ReachesUrl("http://127.0.0.1:1"), std::nullopt);
  EXPECT_FALSE(prober.Reaches("unknown"));

  // A peer dropped from the list is no longer reached, and dropping a hung one does not wait for it.
  const auto drop = Clock::now();
  prober.SetPeers({{"live", Url(live)}});
  EXPECT_LT(Clock::now() - drop, 1s);
  EXPECT_FALSE(prober.Reaches("hung"));
  std::this_thread::sleep_for(700ms);  // past the window: still reached thanks to its answers
  EXPECT_TRUE(prober.Reaches("live"));
}

// Each answer's x-vjvector-clock-ms gives the peer's clock offset, within half the probe's round trip: a
// peer whose clock is 5 minutes ahead reads +300000 ms; one whose answers carry no clock has none.
TEST(PeerProberTest, MeasuresEachPeersClockOffsetFromItsAnswers) {
  auto unix_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  TestServer ahead([&](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.raw = "HTTP/1.1 200 OK\r\nx-vjvector-clock-ms: " + std::to_string(unix_ms() + 300000) +
                "\r\nContent-Length: 2\r\n\r\nok";
    return reply;
  });
  TestServer plain([](const std::string&, const std::string&) {
    TestServer::Reply reply;
    reply.body = "ok";
    return reply;
  });
  PeerProberOptions options;
  options.interval = 50ms;
  PeerProber prober(options);
  prober.SetPeers({{"ahead", Url(ahead)}, {"plain", Url(plain)}});
  ASSERT_TRUE(Eventually([&] { return prober.ClockOffsetOfUrl(Url(ahead)).has_value(); }, 3s));
  const ClockOffset offset = *prober.ClockOffsetOfUrl(Url(ahead));
  EXPECT_GE(offset.error_ms, 1);
  EXPECT_LE(offset.error_ms, 1000);
  EXPECT_LE(std::abs(offset.offset_ms - 300000), offset.error_ms) << offset.offset_ms;
  EXPECT_TRUE(prober.Reaches("plain"));
  EXPECT_EQ(prober.ClockOffsetOfUrl(Url(plain)), std::nullopt);
  EXPECT_EQ(prober.ClockOffsetOfUrl("http://127.0.0.1:1"), std::nullopt);
}

}  // namespace
}  // namespace vj

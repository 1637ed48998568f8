#include "server/io_threads.h"

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "server/idle_cpu.h"

namespace vj {
namespace {

using namespace std::chrono_literals;

class IoThreadsTest : public ::testing::TestWithParam<int> {
 protected:
  std::chrono::microseconds busy_poll() const { return std::chrono::microseconds(GetParam()); }
};

TEST_P(IoThreadsTest, RunPostedWorkAndEndWhenOutOfWork) {
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  IoThreads threads(ioc, 2, busy_poll());
  threads.Start();
  for (int i = 0; i < 200; ++i) {
    std::promise<std::thread::id> ran_on;
    boost::asio::post(ioc, [&] { ran_on.set_value(std::this_thread::get_id()); });
    auto future = ran_on.get_future();
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
    EXPECT_NE(future.get(), std::this_thread::get_id());
  }
  // A pending timer keeps them running; once out of work, the threads end by themselves.
  boost::asio::steady_timer timer(ioc, 50ms);
  std::atomic<bool> fired{false};
  timer.async_wait([&](auto) { fired = true; });
  work.reset();
  threads.Join();
  EXPECT_TRUE(fired.load());
}

TEST_P(IoThreadsTest, IdleThreadsDoNotSpin) {
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  IoThreads threads(ioc, 2, busy_poll());
  threads.Start();
  std::promise<void> done;
  boost::asio::post(ioc, [&] { done.set_value(); });
  done.get_future().wait();
  // Two spinning threads would burn ~0.6 s of CPU in these 300 ms; sleeping ones next to nothing.
  EXPECT_LT(IdleCpuSeconds(30ms, 300ms), 0.1);
  ioc.stop();
  threads.Join();
}

TEST_P(IoThreadsTest, StopEndsThreadsWithWorkPending) {
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  IoThreads threads(ioc, 2, busy_poll());
  threads.Start();
  boost::asio::steady_timer timer(ioc, 1h);
  timer.async_wait([](auto) {});
  std::this_thread::sleep_for(5ms);
  const auto start = std::chrono::steady_clock::now();
  ioc.stop();
  threads.Join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

INSTANTIATE_TEST_SUITE_P(BusyPoll, IoThreadsTest, ::testing::Values(0, 200, 10000));

}  // namespace
}  // namespace vj

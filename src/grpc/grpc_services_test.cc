#include "grpc/grpc_services.h"

#include <chrono>

#include <gtest/gtest.h>

namespace vj {
namespace {

using Clock = std::chrono::system_clock;
using std::chrono::milliseconds;

TEST(CallTimeoutSecondsTest, TheNearerOfTheFieldAndTheClientDeadlineWins) {
  const Clock::time_point now = Clock::now();
  const Clock::time_point none = Clock::time_point::max();
  EXPECT_EQ(CallTimeoutSeconds(std::nullopt, none, now), std::nullopt);
  EXPECT_DOUBLE_EQ(*CallTimeoutSeconds(30, none, now), 30.0);
  EXPECT_NEAR(*CallTimeoutSeconds(std::nullopt, now + milliseconds(250), now), 0.25, 1e-9);
  EXPECT_NEAR(*CallTimeoutSeconds(30, now + milliseconds(250), now), 0.25, 1e-9);  // the deadline is nearer
  EXPECT_DOUBLE_EQ(*CallTimeoutSeconds(1, now + milliseconds(5000), now), 1.0);   // the field is nearer
  EXPECT_DOUBLE_EQ(*CallTimeoutSeconds(30, now - milliseconds(10), now), 0.0);    // already past
}

}  // namespace
}  // namespace vj

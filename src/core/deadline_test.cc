#include "core/deadline.h"

#include <limits>
#include <thread>

#include <gtest/gtest.h>

namespace vj {
namespace {

TEST(DeadlineTest, DefaultNeverExpires) {
  Deadline d;
  EXPECT_FALSE(d.is_set());
  EXPECT_FALSE(d.Expired());
  EXPECT_TRUE(d.Check("Search").ok());
  DeadlineTicker ticker(d);
  for (int i = 0; i < 10000; ++i) ASSERT_FALSE(ticker.Expired());
}

TEST(DeadlineTest, HugeOrNonFiniteTimeoutsNeverExpireInsteadOfOverflowing) {
  for (double seconds : {1e19, 1e300, std::numeric_limits<double>::infinity(),
                         std::numeric_limits<double>::quiet_NaN()}) {
    Deadline d = Deadline::After(std::chrono::duration<double>(seconds));
    EXPECT_FALSE(d.is_set()) << seconds;
    EXPECT_FALSE(d.Expired()) << seconds;
  }
}

TEST(DeadlineTest, ExpiredDeadlineGivesQdrantsTimeoutError) {
  Deadline d = Deadline::After(std::chrono::duration<double>(0));
  EXPECT_TRUE(d.Expired());
  Status st = d.Check("Search");
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusMessage(st), "Timeout error: Operation 'Search' timed out after 0 seconds");
  EXPECT_TRUE(IsRequestTimeout(st));
  EXPECT_FALSE(IsRequestTimeout(absl::DeadlineExceededError("replica did not answer")));
}

TEST(DeadlineTest, FractionalSecondsInMessage) {
  Deadline d = Deadline::After(std::chrono::duration<double>(0.05));
  EXPECT_EQ(StatusMessage(d.TimeoutError("Scroll")),
            "Timeout error: Operation 'Scroll' timed out after 0.05 seconds");
}

TEST(DeadlineTest, FutureDeadlineHasTimeLeft) {
  Deadline d = Deadline::After(std::chrono::hours(1));
  EXPECT_TRUE(d.is_set());
  EXPECT_FALSE(d.Expired());
  EXPECT_TRUE(d.Check("Count").ok());
}

TEST(DeadlineTest, TickerNoticesExpiryWithinOneTick) {
  Deadline d = Deadline::After(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  DeadlineTicker ticker(d);
  size_t steps = 0;
  while (!ticker.Expired()) ++steps;
  EXPECT_LT(steps, DeadlineTicker::kTickEvery);
  EXPECT_TRUE(ticker.expired());
  EXPECT_TRUE(ticker.Expired());  // stays expired
}

}  // namespace
}  // namespace vj

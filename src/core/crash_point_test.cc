#include "core/crash_point.h"

#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>

namespace vj {
namespace {

TEST(ParseCrashPoints, ReadsNamesAndProbabilities) {
  auto points = ParseCrashPoints(" flush:0.25, election:1 ,,compaction:0");
  ASSERT_TRUE(points.ok()) << points.status();
  EXPECT_EQ(*points, (std::map<std::string, double>{{"flush", 0.25}, {"election", 1.0}, {"compaction", 0.0}}));
  auto empty = ParseCrashPoints("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ParseCrashPoints, RefusesWhatItCannotRead) {
  for (const char* spec : {"flush", "flush:", "flush:x", "flush:1.5", "flush:-0.1", "flush:nan",
                           "flsh:0.5", "flush:0.5,flush:0.1", ":0.5", "flush:0.5:1"}) {
    auto points = ParseCrashPoints(spec);
    EXPECT_TRUE(absl::IsInvalidArgument(points.status())) << spec;
  }
  // The message names the item and the known points.
  auto typo = ParseCrashPoints("flush:0.1,elction:1");
  EXPECT_NE(std::string(typo.status().message()).find("\"elction:1\""), std::string::npos) << typo.status();
  EXPECT_NE(std::string(typo.status().message()).find("replica_snapshot"), std::string::npos) << typo.status();
}

TEST(ParseDelayPoints, ReadsWholeMillisecondsOfKnownPoints) {
  auto points = ParseDelayPoints("open_replica: 2500");
  ASSERT_TRUE(points.ok()) << points.status();
  EXPECT_EQ(*points, (std::map<std::string, double>{{"open_replica", 2500.0}}));
  for (const char* spec : {"open_replica", "open_replica:-1", "open_replica:1.5", "open_replica:3600001",
                           "flush:10", "open_replica:1,open_replica:2"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseDelayPoints(spec).status())) << spec;
  }
}

TEST(CrashPointDeathTest, AnArmedPointKillsTheProcessWithSigkill) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv(kCrashPointsEnvVar, "flush:0,election:1", 1);
        if (!InitCrashPoints().ok()) ::_exit(3);
        VJ_CRASH_POINT("flush");       // probability 0: passes
        VJ_CRASH_POINT("compaction");  // not listed: passes
        VJ_CRASH_POINT("election");
        ::_exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "crash point election: raising SIGKILL");
}

TEST(CrashPoint, UnarmedPointsPass) {
  VJ_CRASH_POINT("flush");
  VJ_CRASH_POINT("election");
  SUCCEED();
}

TEST(CrashPoint, BadSeedIsRefused) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv(kCrashPointsEnvVar, "flush:1", 1);
        ::setenv(kCrashSeedEnvVar, "seven", 1);
        auto armed = InitCrashPoints();
        VJ_CRASH_POINT("flush");  // refused spec: nothing armed
        ::_exit(absl::IsInvalidArgument(armed.status()) ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace vj

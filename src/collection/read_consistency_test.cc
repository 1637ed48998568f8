#include "collection/read_consistency.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

using Level = ReadConsistency::Level;

TEST(ReadConsistencyTest, ParsesQdrantValuesAndPrimary) {
  EXPECT_EQ(*ParseReadConsistency("1", "consistency"), ReadConsistency{});
  EXPECT_EQ(*ParseReadConsistency("3", "consistency"), (ReadConsistency{Level::kFactor, 3}));
  EXPECT_EQ(*ParseReadConsistency("007", "consistency"), (ReadConsistency{Level::kFactor, 7}));
  EXPECT_EQ(ParseReadConsistency("majority", "consistency")->level, Level::kMajority);
  EXPECT_EQ(ParseReadConsistency("quorum", "consistency")->level, Level::kQuorum);
  EXPECT_EQ(ParseReadConsistency("all", "consistency")->level, Level::kAll);
  EXPECT_EQ(*ParseReadConsistency("primary", "consistency"), ReadConsistency::Primary());
  // Larger factors mean every replica; they are kept as kMaxFactor.
  EXPECT_EQ(ParseReadConsistency("18446744073709551615", "consistency")->factor, ReadConsistency::kMaxFactor);
  for (const char* v : {"3", "majority", "quorum", "all", "primary"}) {
    EXPECT_EQ(ParseReadConsistency(v, "consistency")->ToString(), v);
  }
}

TEST(ReadConsistencyTest, RefusesAnythingElseNamingTheParameter) {
  for (const char* v : {"0", "-1", "", " 2", "2 ", "+2", "1.5", "0x2", "ALL", "Majority", "most", "2all",
                        "18446744073709551616", "99999999999999999999999", "all\n"}) {
    auto parsed = ParseReadConsistency(v, "consistency");
    ASSERT_FALSE(parsed.ok()) << v;
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << v;
    EXPECT_NE(parsed.status().message().find("query parameter consistency"), std::string::npos)
        << parsed.status().message();
  }
  // A long value is cut in the message.
  auto parsed = ParseReadConsistency(std::string(10000, 'x'), "read_consistency");
  EXPECT_LT(parsed.status().message().size(), 250u);
  EXPECT_NE(parsed.status().message().find("read_consistency"), std::string::npos);
}

TEST(ReadConsistencyTest, RequiredReplicas) {
  const ReadConsistency one{}, two{Level::kFactor, 2}, many{Level::kFactor, 64};
  const ReadConsistency majority{Level::kMajority, 1}, quorum{Level::kQuorum, 1}, all{Level::kAll, 1};
  EXPECT_EQ(one.Required(3), 1u);
  EXPECT_EQ(two.Required(3), 2u);
  EXPECT_EQ(two.Required(1), 1u);
  EXPECT_EQ(many.Required(3), 3u);  // capped at the replica count, as Qdrant does
  EXPECT_EQ(majority.Required(1), 1u);
  EXPECT_EQ(majority.Required(2), 2u);
  EXPECT_EQ(majority.Required(3), 2u);
  EXPECT_EQ(majority.Required(4), 3u);
  EXPECT_EQ(quorum.Required(5), 3u);
  EXPECT_EQ(all.Required(3), 3u);
  EXPECT_EQ(all.Required(0), 1u);
  EXPECT_EQ(ReadConsistency::Primary().Required(3), 1u);
}

TEST(ReplicaPositionTest, OrdersByTermThenSequenceAndRoundTrips) {
  EXPECT_LT((ReplicaPosition{1, 900}), (ReplicaPosition{2, 5}));
  EXPECT_LT((ReplicaPosition{2, 5}), (ReplicaPosition{2, 6}));
  const ReplicaPosition p{7, 18446744073709551615ull};
  EXPECT_EQ(*ParseReplicaPosition(p.ToString()), p);
  for (const char* bad : {"", "1", "1:", ":1", "a:1", "1:2:3", "-1:2", "1:18446744073709551616", " 1:2"}) {
    EXPECT_FALSE(ParseReplicaPosition(bad).ok()) << bad;
  }
}

TEST(ReplicaPositionTest, AnAnswerIsKeptOnlyWhenTheReplicaHistoryHeld) {
  EXPECT_TRUE(CheckPositionHeld({3, 10}, {3, 10}, "r").ok());
  EXPECT_TRUE(CheckPositionHeld({3, 10}, {3, 12}, "r").ok());
  EXPECT_TRUE(absl::IsUnavailable(CheckPositionHeld({3, 10}, {4, 12}, "r")));  // a new term's entries
  EXPECT_TRUE(absl::IsUnavailable(CheckPositionHeld({3, 10}, {3, 2}, "r")));   // a snapshot load reset it
}

}  // namespace
}  // namespace vj

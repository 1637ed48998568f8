#include "collection/shard_state.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

// A shard's in-memory state with `n` points whose payload "group" is id % 10 (no store, no vectors:
// MatchingIds reads only ids and payloads).
void Fill(ShardState& s, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    const PointId id = PointId::Num(i);
    s.internal_of[id] = i;
    s.external_of.push_back(id);
    Payload payload;
    payload["group"] = static_cast<int64_t>(i % 10);
    s.payloads.push_back(std::move(payload));
    s.live.add(i);
  }
}

Filter GroupIsNot(int64_t group) {
  Filter filter;
  FieldCondition c;
  c.key = "group";
  c.path = *ParsePayloadPath("group");
  c.match = MatchCondition{MatchCondition::Kind::kValue, {MatchValue(group)}, ""};
  filter.must_not.push_back(c);
  return filter;
}

// The scan that evaluates a filter point by point stops within one tick once the deadline has passed,
// however many points are left; a deadline that does not fire changes nothing.
TEST(ShardStateTest, DeadlineStopsTheFilterScanWithinOneTick) {
  ShardState s;
  Fill(s, 100000);
  const Filter filter = GroupIsNot(3);

  const Deadline expired = Deadline::After(std::chrono::duration<double>(0));
  DeadlineTicker stopped(expired);
  const roaring::Roaring partial = s.MatchingIds(filter, &stopped);
  EXPECT_TRUE(stopped.expired());
  EXPECT_LT(partial.cardinality(), DeadlineTicker::kTickEvery);

  const Deadline roomy = Deadline::After(std::chrono::hours(1));
  DeadlineTicker running(roomy);
  EXPECT_EQ(s.MatchingIds(filter, &running).cardinality(), 90000u);
  EXPECT_FALSE(running.expired());
  EXPECT_EQ(s.MatchingIds(filter).cardinality(), 90000u);
}

}  // namespace
}  // namespace vj

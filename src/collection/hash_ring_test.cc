#include "collection/hash_ring.h"

#include <gtest/gtest.h>

#include <vector>

namespace vj {
namespace {

TEST(HashRingTest, SpreadsPointsEvenly) {
  HashRing ring(4);
  std::vector<int> counts(4, 0);
  for (uint64_t i = 0; i < 40000; ++i) ++counts[ring.ShardOf(PointId::Num(i))];
  for (int c : counts) {
    EXPECT_GT(c, 10000 * 0.75);
    EXPECT_LT(c, 10000 * 1.25);
  }
}

TEST(HashRingTest, IsDeterministicAndCoversUuids) {
  HashRing a(3), b(3);
  auto uuid = *PointId::ParseUuid("550e8400-e29b-41d4-a716-446655440000");
  EXPECT_EQ(a.ShardOf(uuid), b.ShardOf(uuid));
  for (uint64_t i = 0; i < 1000; ++i) EXPECT_EQ(a.ShardOf(PointId::Num(i)), b.ShardOf(PointId::Num(i)));
}

TEST(HashRingTest, AddingAShardMovesOnlyItsShare) {
  HashRing before(4), after(5);
  const uint64_t n = 50000;
  uint64_t moved = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t from = before.ShardOf(PointId::Num(i));
    uint32_t to = after.ShardOf(PointId::Num(i));
    if (from != to) {
      ++moved;
      EXPECT_EQ(to, 4u) << "a point may only move to the new shard";
    }
  }
  // Ideal share is 1/5 of the points; virtual nodes keep it close.
  EXPECT_GT(moved, n * 0.12);
  EXPECT_LT(moved, n * 0.28);
}

TEST(HashRingTest, OneShardTakesEverything) {
  HashRing ring(1);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(ring.ShardOf(PointId::Num(i)), 0u);
}

}  // namespace
}  // namespace vj

#include "cluster/shard_map.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "cluster/replication.h"

namespace vj {
namespace {

TEST(PlaceShardsTest, ReplicasOnDistinctNodesSpreadEvenly) {
  const std::vector<std::string> nodes{"a", "b", "c", "d"};
  for (uint32_t rf = 1; rf <= 4; ++rf) {
    auto placed = PlaceShards(nodes, 8, rf, "collection");
    ASSERT_TRUE(placed.ok()) << placed.status();
    ASSERT_EQ(placed->size(), 8u);
    std::map<std::string, int> load, primaries;
    for (const ShardPlacement& p : *placed) {
      EXPECT_EQ(p.replicas.size(), rf);
      EXPECT_EQ(std::set<std::string>(p.replicas.begin(), p.replicas.end()).size(), rf);
      EXPECT_TRUE(p.Holds(p.primary));
      EXPECT_EQ(p.term, 1u);
      for (const std::string& r : p.replicas) ++load[r];
      ++primaries[p.primary];
    }
    for (const std::string& n : nodes) {
      EXPECT_EQ(load[n], static_cast<int>(2 * rf)) << n;
      EXPECT_EQ(primaries[n], 2) << n;
    }
  }
}

TEST(PlaceShardsTest, NeedsAsManyNodesAsReplicas) {
  auto placed = PlaceShards({"a", "b"}, 1, 3, "c");
  EXPECT_TRUE(absl::IsInvalidArgument(placed.status()));
  EXPECT_NE(std::string(placed.status().message()).find("replication_factor 3"), std::string::npos);
}

TEST(ShardPlacementTest, JsonRoundTripAndMalformedInput) {
  ShardPlacement p{{"n1", "n2"}, "n2", 7, 1234};
  auto back = ParseShardPlacement(ShardPlacementToJson(p));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->replicas, p.replicas);
  EXPECT_EQ(back->primary, "n2");
  EXPECT_EQ(back->term, 7u);
  EXPECT_EQ(back->start_sequence, 1234u);
  for (const char* bad : {"", "[]", "{\"replicas\": [\"a\"]}", "{\"replicas\": 1, \"primary\": \"a\", \"term\": 1}",
                          "{\"replicas\": [\"a\"], \"primary\": \"a\", \"term\": -1}"}) {
    EXPECT_FALSE(ParseShardPlacement(bad).ok()) << bad;
  }
}

TEST(LogBatchTest, RoundTripAndHostileBytes) {
  std::vector<LoggedMutation> entries(3);
  entries[0].sequence = 41;
  entries[0].mutation.record.id = PointId::Num(5);
  entries[0].mutation.record.vectors[""] = {1.5f, -2.0f};
  entries[0].mutation.record.payload["k"] = "v";
  entries[1].sequence = 42;
  entries[1].mutation.kind = Mutation::Kind::kDelete;
  entries[1].mutation.record.id = PointId::Num(6);
  entries[2].sequence = 43;
  entries[2].mutation.record.id = PointId::Num(7);
  entries[2].mutation.record.sparse["text"] = SparseVector{{3, 70000}, {0.5f, -2.0f}};  // format version 2
  const std::string bytes = EncodeLogBatch(entries);
  auto back = DecodeLogBatch(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].sequence, 41u);
  EXPECT_EQ((*back)[0].mutation.record.vectors.at(""), std::vector<float>({1.5f, -2.0f}));
  EXPECT_EQ((*back)[1].mutation.kind, Mutation::Kind::kDelete);
  EXPECT_EQ((*back)[2].mutation.record.id, PointId::Num(7));
  EXPECT_EQ((*back)[2].mutation.record.sparse, entries[2].mutation.record.sparse);
  EXPECT_TRUE((*back)[0].mutation.record.sparse.empty());
  ASSERT_TRUE(DecodeLogBatch(EncodeLogBatch({})).ok());

  // Every truncation, a wrong header, trailing bytes and a flipped byte are refused, never a crash.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeLogBatch(bytes.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(DecodeLogBatch("XXXX" + bytes.substr(4)).ok());
  EXPECT_FALSE(DecodeLogBatch(bytes + "x").ok());
  for (size_t i = 8; i < bytes.size(); ++i) {
    std::string corrupt = bytes;
    corrupt[i] ^= 0x5a;
    (void)DecodeLogBatch(corrupt);  // may decode (a changed sequence number); must not crash
  }
  std::string huge = bytes.substr(0, 4) + std::string("\xff\xff\xff\xff", 4);
  EXPECT_FALSE(DecodeLogBatch(huge).ok());
}

}  // namespace
}  // namespace vj

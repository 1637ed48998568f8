// The replica side of replication on real shards (RocksDB in temporary directories): a replica that
// applies its primary's log ends up with the same points and sequence numbers; gaps are refused,
// repeats skipped; a diverged replica reloads a snapshot and continues from the log; an entry an older
// version wrote past today's limits does not stop a replica's catch-up.
#include <gtest/gtest.h>

#include <filesystem>

#include "collection/shard.h"
#include "core/payload_limits.h"
#include "core/test_dir.h"
#include "storage/raw_store_edit.h"

namespace vj {
namespace {

CollectionConfig Config() {
  CollectionConfig config;
  config.vectors[""] = VectorParams{3, Metric::kEuclid, std::nullopt, false, std::nullopt};
  return config;
}

PointInput Point(uint64_t id, float x, int64_t tag) {
  PointInput p;
  p.id = PointId::Num(id);
  p.vectors[""] = {x, x + 1, x + 2};
  p.payload["tag"] = tag;
  return p;
}

std::unique_ptr<Shard> OpenShard(const std::string& dir) {
  auto shard = Shard::Open("s", dir, Config(), CollectionOptions{});
  EXPECT_TRUE(shard.ok()) << shard.status();
  return shard.ok() ? std::move(*shard) : nullptr;
}

// Every point (id, tag, first vector component), in id order.
std::vector<std::tuple<uint64_t, int64_t, float>> Contents(const Shard& shard) {
  ScrollRequest all;
  all.limit = 100000;
  all.with_vector.all = true;
  auto result = shard.Scroll(all);
  EXPECT_TRUE(result.ok()) << result.status();
  std::vector<std::tuple<uint64_t, int64_t, float>> out;
  for (const PointView& v : result->points) {
    out.emplace_back(v.id.num(), v.payload->at("tag").as_int64(), v.vectors.at("")[0]);
  }
  return out;
}

std::vector<LoggedMutation> Log(const Shard& shard, uint64_t from) {
  std::vector<LoggedMutation> entries;
  EXPECT_TRUE(shard.ReadLog(from, 100000, &entries).ok());
  return entries;
}

TEST(ShardReplicationTest, ReplicaApplyingTheLogMatchesThePrimary) {
  TestDir primary_dir, replica_dir;
  auto primary = OpenShard(primary_dir.path());
  auto replica = OpenShard(replica_dir.path());
  ASSERT_TRUE(primary->Upsert({Point(1, 1, 10), Point(2, 2, 20), Point(3, 3, 30)}, true).ok());
  PointSelector two{{PointId::Num(2)}, std::nullopt};
  ASSERT_TRUE(primary->Delete(two, true).ok());
  ASSERT_TRUE(primary->UpdatePayload(PayloadUpdate::kSet, PointSelector{{PointId::Num(3)}, std::nullopt},
                                     Payload{{"tag", 31}}, {}, std::nullopt, true)
                  .ok());

  std::vector<LoggedMutation> entries = Log(*primary, 1);
  ASSERT_EQ(entries.size(), 5u);
  // In two parts, the second overlapping the first: repeats are skipped.
  ASSERT_TRUE(replica->ApplyLogged({entries.begin(), entries.begin() + 3}).ok());
  ASSERT_TRUE(replica->ApplyLogged({entries.begin() + 1, entries.end()}).ok());
  EXPECT_EQ(replica->last_sequence(), primary->last_sequence());
  EXPECT_EQ(Contents(*replica), Contents(*primary));
  EXPECT_EQ(Log(*replica, 1).size(), 5u);

  // A gap is refused and changes nothing.
  ASSERT_TRUE(primary->Upsert({Point(4, 4, 40)}, true).ok());
  ASSERT_TRUE(primary->Upsert({Point(5, 5, 50)}, true).ok());
  std::vector<LoggedMutation> later = Log(*primary, 7);
  Status gap = replica->ApplyLogged(later);
  EXPECT_TRUE(absl::IsFailedPrecondition(gap)) << gap;
  EXPECT_NE(std::string(gap.message()).find("expected log entry 6"), std::string::npos) << gap;
  EXPECT_EQ(replica->last_sequence(), 5u);
  ASSERT_TRUE(replica->ApplyLogged(Log(*primary, 6)).ok());
  EXPECT_EQ(Contents(*replica), Contents(*primary));
}

TEST(ShardReplicationTest, DivergedReplicaReloadsASnapshotThenFollowsTheLog) {
  TestDir primary_dir, replica_dir;
  auto primary = OpenShard(primary_dir.path());
  auto replica = OpenShard(replica_dir.path());
  for (uint64_t i = 1; i <= 20; ++i) ASSERT_TRUE(primary->Upsert({Point(i, i, 1)}, true).ok());
  // The replica holds writes its primary never had (an old primary's unacknowledged tail): the same
  // ids with other vectors, up to sequence 32.
  for (uint64_t i = 1; i <= 32; ++i) ASSERT_TRUE(replica->Upsert({Point(i, 100 + i, 9)}, true).ok());
  ASSERT_EQ(replica->last_sequence(), 32u);
  // Closing saves an index snapshot stamped with sequence 32, which the replica reaches again below with
  // the same ids: loading it would bring the old vectors back.
  replica.reset();
  replica = OpenShard(replica_dir.path());

  const uint64_t at = primary->last_sequence();
  ASSERT_TRUE(replica->DeleteAllPoints().ok());
  std::vector<Mutation> page;
  ASSERT_TRUE(primary
                  ->ForEachPoint([&](PointRecord&& r) {
                    page.push_back(Mutation{Mutation::Kind::kUpsert, std::move(r)});
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(replica->ApplyMutations(std::move(page)).ok());
  ASSERT_TRUE(std::filesystem::exists(replica_dir.path() + "/index"));
  ASSERT_TRUE(replica->ResetSequence(at).ok());
  EXPECT_EQ(replica->last_sequence(), at);
  // A crash from here on must not load the old index snapshot when the sequence reaches 32 again.
  EXPECT_FALSE(std::filesystem::exists(replica_dir.path() + "/index"));
  EXPECT_EQ(Contents(*replica), Contents(*primary));
  std::vector<LoggedMutation> none;
  EXPECT_TRUE(absl::IsOutOfRange(replica->ReadLog(1, 10, &none)));  // the old log is gone

  for (uint64_t i = 21; i <= 32; ++i) ASSERT_TRUE(primary->Upsert({Point(i, i, 2)}, true).ok());
  ASSERT_TRUE(replica->ApplyLogged(Log(*primary, at + 1)).ok());
  EXPECT_EQ(replica->last_sequence(), 32u);

  // All of it survives a restart, and the index snapshot of the old contents is not reused.
  replica.reset();
  replica = OpenShard(replica_dir.path());
  EXPECT_EQ(replica->last_sequence(), primary->last_sequence());
  EXPECT_EQ(Contents(*replica), Contents(*primary));
  QueryRequest q;
  q.vector = {101, 102, 103};
  q.limit = 1;
  q.with_vector.all = true;
  auto nearest = replica->Query(q);
  ASSERT_TRUE(nearest.ok());
  ASSERT_EQ(nearest->size(), 1u);
  EXPECT_EQ(nearest->at(0).id.num(), 32u);  // not point 1 at its old place (101, 102, 103)
  EXPECT_EQ(nearest->at(0).vectors.at("")[0], 32.0f);
}

// An older version stored set_payload results nested past the decoder's depth limit (a key of 1,030
// dot-separated segments), in the point record and in the log. The primary then starts (the record is
// quarantined), but every replica reading the log from before that entry failed on it, for good.
TEST(ShardReplicationTest, ReplicaCatchesUpThroughALogEntryAnOlderVersionWrotePastTheLimits) {
  TestDir primary_dir, replica_dir;
  auto primary = OpenShard(primary_dir.path());
  ASSERT_TRUE(primary->Upsert({Point(1, 1, 10), Point(2, 2, 20), Point(3, 3, 30)}, true).ok());
  ASSERT_TRUE(primary->Upsert({Point(4, 4, 40)}, true).ok());
  ASSERT_EQ(primary->last_sequence(), 4u);
  primary.reset();

  PointRecord deep;
  deep.id = PointId::Num(2);
  deep.vectors[""] = {2, 3, 4};
  boost::json::object* at = &deep.payload;
  for (size_t i = 0; i < kMaxPayloadDepth + 5; ++i) at = &(*at)["a"].emplace_object();
  const std::string store = primary_dir.path() + "/store";
  PutRawStoreEntry(store, "points", PointId::Num(2).Key(), EncodePointRecord(deep));
  PutRawStoreEntry(store, "log", LogEntryKey(2), EncodeMutation(Mutation{Mutation::Kind::kUpsert, deep}));
  ForgetLogCheck(store);

  primary = OpenShard(primary_dir.path());
  ASSERT_NE(primary, nullptr);
  EXPECT_EQ(primary->quarantined_records(), 2u);  // the point record and the log entry
  std::vector<LoggedMutation> entries;
  Status read = primary->ReadLog(1, 100, &entries);
  ASSERT_TRUE(read.ok()) << read;
  ASSERT_EQ(entries.size(), 4u);

  auto replica = OpenShard(replica_dir.path());
  ASSERT_TRUE(replica->ApplyLogged(entries).ok());
  EXPECT_EQ(replica->last_sequence(), primary->last_sequence());
  const std::vector<std::tuple<uint64_t, int64_t, float>> want = {{1, 10, 1.0f}, {3, 30, 3.0f}, {4, 40, 4.0f}};
  EXPECT_EQ(Contents(*primary), want);
  EXPECT_EQ(Contents(*replica), want);

  // Point 2 can be written again, and the replica follows.
  ASSERT_TRUE(primary->Upsert({Point(2, 2, 21)}, true).ok());
  ASSERT_TRUE(replica->ApplyLogged(Log(*primary, 5)).ok());
  EXPECT_EQ(Contents(*replica), Contents(*primary));
}

}  // namespace
}  // namespace vj

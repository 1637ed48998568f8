// Shard::UpdateVectors and DeleteVectors: what searches and reads see afterwards, what the log holds,
// what survives a reopen, and that refused edits change nothing.
#include <gtest/gtest.h>

#include <algorithm>

#include "collection/collection.h"
#include "collection/shard.h"
#include "core/test_dir.h"

namespace vj {
namespace {

// "a": 2 dims Euclid, "b": 2 dims Euclid; point i has a = (i, 0), b = (0, i).
CollectionConfig TwoVectors() {
  CollectionConfig config;
  config.vectors["a"] = VectorParams{2, Metric::kEuclid, std::nullopt, false, std::nullopt};
  config.vectors["b"] = VectorParams{2, Metric::kEuclid, std::nullopt, false, std::nullopt};
  return config;
}

std::vector<PointInput> Points(size_t n) {
  std::vector<PointInput> points(n);
  for (size_t i = 0; i < n; ++i) {
    points[i].id = PointId::Num(i + 1);
    points[i].vectors["a"] = {static_cast<float>(i + 1), 0};
    points[i].vectors["b"] = {0, static_cast<float>(i + 1)};
    points[i].payload["i"] = static_cast<int64_t>(i + 1);
  }
  return points;
}

std::vector<uint64_t> Nearest(const ShardAccess& shard, const std::string& name, std::vector<float> q, size_t k,
                              bool exact) {
  QueryRequest request;
  request.using_vector = name;
  request.vector = std::move(q);
  request.limit = k;
  request.exact = exact;
  auto found = shard.Query(request);
  EXPECT_TRUE(found.ok()) << found.status();
  std::vector<uint64_t> ids;
  if (found.ok()) {
    for (const PointView& v : *found) ids.push_back(v.id.num());
  }
  return ids;
}

PointView Get(const ShardAccess& shard, uint64_t id) {
  auto got = shard.Retrieve({PointId::Num(id)}, {PayloadSelector::Mode::kAll, {}}, {true, {}});
  EXPECT_TRUE(got.ok() && got->size() == 1);
  return got.ok() && got->size() == 1 ? (*got)[0] : PointView();
}

class ShardVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    shard_.reset();
    auto opened = Shard::Open("t", dir_.path(), TwoVectors(), CollectionOptions{});
    ASSERT_TRUE(opened.ok()) << opened.status();
    shard_ = std::move(*opened);
  }
  TestDir dir_;
  std::unique_ptr<Shard> shard_;
};

TEST_F(ShardVectorsTest, UpdateVectorsReplacesOnlyTheNamedVector) {
  ASSERT_TRUE(shard_->Upsert(Points(50), true).ok());
  const uint64_t before = shard_->last_sequence();
  PointInput update;
  update.id = PointId::Num(7);
  update.vectors["a"] = {1000, 0};
  ASSERT_TRUE(shard_->UpdateVectors({update}, true).ok());
  EXPECT_EQ(shard_->last_sequence(), before + 1);  // one log entry holding the whole new record
  for (bool exact : {true, false}) {
    EXPECT_EQ(Nearest(*shard_, "a", {1000, 0}, 1, exact), std::vector<uint64_t>{7});
    auto near_old = Nearest(*shard_, "a", {7, 0}, 3, exact);
    EXPECT_EQ(std::count(near_old.begin(), near_old.end(), 7u), 0);
    EXPECT_EQ(Nearest(*shard_, "b", {0, 7}, 1, exact), std::vector<uint64_t>{7});  // "b" kept
  }
  PointView p = Get(*shard_, 7);
  EXPECT_EQ(p.vectors.at("a"), (std::vector<float>{1000, 0}));
  EXPECT_EQ(p.vectors.at("b"), (std::vector<float>{0, 7}));
  EXPECT_EQ(p.payload->at("i").as_int64(), 7);
  EXPECT_EQ(shard_->Info().points_count, 50u);
  // The same id twice in one request: applied in turn, the later wins.
  PointInput again = update;
  again.vectors["a"] = {2000, 0};
  PointInput b_too = update;
  b_too.vectors.clear();
  b_too.vectors["b"] = {0, 2000};
  ASSERT_TRUE(shard_->UpdateVectors({update, again, b_too}, true).ok());
  p = Get(*shard_, 7);
  EXPECT_EQ(p.vectors.at("a"), (std::vector<float>{2000, 0}));
  EXPECT_EQ(p.vectors.at("b"), (std::vector<float>{0, 2000}));
}

TEST_F(ShardVectorsTest, RefusedUpdatesChangeNothing) {
  ASSERT_TRUE(shard_->Upsert(Points(5), true).ok());
  const uint64_t before = shard_->last_sequence();
  PointInput good;
  good.id = PointId::Num(1);
  good.vectors["a"] = {9, 9};
  PointInput missing = good;
  missing.id = PointId::Num(99);
  EXPECT_EQ(shard_->UpdateVectors({good, missing}, true).code(), absl::StatusCode::kNotFound);
  PointInput wrong_dim = good;
  wrong_dim.vectors["a"] = {1, 2, 3};
  EXPECT_EQ(shard_->UpdateVectors({good, wrong_dim}, true).code(), absl::StatusCode::kInvalidArgument);
  PointInput unknown = good;
  unknown.vectors = {{"c", {1, 2}}};
  EXPECT_EQ(shard_->UpdateVectors({unknown}, true).code(), absl::StatusCode::kInvalidArgument);
  PointInput none = good;
  none.vectors.clear();
  EXPECT_EQ(shard_->UpdateVectors({none}, true).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(shard_->DeleteVectors(PointSelector{{PointId::Num(1)}, std::nullopt}, {"c"}, true).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(shard_->DeleteVectors(PointSelector{{PointId::Num(1)}, std::nullopt}, {}, true).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(shard_->DeleteVectors(PointSelector{{PointId::Num(1), PointId::Num(99)}, std::nullopt}, {"a"}, true).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(shard_->last_sequence(), before);
  EXPECT_EQ(Get(*shard_, 1).vectors.at("a"), (std::vector<float>{1, 0}));
}

TEST_F(ShardVectorsTest, DeletedVectorIsSkippedBySearchAndSurvivesReopen) {
  ASSERT_TRUE(shard_->Upsert(Points(300), true).ok());
  std::vector<PointId> gone;
  for (uint64_t i = 1; i <= 300; i += 3) gone.push_back(PointId::Num(i));
  ASSERT_TRUE(shard_->DeleteVectors(PointSelector{gone, std::nullopt}, {"a"}, true).ok());
  const uint64_t after_delete = shard_->last_sequence();
  // Deleting what is already gone writes nothing.
  ASSERT_TRUE(shard_->DeleteVectors(PointSelector{gone, std::nullopt}, {"a"}, true).ok());
  EXPECT_EQ(shard_->last_sequence(), after_delete);
  for (int round = 0; round < 2; ++round) {
    for (bool exact : {true, false}) {
      auto ids = Nearest(*shard_, "a", {1, 0}, 300, exact);
      EXPECT_EQ(ids.size(), 200u) << "round " << round << " exact " << exact;
      for (uint64_t id : ids) EXPECT_NE(id % 3, 1u) << id;
      EXPECT_EQ(Nearest(*shard_, "b", {0, 1}, 300, exact).size(), 300u);
    }
    PointView p = Get(*shard_, 1);
    EXPECT_EQ(p.vectors.count("a"), 0u);
    EXPECT_EQ(p.vectors.count("b"), 1u);
    EXPECT_EQ(shard_->Info().points_count, 300u);
    Reopen();  // from the index snapshot
  }
  // Without the snapshot: rebuilt from the store.
  shard_.reset();
  std::filesystem::remove_all(dir_.path() + "/index");
  Reopen();
  EXPECT_FALSE(shard_->loaded_from_snapshot());
  EXPECT_EQ(Nearest(*shard_, "a", {1, 0}, 300, true).size(), 200u);
  EXPECT_EQ(Get(*shard_, 4).vectors.count("a"), 0u);
}

TEST_F(ShardVectorsTest, DeleteByFilterAndReplicaReplay) {
  ASSERT_TRUE(shard_->Upsert(Points(10), true).ok());
  Filter filter;
  FieldCondition c;
  c.key = "i";
  c.path = *ParsePayloadPath("i");
  c.range = RangeCondition{};
  c.range->gte = 6;
  filter.must.push_back(c);
  ASSERT_TRUE(shard_->DeleteVectors(PointSelector{{}, filter}, {"a", "b"}, true).ok());
  EXPECT_TRUE(Get(*shard_, 8).vectors.empty());
  EXPECT_EQ(Nearest(*shard_, "a", {0, 0}, 10, true).size(), 5u);
  // A replica applying the primary's log ends up with the same vectors.
  std::vector<LoggedMutation> log;
  ASSERT_TRUE(shard_->ReadLog(1, 1000, &log).ok());
  TestDir replica_dir;
  auto replica = Shard::Open("r", replica_dir.path(), TwoVectors(), CollectionOptions{});
  ASSERT_TRUE(replica.ok());
  ASSERT_TRUE((*replica)->ApplyLogged(std::move(log)).ok());
  EXPECT_TRUE(Get(**replica, 8).vectors.empty());
  EXPECT_EQ(Get(**replica, 3).vectors.size(), 2u);
  EXPECT_EQ(Nearest(**replica, "a", {0, 0}, 10, true).size(), 5u);
}

TEST_F(ShardVectorsTest, NewIndexSettingsRebuildTheIndexesAndKeepEveryVector) {
  ASSERT_TRUE(shard_->Upsert(Points(1500), true).ok());
  ASSERT_TRUE(shard_->DeleteVectors(PointSelector{{PointId::Num(3)}, std::nullopt}, {"a"}, true).ok());
  CollectionConfig updated = TwoVectors();
  updated.hnsw.m = 8;
  updated.quantization = QuantizationConfig{};
  ASSERT_TRUE(shard_->UpdateIndexConfig(updated).ok());
  ASSERT_TRUE(shard_->UpdateIndexConfig(updated).ok());  // asked twice: one rebuild
  shard_->WaitForQueuedWrites();
  EXPECT_EQ(shard_->Info().status, "green");
  EXPECT_EQ(shard_->config().hnsw.m, 8u);
  EXPECT_TRUE(shard_->config().quantization.has_value());
  for (bool exact : {true, false}) {
    EXPECT_EQ(Nearest(*shard_, "a", {700, 0}, 1, exact), std::vector<uint64_t>{700});
    EXPECT_EQ(Nearest(*shard_, "b", {0, 1200}, 1, exact), std::vector<uint64_t>{1200});
    EXPECT_EQ(Nearest(*shard_, "a", {0, 0}, 1500, exact).size(), 1499u);  // point 3 still without "a"
  }
  EXPECT_EQ(Get(*shard_, 9).vectors.at("a"), (std::vector<float>{9, 0}));
  // Writes after the rebuild go into the new indexes; a reopen builds them with the new settings.
  PointInput moved;
  moved.id = PointId::Num(5);
  moved.vectors["a"] = {5000, 0};
  ASSERT_TRUE(shard_->UpdateVectors({moved}, true).ok());
  EXPECT_EQ(Nearest(*shard_, "a", {5000, 0}, 1, false), std::vector<uint64_t>{5});
  shard_.reset();
  auto reopened = Shard::Open("t", dir_.path(), updated, CollectionOptions{});
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(Nearest(**reopened, "a", {5000, 0}, 1, false), std::vector<uint64_t>{5});
  EXPECT_EQ(Nearest(**reopened, "a", {0, 0}, 1500, true).size(), 1499u);
}

TEST(CollectionVectorsTest, MultiShardUpdateChecksEveryIdFirst) {
  TestDir dir;
  CollectionConfig config = TwoVectors();
  config.shard_number = 3;
  auto c = Collection::Open("c", dir.path(), config, CollectionOptions{});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Upsert(Points(30), true, RequestContext()).ok());
  const uint64_t before = (*c)->last_sequence();
  std::vector<PointInput> updates;
  for (uint64_t i = 1; i <= 31; ++i) {  // 31 does not exist
    PointInput p;
    p.id = PointId::Num(i);
    p.vectors["b"] = {5, 5};
    updates.push_back(p);
  }
  EXPECT_EQ((*c)->UpdateVectors(updates, true, RequestContext()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*c)->last_sequence(), before);
  updates.pop_back();
  ASSERT_TRUE((*c)->UpdateVectors(updates, true, RequestContext()).ok());
  auto got = (*c)->Retrieve({PointId::Num(17)}, {}, {true, {}});
  ASSERT_TRUE(got.ok() && got->size() == 1);
  EXPECT_EQ((*got)[0].vectors.at("b"), (std::vector<float>{5, 5}));
  EXPECT_EQ((*got)[0].vectors.at("a"), (std::vector<float>{17, 0}));
  EXPECT_EQ((*c)->DeleteVectors(PointSelector{{PointId::Num(1), PointId::Num(99)}, std::nullopt}, {"a"}, true, RequestContext()).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE((*c)->DeleteVectors(PointSelector{{PointId::Num(1), PointId::Num(2)}, std::nullopt}, {"a"}, true, RequestContext()).ok());
  EXPECT_EQ((*c)->Count(std::nullopt, true).value(), 30u);
}

}  // namespace
}  // namespace vj

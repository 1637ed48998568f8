#include "collection/database.h"

#include <gtest/gtest.h>

#include "core/test_dir.h"

namespace vj {
namespace {

CollectionConfig SmallConfig() {
  CollectionConfig config;
  config.vectors[""] = VectorParams{2, Metric::kEuclid, std::nullopt, false, std::nullopt};
  return config;
}

TEST(DatabaseTest, CreateListDeleteAndReopen) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.path();
  {
    auto db = Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->CreateCollection("a", SmallConfig()).ok());
    ASSERT_TRUE((*db)->CreateCollection("b", SmallConfig()).ok());
    EXPECT_EQ((*db)->CreateCollection("a", SmallConfig()).code(), absl::StatusCode::kAlreadyExists);
    EXPECT_EQ((*db)->CreateCollection("../x", SmallConfig()).code(), absl::StatusCode::kInvalidArgument);
    auto a = (*db)->Get("a");
    ASSERT_TRUE(a.ok());
    PointInput p;
    p.id = PointId::Num(1);
    p.vectors[""] = {1, 2};
    ASSERT_TRUE((*a)->Upsert({p}, true, RequestContext()).ok());
    ASSERT_TRUE((*db)->DeleteCollection("b").ok());
    EXPECT_EQ((*db)->DeleteCollection("b").code(), absl::StatusCode::kNotFound);
    EXPECT_EQ((*db)->Get("b").status().code(), absl::StatusCode::kNotFound);
  }
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ((*db)->List(), std::vector<std::string>{"a"});
  EXPECT_EQ((*(*db)->Get("a"))->Info().points_count, 1u);
}

TEST(DatabaseTest, LongestNameIsDeletedForGood) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.path();
  const std::string longest(255, 'n');
  {
    auto db = Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->CreateCollection(longest, SmallConfig()).ok());
    EXPECT_EQ((*db)->CreateCollection(longest + "n", SmallConfig()).code(), absl::StatusCode::kInvalidArgument);
    Status deleted = (*db)->DeleteCollection(longest);
    ASSERT_TRUE(deleted.ok()) << deleted;
    ASSERT_TRUE((*db)->CreateCollection(longest, SmallConfig()).ok());  // and again, over no leftover
    ASSERT_TRUE((*db)->DeleteCollection(longest).ok());
  }
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_TRUE((*db)->List().empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/collections"));
}

TEST(DatabaseTest, CollectionWithoutConfigIsAnUnfinishedCreateAndIsDiscarded) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.path();
  std::filesystem::create_directories(dir.path() + "/collections/half/store");
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_TRUE((*db)->List().empty());
}

TEST(DatabaseTest, CorruptConfigFailsTheOpenLoudly) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.path();
  std::filesystem::create_directories(dir.path() + "/collections/bad");
  std::FILE* f = std::fopen((dir.path() + "/collections/bad/config.json").c_str(), "w");
  std::fputs("not json", f);
  std::fclose(f);
  auto db = Database::Open(options);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace vj

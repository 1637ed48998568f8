// Aliases of a standalone Database: durable across reopen, never sharing a name with a collection,
// deleted with their collection.
#include <fstream>

#include <gtest/gtest.h>

#include "collection/database.h"
#include "core/test_dir.h"

namespace vj {
namespace {

using Kind = AliasAction::Kind;

CollectionConfig SmallConfig() {
  CollectionConfig config;
  config.vectors[""] = VectorParams{2, Metric::kEuclid, std::nullopt, false, std::nullopt};
  return config;
}

std::unique_ptr<Database> OpenDb(const TestDir& dir) {
  DatabaseOptions options;
  options.data_dir = dir.path();
  auto db = Database::Open(options);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(*db) : nullptr;
}

TEST(DatabaseAliasTest, AliasesSurviveReopenAndResolve) {
  TestDir dir;
  {
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->CreateCollection("v1", SmallConfig()).ok());
    ASSERT_TRUE(db->CreateCollection("v2", SmallConfig()).ok());
    ASSERT_TRUE(db->UpdateAliases({{Kind::kCreate, "prod", "v1", ""}, {Kind::kCreate, "old", "v2", ""}}).ok());
    ASSERT_TRUE(db->UpdateAliases({{Kind::kDelete, "prod", "", ""}, {Kind::kCreate, "prod", "v2", ""}}).ok());
    // A failing list stores nothing either.
    EXPECT_EQ(db->UpdateAliases({{Kind::kDelete, "old", "", ""}, {Kind::kDelete, "nope", "", ""}}).code(),
              absl::StatusCode::kNotFound);
  }
  auto db = OpenDb(dir);
  EXPECT_EQ(db->ListAliases(), (std::vector<AliasEntry>{{"old", "v2"}, {"prod", "v2"}}));
  EXPECT_EQ(db->ResolveAlias("prod"), "v2");
  EXPECT_EQ(db->ResolveAlias("v1"), std::nullopt);
  EXPECT_EQ(db->ResolveAlias("nothing"), std::nullopt);
  EXPECT_EQ(db->Get("prod").status().code(), absl::StatusCode::kNotFound);  // Get takes collection names only
}

TEST(DatabaseAliasTest, NamesAreSharedBetweenAliasesAndCollections) {
  TestDir dir;
  auto db = OpenDb(dir);
  ASSERT_TRUE(db->CreateCollection("v1", SmallConfig()).ok());
  ASSERT_TRUE(db->UpdateAliases({{Kind::kCreate, "prod", "v1", ""}}).ok());
  EXPECT_EQ(db->CreateCollection("prod", SmallConfig()).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(db->Exists("prod"));
  ASSERT_TRUE(db->CreateCollection("v2", SmallConfig()).ok());
  EXPECT_EQ(db->UpdateAliases({{Kind::kCreate, "v2", "v1", ""}}).code(), absl::StatusCode::kAlreadyExists);
}

TEST(DatabaseAliasTest, DeletingACollectionDeletesItsAliasesDurably) {
  TestDir dir;
  {
    auto db = OpenDb(dir);
    ASSERT_TRUE(db->CreateCollection("v1", SmallConfig()).ok());
    ASSERT_TRUE(db->CreateCollection("v2", SmallConfig()).ok());
    ASSERT_TRUE(db->UpdateAliases({{Kind::kCreate, "a", "v1", ""}, {Kind::kCreate, "b", "v2", ""}}).ok());
    ASSERT_TRUE(db->DeleteCollection("v1").ok());
    EXPECT_EQ(db->ListAliases(), (std::vector<AliasEntry>{{"b", "v2"}}));
    ASSERT_TRUE(db->CreateCollection("v1", SmallConfig()).ok());  // a new v1 does not inherit "a"
    EXPECT_EQ(db->ResolveAlias("a"), std::nullopt);
  }
  auto db = OpenDb(dir);
  EXPECT_EQ(db->ListAliases(), (std::vector<AliasEntry>{{"b", "v2"}}));
}

TEST(DatabaseAliasTest, StaleAliasesAreDroppedAndACorruptFileStopsTheOpen) {
  TestDir dir;
  { auto db = OpenDb(dir); ASSERT_TRUE(db->CreateCollection("v1", SmallConfig()).ok()); }
  {
    // As left by a delete that crashed before it stored the pruned aliases.
    std::ofstream(dir.File("aliases.json")) << R"({"format":1,"aliases":{"a":"v1","gone":"v9"}})";
  }
  {
    auto db = OpenDb(dir);
    EXPECT_EQ(db->ListAliases(), (std::vector<AliasEntry>{{"a", "v1"}}));
  }
  std::ofstream(dir.File("aliases.json")) << R"({"format":1,"aliases":)";
  DatabaseOptions options;
  options.data_dir = dir.path();
  auto db = Database::Open(options);
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss) << db.status();
}

}  // namespace
}  // namespace vj

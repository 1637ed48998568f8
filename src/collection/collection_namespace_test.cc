// NamespacedCatalog over a real Database: names mapped both ways, nothing outside a namespace visible,
// aliases confined, errors in the client's names, the max_collections quota.
#include "collection/collection_namespace.h"

#include <gtest/gtest.h>

#include "collection/database.h"
#include "core/test_dir.h"

namespace vj {
namespace {

using View = NamespacedCatalog::View;
using Kind = AliasAction::Kind;

CollectionConfig SmallConfig() {
  CollectionConfig config;
  config.vectors[""] = VectorParams{2, Metric::kEuclid, std::nullopt, false, std::nullopt};
  return config;
}

class CollectionNamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.data_dir = dir_.path();
    auto db = Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  TestDir dir_;
  std::unique_ptr<Database> db_;
};

TEST(CollectionNamespace, NamesMapBothWays) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.path();
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok());
  NamespacedCatalog acme(**db, View::kTenant, "acme");
  NamespacedCatalog shared(**db, View::kShared);
  NamespacedCatalog all(**db, View::kAll);
  EXPECT_EQ(acme.ToStored("docs"), "acme~docs");
  EXPECT_EQ(acme.ToStored("bob~docs"), std::nullopt);
  EXPECT_EQ(acme.ToStored(""), std::nullopt);
  EXPECT_EQ(acme.ToVisible("acme~docs"), "docs");
  EXPECT_EQ(acme.ToVisible("acme~"), std::nullopt);
  EXPECT_EQ(acme.ToVisible("acmex~docs"), std::nullopt);
  EXPECT_EQ(acme.ToVisible("bob~docs"), std::nullopt);
  EXPECT_EQ(acme.ToVisible("docs"), std::nullopt);
  EXPECT_EQ(shared.ToStored("docs"), "docs");
  EXPECT_EQ(shared.ToStored("acme~docs"), std::nullopt);
  EXPECT_EQ(shared.ToVisible("acme~docs"), std::nullopt);
  EXPECT_EQ(all.ToStored("acme~docs"), "acme~docs");
  EXPECT_EQ(all.ToVisible("acme~docs"), "acme~docs");
  EXPECT_EQ(acme.Unmap("Collection `acme~docs` and acme~x"), "Collection `docs` and x");
  EXPECT_EQ(shared.Unmap("acme~docs"), "acme~docs");
  // Stored names: user names, or a tenant id, '~' and a user name; user names never have '~'.
  EXPECT_TRUE(ValidateCollectionName("acme~docs").ok());
  EXPECT_FALSE(ValidateCollectionName("Acme~docs").ok());
  EXPECT_FALSE(ValidateCollectionName("acme~do~cs").ok());
  EXPECT_FALSE(ValidateCollectionName("~docs").ok());
  EXPECT_FALSE(ValidateCollectionName("acme~").ok());
  EXPECT_FALSE(ValidateCollectionName("acme~.x").ok());
  EXPECT_FALSE(ValidateCollectionName(std::string(33, 'a') + "~docs").ok());
  EXPECT_FALSE(ValidateUserCollectionName("acme~docs").ok());
}

TEST_F(CollectionNamespaceTest, TenantsSeeOnlyTheirOwn) {
  NamespacedCatalog acme(*db_, View::kTenant, "acme");
  NamespacedCatalog bob(*db_, View::kTenant, "bob");
  NamespacedCatalog shared(*db_, View::kShared);
  NamespacedCatalog all(*db_, View::kAll);
  ASSERT_TRUE(acme.CreateCollection("docs", SmallConfig()).ok());
  ASSERT_TRUE(bob.CreateCollection("docs", SmallConfig()).ok());
  ASSERT_TRUE(bob.CreateCollection("secret", SmallConfig()).ok());
  ASSERT_TRUE(shared.CreateCollection("public", SmallConfig()).ok());
  EXPECT_EQ(acme.List(), std::vector<std::string>{"docs"});
  EXPECT_EQ(bob.List(), (std::vector<std::string>{"docs", "secret"}));
  EXPECT_EQ(shared.List(), std::vector<std::string>{"public"});
  EXPECT_EQ(all.List().size(), 4u);
  EXPECT_TRUE(db_->Exists("acme~docs"));
  // A name of another namespace is absent, with the same message as a name of nothing.
  for (const std::string name : {"secret", "bob~secret", "public", "nothing"}) {
    StatusOr<std::shared_ptr<Collection>> got = acme.Get(name);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << name;
    EXPECT_EQ(got.status().message(), "Collection `" + name + "` doesn't exist!");
    EXPECT_FALSE(acme.Exists(name));
    EXPECT_EQ(acme.DeleteCollection(name).code(), absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(shared.Get("acme~docs").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(all.Get("acme~docs").ok());
  // Creating: user names only, in every view; errors name the client's collection.
  EXPECT_EQ(acme.CreateCollection("bob~x", SmallConfig()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(all.CreateCollection("bob~x", SmallConfig()).code(), absl::StatusCode::kInvalidArgument);
  Status again = acme.CreateCollection("docs", SmallConfig());
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(std::string(again.message()).find("acme~"), std::string::npos) << again;
  // 255 characters in all: the tenant's prefix is taken from the user's share.
  EXPECT_EQ(acme.CreateCollection(std::string(251, 'x'), SmallConfig()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(acme.CreateCollection(std::string(250, 'x'), SmallConfig()).ok());
}

TEST_F(CollectionNamespaceTest, AliasesStayInTheirNamespace) {
  NamespacedCatalog acme(*db_, View::kTenant, "acme");
  NamespacedCatalog bob(*db_, View::kTenant, "bob");
  NamespacedCatalog all(*db_, View::kAll);
  ASSERT_TRUE(acme.CreateCollection("docs", SmallConfig()).ok());
  ASSERT_TRUE(bob.CreateCollection("docs", SmallConfig()).ok());
  ASSERT_TRUE(db_->CreateCollection("public", SmallConfig()).ok());
  ASSERT_TRUE(acme.UpdateAliases({{Kind::kCreate, "current", "docs", ""}}).ok());
  EXPECT_EQ(acme.ListAliases(), (std::vector<AliasEntry>{{"current", "docs"}}));
  EXPECT_EQ(acme.ResolveAlias("current"), "docs");
  EXPECT_TRUE(bob.ListAliases().empty());
  EXPECT_EQ(bob.ResolveAlias("current"), std::nullopt);
  EXPECT_EQ(db_->ResolveAlias("acme~current"), "acme~docs");
  // bob may use the same alias name for its own collection.
  ASSERT_TRUE(bob.UpdateAliases({{Kind::kCreate, "current", "docs", ""}}).ok());
  EXPECT_EQ(db_->ResolveAlias("bob~current"), "bob~docs");
  // Nothing outside the namespace can be aliased, under any spelling.
  EXPECT_EQ(acme.UpdateAliases({{Kind::kCreate, "x", "public", ""}}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(acme.UpdateAliases({{Kind::kCreate, "x", "bob~docs", ""}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(all.UpdateAliases({{Kind::kCreate, "x", "acme~docs", ""}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(all.UpdateAliases({{Kind::kCreate, "acme~x", "public", ""}}).code(), absl::StatusCode::kInvalidArgument);
  Status missing = acme.UpdateAliases({{Kind::kDelete, "nope", "", ""}});
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(missing.message()).find("acme~"), std::string::npos) << missing;
}

TEST_F(CollectionNamespaceTest, MaxCollectionsQuota) {
  NamespacedCatalog small(*db_, View::kTenant, "small", 2);
  NamespacedCatalog other(*db_, View::kTenant, "other", 1);
  ASSERT_TRUE(small.CreateCollection("a", SmallConfig()).ok());
  ASSERT_TRUE(other.CreateCollection("a", SmallConfig()).ok());  // other tenants do not count
  ASSERT_TRUE(small.CreateCollection("b", SmallConfig()).ok());
  Status refused = small.CreateCollection("c", SmallConfig());
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(refused.message()).find("max_collections"), std::string::npos) << refused;
  EXPECT_EQ(small.CreateCollection("a", SmallConfig()).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(small.DeleteCollection("a").ok());
  EXPECT_TRUE(small.CreateCollection("c", SmallConfig()).ok());
}

}  // namespace
}  // namespace vj

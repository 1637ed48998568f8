#include "collection/alias_map.h"

#include <set>

#include <gtest/gtest.h>

namespace vj {
namespace {

using Kind = AliasAction::Kind;

AliasAction Create(std::string alias, std::string collection) { return {Kind::kCreate, std::move(alias), std::move(collection), ""}; }
AliasAction Delete(std::string alias) { return {Kind::kDelete, std::move(alias), "", ""}; }
AliasAction Rename(std::string from, std::string to) { return {Kind::kRename, std::move(from), "", std::move(to)}; }

class AliasMapTest : public ::testing::Test {
 protected:
  Status Apply(const std::vector<AliasAction>& actions) {
    return map_.Apply(actions, [this](const std::string& c) { return collections_.count(c) != 0; });
  }
  std::set<std::string> collections_{"v1", "v2"};
  AliasMap map_;
};

TEST_F(AliasMapTest, CreateRenameDelete) {
  ASSERT_TRUE(Apply({Create("prod", "v1"), Create("prod-b", "v1")}).ok());
  EXPECT_EQ(map_.Resolve("prod"), "v1");
  EXPECT_EQ(map_.Resolve("v1"), std::nullopt);
  EXPECT_EQ(map_.List(), (std::vector<AliasEntry>{{"prod", "v1"}, {"prod-b", "v1"}}));
  ASSERT_TRUE(Apply({Rename("prod-b", "staging")}).ok());
  EXPECT_EQ(map_.List(), (std::vector<AliasEntry>{{"prod", "v1"}, {"staging", "v1"}}));
  ASSERT_TRUE(Apply({Delete("staging")}).ok());
  EXPECT_EQ(map_.List(), (std::vector<AliasEntry>{{"prod", "v1"}}));
}

TEST_F(AliasMapTest, SwitchIsOneListAndCreateRepoints) {
  ASSERT_TRUE(Apply({Create("prod", "v1")}).ok());
  ASSERT_TRUE(Apply({Delete("prod"), Create("prod", "v2")}).ok());
  EXPECT_EQ(map_.Resolve("prod"), "v2");
  ASSERT_TRUE(Apply({Create("prod", "v1")}).ok());  // as Qdrant: create on an alias re-points it
  EXPECT_EQ(map_.Resolve("prod"), "v1");
}

TEST_F(AliasMapTest, AFailingActionChangesNothing) {
  ASSERT_TRUE(Apply({Create("prod", "v1")}).ok());
  const AliasMap before = map_;
  struct Case {
    std::vector<AliasAction> actions;
    absl::StatusCode code;
    std::string names;
  };
  const Case cases[] = {
      {{Create("a", "v2"), Create("b", "missing")}, absl::StatusCode::kNotFound, "actions[1] (create_alias)"},
      {{Delete("prod"), Delete("nope")}, absl::StatusCode::kNotFound, "actions[1] (delete_alias)"},
      {{Rename("nope", "x")}, absl::StatusCode::kNotFound, "actions[0] (rename_alias)"},
      {{Create("a", "v2"), Rename("a", "prod")}, absl::StatusCode::kAlreadyExists, "actions[1] (rename_alias)"},
      {{Create("v2", "v1")}, absl::StatusCode::kAlreadyExists, "actions[0] (create_alias)"},
      {{Rename("prod", "v2")}, absl::StatusCode::kAlreadyExists, "actions[0] (rename_alias)"},
      {{Create("a", "v2"), Create("bad/name", "v2")}, absl::StatusCode::kInvalidArgument, "actions[1] (create_alias)"},
      {{Create("", "v2")}, absl::StatusCode::kInvalidArgument, "alias_name"},
      {{Rename("prod", ".hidden")}, absl::StatusCode::kInvalidArgument, "new_alias_name"},
  };
  for (const Case& c : cases) {
    Status s = Apply(c.actions);
    EXPECT_EQ(s.code(), c.code) << s;
    EXPECT_NE(s.message().find(c.names), std::string::npos) << s;
    EXPECT_EQ(map_, before) << s;
  }
}

TEST_F(AliasMapTest, CountIsBounded) {
  std::vector<AliasAction> actions;
  for (size_t i = 0; i <= AliasMap::kMaxAliases; ++i) actions.push_back(Create("a" + std::to_string(i), "v1"));
  EXPECT_EQ(Apply(actions).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(map_.empty());
  actions.pop_back();
  EXPECT_TRUE(Apply(actions).ok());
  EXPECT_EQ(map_.size(), AliasMap::kMaxAliases);
}

TEST_F(AliasMapTest, RemoveCollectionDropsItsAliases) {
  ASSERT_TRUE(Apply({Create("a", "v1"), Create("b", "v2"), Create("c", "v1")}).ok());
  EXPECT_EQ(map_.RemoveCollection("v1"), 2u);
  EXPECT_EQ(map_.List(), (std::vector<AliasEntry>{{"b", "v2"}}));
}

TEST_F(AliasMapTest, StoredFormRoundTripsAndCorruptionIsDataLoss) {
  ASSERT_TRUE(Apply({Create("a", "v1"), Create("b", "v2")}).ok());
  auto back = AliasMap::Parse(map_.Serialize(), "aliases.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, map_);
  for (const char* bad : {"", "{", "[]", R"({"aliases":{}})", R"({"format":2,"aliases":{}})",
                          R"({"format":1,"aliases":{"a":1}})", R"({"format":1,"aliases":{"../x":"v1"}})",
                          R"({"format":1,"aliases":[]})"}) {
    auto parsed = AliasMap::Parse(bad, "aliases.json");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_NE(parsed.status().message().find("aliases.json"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace vj

#include "security/permission.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

TEST(CollectionPattern, ExactPrefixAndStar) {
  EXPECT_TRUE(CollectionPatternMatches("*", "anything"));
  EXPECT_TRUE(CollectionPatternMatches("logs-*", "logs-2026"));
  EXPECT_TRUE(CollectionPatternMatches("logs-*", "logs-"));
  EXPECT_FALSE(CollectionPatternMatches("logs-*", "log"));
  EXPECT_TRUE(CollectionPatternMatches("docs", "docs"));
  EXPECT_FALSE(CollectionPatternMatches("docs", "docs2"));
  EXPECT_FALSE(CollectionPatternMatches("", "docs"));
  EXPECT_FALSE(CollectionPatternMatches("a*b", "axb"));  // '*' only at the end
  EXPECT_FALSE(ValidCollectionPattern("*a*"));
}

TEST(Principal, LevelsIncludeTheLevelsBelow) {
  Principal p;
  p.grants = {{"logs-*", Permission::kWrite}};
  EXPECT_TRUE(p.Allows(Permission::kRead, "logs-1"));
  EXPECT_TRUE(p.Allows(Permission::kWrite, "logs-1"));
  EXPECT_FALSE(p.Allows(Permission::kManage, "logs-1"));
  EXPECT_FALSE(p.Allows(Permission::kRead, "other"));
  // Node-wide routes need a grant on every collection.
  EXPECT_FALSE(p.Allows(Permission::kRead, std::nullopt));
  EXPECT_TRUE(p.Allows(Permission::kPublic, std::nullopt));
}

TEST(Principal, NobodyIsGrantedInternal) {
  Principal admin = UnauthenticatedAdmin();
  EXPECT_TRUE(admin.Allows(Permission::kAdmin, std::nullopt));
  EXPECT_FALSE(admin.Allows(Permission::kInternal, std::nullopt));
  Principal forged;
  forged.grants = {{"*", Permission::kInternal}};
  EXPECT_FALSE(forged.Allows(Permission::kRead, "a"));
  EXPECT_FALSE(forged.Allows(Permission::kInternal, std::nullopt));
  Principal peer;
  peer.is_peer = true;
  EXPECT_TRUE(peer.Allows(Permission::kInternal, std::nullopt));
  EXPECT_FALSE(peer.Allows(Permission::kRead, "a"));  // a peer is not a user
}

TEST(Principal, NoGrantsAllowsOnlyPublic) {
  Principal p;
  EXPECT_TRUE(p.Allows(Permission::kPublic, "a"));
  EXPECT_FALSE(p.Allows(Permission::kRead, "a"));
}

}  // namespace
}  // namespace vj

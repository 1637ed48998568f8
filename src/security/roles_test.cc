#include "security/roles.h"

#include <gtest/gtest.h>

#include "security/jws.h"
#include "security/secret_digest.h"

namespace vj {
namespace {

TEST(Roles, BuiltinsGrantTheirLevelOnEveryCollection) {
  ASSERT_EQ(BuiltinRoles().size(), 4u);
  EXPECT_EQ(BuiltinRole("admin")->grants[0].level, Permission::kAdmin);
  EXPECT_EQ(BuiltinRole("manager")->grants[0].level, Permission::kManage);
  EXPECT_EQ(BuiltinRole("writer")->grants[0].level, Permission::kWrite);
  EXPECT_EQ(BuiltinRole("reader")->grants[0].level, Permission::kRead);
  for (const Role& r : BuiltinRoles()) {
    EXPECT_TRUE(r.builtin);
    EXPECT_EQ(r.grants[0].collections, "*");
  }
  EXPECT_EQ(BuiltinRole("root"), nullptr);
}

TEST(Roles, NamesAndPatterns) {
  EXPECT_TRUE(ValidateRoleName("team-a_1", "name").ok());
  EXPECT_TRUE(ValidateRoleName(std::string(64, 'a'), "name").ok());
  for (std::string bad : {std::string(), std::string(65, 'a'), std::string("Team"), std::string("a b"),
                          std::string("a/b"), std::string("r\xc3\xa9")}) {
    Status st = ValidateRoleName(bad, "name");
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << bad;
    EXPECT_EQ(st.message().substr(0, 6), "name: ");
  }
  for (const std::string& good : std::vector<std::string>{"*", "docs", "logs-*", "a.b_c-D", std::string(255, 'x'), std::string(255, 'x') + "*"}) {
    EXPECT_TRUE(ValidatePattern(good, "p").ok()) << good;
  }
  for (const std::string& bad : std::vector<std::string>{"", "a*b", "**", "a b", "a/b", std::string(256, 'x'), std::string(256, 'x') + "*"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidatePattern(bad, "p"))) << bad;
  }
}

TEST(Roles, GrantsNeedAUserLevelAndAreBounded) {
  EXPECT_TRUE(ValidateGrants({{"a", Permission::kRead}, {"b*", Permission::kAdmin}}, "grants").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateGrants({}, "grants")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateGrants({{"a", Permission::kInternal}}, "grants")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateGrants({{"a", Permission::kPublic}}, "grants")));
  Status st = ValidateGrants({{"a", Permission::kRead}, {"x*y", Permission::kRead}}, "grants");
  EXPECT_NE(st.message().find("grants[1].collections"), std::string::npos) << st;
  EXPECT_TRUE(absl::IsInvalidArgument(
      ValidateGrants(std::vector<Grant>(kMaxGrantsPerRole + 1, Grant{"a", Permission::kRead}), "grants")));
}

TEST(Roles, RestrictGrantsIntersectsPatterns) {
  const std::vector<Grant> grants = {{"*", Permission::kWrite}, {"logs-*", Permission::kAdmin}, {"docs", Permission::kRead}};
  EXPECT_EQ(RestrictGrants(grants, {}).size(), 3u);  // not limited
  auto only = [](const std::vector<Grant>& g) {
    std::vector<std::pair<std::string, Permission>> out;
    for (const Grant& x : g) out.emplace_back(x.collections, x.level);
    return out;
  };
  using P = std::vector<std::pair<std::string, Permission>>;
  EXPECT_EQ(only(RestrictGrants(grants, {"logs-eu-*"})),
            (P{{"logs-eu-*", Permission::kWrite}, {"logs-eu-*", Permission::kAdmin}}));
  EXPECT_EQ(only(RestrictGrants(grants, {"docs"})), (P{{"docs", Permission::kWrite}, {"docs", Permission::kRead}}));
  EXPECT_EQ(only(RestrictGrants(grants, {"log*"})),
            (P{{"log*", Permission::kWrite}, {"logs-*", Permission::kAdmin}}));
  EXPECT_EQ(only(RestrictGrants({{"logs-*", Permission::kRead}}, {"metrics-*", "logs-1", "docs"})),
            (P{{"logs-1", Permission::kRead}}));
  // A restricted admin grant is no longer node-wide: it cannot manage keys or roles.
  Principal p;
  p.grants = RestrictGrants({{"*", Permission::kAdmin}}, {"team-a-*"});
  EXPECT_TRUE(p.Allows(Permission::kManage, "team-a-x"));
  EXPECT_FALSE(p.Allows(Permission::kRead, "team-b"));
  EXPECT_FALSE(p.Allows(Permission::kAdmin, std::nullopt));
}

TEST(SecretDigest, KnownAnswers) {
  Sha256Digest abc = Sha256("abc");
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<const char*>(abc.data()), abc.size())),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(DigestsEqual(SaltedSha256("ab", "c"), abc));
  EXPECT_FALSE(DigestsEqual(Sha256("abd"), abc));
  const std::pair<const char*, const char*> kVectors[] = {{"", ""},         {"f", "Zg"},         {"fo", "Zm8"},
                                                          {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
                                                          {"foobar", "Zm9vYmFy"}};
  for (auto [in, out] : kVectors) EXPECT_EQ(Base64UrlEncode(in), out);
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*HexDecode("00ff10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("0g").has_value());
  EXPECT_FALSE(HexDecode("abc").has_value());
  StatusOr<std::string> a = RandomBytes(32), b = RandomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace vj

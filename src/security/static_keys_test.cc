#include "security/static_keys.h"

#include <gtest/gtest.h>

#include "security/api_key_authenticator.h"
#include "security/auth_failure.h"

namespace vj {
namespace {

StaticKeysConfig Config() {
  return StaticKeysConfig{"main-key-0123456789", "alt-key-0123456789", "read-key-0123456789"};
}

TEST(StaticKeys, EachKeyGivesItsPrincipal) {
  StaticKeys keys(Config());
  EXPECT_FALSE(keys.empty());
  StatusOr<Principal> main = keys.Authenticate("main-key-0123456789");
  ASSERT_TRUE(main.ok()) << main.status();
  EXPECT_EQ(main->id, "api-key:main");
  EXPECT_EQ(main->roles, std::vector<std::string>{"admin"});
  EXPECT_TRUE(main->Allows(Permission::kAdmin, std::nullopt));
  StatusOr<Principal> alt = keys.Authenticate("alt-key-0123456789");
  ASSERT_TRUE(alt.ok());
  EXPECT_EQ(alt->id, "api-key:alt");
  EXPECT_TRUE(alt->Allows(Permission::kAdmin, std::nullopt));
  StatusOr<Principal> reader = keys.Authenticate("read-key-0123456789");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->id, "api-key:read-only");
  EXPECT_TRUE(reader->Allows(Permission::kRead, "any"));
  EXPECT_FALSE(reader->Allows(Permission::kWrite, "any"));
}

TEST(StaticKeys, WrongKeysAreRefusedWithoutQuotingThem) {
  StaticKeys keys(Config());
  for (std::string wrong : {std::string(""), std::string("main-key-012345678"), std::string("main-key-01234567890"),
                            std::string("MAIN-KEY-0123456789"), std::string(1 << 16, 'x')}) {
    StatusOr<Principal> p = keys.Authenticate(wrong);
    ASSERT_TRUE(absl::IsUnauthenticated(p.status())) << wrong.substr(0, 40);
    EXPECT_EQ(AuthFailureReason(p.status()), "unknown_key");
    EXPECT_EQ(p.status().message(), "invalid API key");
  }
  // No key configured: nothing authenticates, not even the empty string.
  StaticKeys none(StaticKeysConfig{});
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.Authenticate("").ok());
  // Only the read-only key: the empty main key is not a key.
  StaticKeys read_only(StaticKeysConfig{"", "", "read-key-0123456789"});
  EXPECT_FALSE(read_only.Authenticate("").ok());
  EXPECT_TRUE(read_only.Authenticate("read-key-0123456789").ok());
}

TEST(StaticKeys, PresentedAsQdrantClientsSendIt) {
  using H = std::map<std::string, std::string>;
  EXPECT_EQ(PresentedApiKey(H{{"api-key", "k1"}}), "k1");
  EXPECT_EQ(PresentedApiKey(H{{"authorization", "Bearer k2"}}), "k2");
  EXPECT_EQ(PresentedApiKey(H{{"authorization", "bearer   k3 "}}), "k3");
  EXPECT_EQ(PresentedApiKey(H{{"api-key", "k1"}, {"authorization", "Bearer k2"}}), "k1");
  EXPECT_FALSE(PresentedApiKey(H{{"authorization", "Basic dXNlcjpwYXNz"}}).has_value());
  EXPECT_FALSE(PresentedApiKey(H{{"authorization", "Bearer"}}).has_value());
  EXPECT_FALSE(PresentedApiKey(H{}).has_value());
}

TEST(ApiKeyAuthenticator, MissingKeyAndStaticKeys) {
  ApiKeyAuthenticator auth(Config(), nullptr);
  EXPECT_TRUE(auth.enabled());
  StatusOr<Principal> p = auth.Authenticate(std::map<std::string, std::string>{});
  EXPECT_EQ(AuthFailureReason(p.status()), "missing");
  p = auth.Authenticate(std::map<std::string, std::string>{{"authorization", "Bearer alt-key-0123456789"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->id, "api-key:alt");
  p = auth.Authenticate(std::map<std::string, std::string>{{"api-key", "vjk_0123456789abcdef_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}});
  EXPECT_EQ(AuthFailureReason(p.status()), "unknown_key");
  EXPECT_FALSE(ApiKeyAuthenticator(StaticKeysConfig{}, nullptr).enabled());
}

}  // namespace
}  // namespace vj

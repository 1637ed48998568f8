#include "security/security_state.h"

#include <gtest/gtest.h>

#include "core/crc32c.h"

namespace vj {
namespace {

SecurityState Sample() {
  SecurityState s;
  s.generation = 7;
  s.roles["team-a"] = Role{"team-a", {{"a-*", Permission::kWrite}, {"shared", Permission::kRead}}, false};
  ApiKeyRecord k;
  k.id = "0123456789abcdef";
  k.spec.role = "team-a";
  k.spec.collections = {"a-1"};
  k.spec.expires_at = 2000000000;
  k.spec.name = "ci \"runner\"\n";
  k.spec.description = "d\xc3\xa9";
  k.created_at = 1700000000;
  k.salt = std::string(kKeySaltBytes, '\x07');
  k.digest = Sha256("x");
  s.keys[k.id] = k;
  ApiKeyRecord g = k;
  g.id = "fedcba9876543210";
  g.spec = ApiKeySpec{};
  g.spec.grants = {{"*", Permission::kRead}};
  s.keys[g.id] = g;
  return s;
}

// A document around `state_json` with the right checksum, so that the field checks are what refuses it.
std::string Wrap(const std::string& state_json) {
  return R"({"format":"vjvector-security-state","version":1,"crc32c":)" + std::to_string(Crc32c(state_json)) +
         R"(,"state":)" + state_json + "}";
}

TEST(SecurityState, RoundTrips) {
  const std::string doc = EncodeSecurityState(Sample());
  StatusOr<SecurityState> back = DecodeSecurityState(doc);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->generation, 7u);
  ASSERT_EQ(back->roles.size(), 1u);
  EXPECT_EQ(back->roles.at("team-a").grants[1].collections, "shared");
  EXPECT_EQ(back->roles.at("team-a").grants[0].level, Permission::kWrite);
  ASSERT_EQ(back->keys.size(), 2u);
  const ApiKeyRecord& k = back->keys.at("0123456789abcdef");
  EXPECT_EQ(k.spec.name, "ci \"runner\"\n");
  EXPECT_EQ(k.spec.description, "d\xc3\xa9");
  EXPECT_EQ(k.spec.collections, std::vector<std::string>{"a-1"});
  EXPECT_EQ(k.spec.expires_at, 2000000000);
  EXPECT_EQ(k.created_at, 1700000000);
  EXPECT_EQ(k.salt, std::string(kKeySaltBytes, '\x07'));
  EXPECT_TRUE(DigestsEqual(k.digest, Sha256("x")));
  EXPECT_EQ(back->keys.at("fedcba9876543210").spec.grants[0].level, Permission::kRead);
  EXPECT_EQ(EncodeSecurityState(*back), doc);
}

TEST(SecurityState, EveryDamagedDocumentIsDataLoss) {
  const std::string doc = EncodeSecurityState(Sample());
  std::vector<std::string> bad = {"", "{", "[]", "null", doc.substr(0, doc.size() / 2)};
  // One changed character anywhere in the state: checksum or parse failure, never a crash.
  for (size_t i = doc.find("\"state\""); i < doc.size(); i += 7) {
    std::string d = doc;
    d[i] = d[i] == 'a' ? 'b' : 'a';
    bad.push_back(d);
  }
  std::string other_version = doc;
  other_version.replace(other_version.find("\"version\":1"), 11, "\"version\":2");
  bad.push_back(other_version);
  std::string extra = doc;
  extra.insert(1, "\"x\":1,");
  bad.push_back(extra);
  for (const std::string& d : bad) {
    StatusOr<SecurityState> s = DecodeSecurityState(d);
    EXPECT_TRUE(absl::IsDataLoss(s.status())) << d.substr(0, 200) << " -> " << s.status();
  }
  EXPECT_NE(DecodeSecurityState(other_version).status().message().find("version"), std::string::npos);
}

TEST(SecurityState, ContentIsCheckedLikeARequest) {
  const std::string key_fields =
      R"("name":"","description":"","grants":[],"collections":[],"created_at":1,"expires_at":0,)"
      R"("salt":"00000000000000000000000000000000","sha256":")" + std::string(64, '0') + "\"";
  auto key = [&](const std::string& id, const std::string& role) {
    return R"({"id":")" + id + R"(","role":")" + role + "\"," + key_fields + "}";
  };
  ASSERT_TRUE(DecodeSecurityState(Wrap(R"({"generation":1,"roles":[],"keys":[)" + key("0123456789abcdef", "reader") + "]}")).ok());
  const std::pair<std::string, std::string> kCases[] = {
      {R"({"generation":1,"roles":[{"name":"admin","grants":[{"collections":"*","access":"read"}]}],"keys":[]})",
       "twice"},
      {R"({"generation":1,"roles":[{"name":"Bad","grants":[{"collections":"*","access":"read"}]}],"keys":[]})",
       "role name"},
      {R"({"generation":1,"roles":[{"name":"r","grants":[{"collections":"a*b","access":"read"}]}],"keys":[]})",
       "collections"},
      {R"({"generation":1,"roles":[{"name":"r","grants":[{"collections":"*","access":"internal"}]}],"keys":[]})",
       "access"},
      {R"({"generation":1,"roles":[{"name":"r","grants":[]}],"keys":[]})", "grants"},
      {R"({"generation":1,"roles":[],"keys":[)" + key("0123456789ABCDEF", "reader") + "]}", "id"},
      {R"({"generation":1,"roles":[],"keys":[)" + key("0123456789abcdef", "") + "]}", "either role or grants"},
      {R"({"generation":1,"roles":[],"keys":[)" + key("0123456789abcdef", "reader") + "," +
           key("0123456789abcdef", "reader") + "]}",
       "twice"},
      {R"({"generation":-1,"roles":[],"keys":[]})", "generation"},
      {R"({"generation":1,"roles":[],"keys":[],"more":1})", "more"},
  };
  for (const auto& [state, expected] : kCases) {
    StatusOr<SecurityState> s = DecodeSecurityState(Wrap(state));
    ASSERT_TRUE(absl::IsDataLoss(s.status())) << state;
    EXPECT_NE(s.status().message().find(expected), std::string::npos) << s.status();
  }
}

}  // namespace
}  // namespace vj

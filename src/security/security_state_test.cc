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

namespace vj {
namespace {

TEST(SecurityState, TenantsAndTenantKeysRoundTrip) {
  SecurityState s = Sample();
  s.tenants["acme"] = TenantRecord{"acme", {2, 1000, 0.5, 20}, 1700000001};
  s.tenants["b_2-x"] = TenantRecord{"b_2-x", {}, 1700000002};
  s.keys.at("0123456789abcdef").spec.tenant = "acme";
  const std::string doc = EncodeSecurityState(s);
  StatusOr<SecurityState> back = DecodeSecurityState(doc);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->tenants, s.tenants);
  EXPECT_EQ(back->keys.at("0123456789abcdef").spec.tenant, "acme");
  EXPECT_EQ(back->keys.at("fedcba9876543210").spec.tenant, "");
  EXPECT_EQ(EncodeSecurityState(*back), doc);
  // A state without tenants is written as before tenants existed, so older nodes still read it.
  EXPECT_EQ(EncodeSecurityState(Sample()).find("tenant"), std::string::npos);
}

TEST(SecurityState, DamagedTenantsAreDataLoss) {
  const std::string key = R"({"id":"0123456789abcdef","name":"","description":"","role":"reader","grants":[],)"
                          R"("collections":[],"created_at":1,"expires_at":0,"salt":"07070707070707070707070707070707",)"
                          R"("sha256":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881")";
  const std::string tenant = R"({"id":"acme","created_at":1,"quotas":{"max_collections":1,"max_points":2,"read_per_s":0,"write_per_s":0}})";
  auto doc = [&](const std::string& keys, const std::string& tenants) {
    return Wrap(R"({"generation":1,"roles":[],"keys":[)" + keys + "]" +
                (tenants.empty() ? "" : R"(,"tenants":[)" + tenants + "]") + "}");
  };
  ASSERT_TRUE(DecodeSecurityState(doc(key + R"(,"tenant":"acme"})", tenant)).ok());
  for (const std::string& bad :
       {doc(key + R"(,"tenant":"ghost"})", tenant),  // a key of a tenant that does not exist
        doc(key + R"(,"tenant":"Bad Id"})", ""), doc(key + "}", tenant + "," + tenant),
        doc(key + "}", R"({"id":"a~b","created_at":1,"quotas":{"max_collections":1,"max_points":2,"read_per_s":0,"write_per_s":0}})"),
        doc(key + "}", R"({"id":"acme","created_at":1,"quotas":{"max_collections":1,"max_points":2,"read_per_s":-1,"write_per_s":0}})"),
        doc(key + "}", R"({"id":"acme","created_at":1,"quotas":{"max_collections":1}})"),
        doc(key + "}", R"({"id":"acme","created_at":1,"quotas":{},"extra":1})")}) {
    StatusOr<SecurityState> got = DecodeSecurityState(bad);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << bad;
  }
}

}  // namespace
}  // namespace vj

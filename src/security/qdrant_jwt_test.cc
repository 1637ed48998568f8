#include "security/qdrant_jwt.h"

#include <gtest/gtest.h>

#include "security/auth_failure.h"
#include "security/jwt_test_signer.h"

namespace vj {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;

constexpr char kApiKey[] = "main-api-key-0123456789abcdef";
constexpr char kAltApiKey[] = "alt-api-key-fedcba9876543210";
const Clock::time_point kNow = Clock::time_point(seconds(1'800'000'000));

std::string Token(const boost::json::object& claims, std::string_view key = kApiKey) {
  return testing::SignHs256(testing::SigningInput("HS256", "", claims), key);
}

class QdrantJwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = QdrantJwtVerifier::Create({kApiKey, "", kAltApiKey});
    ASSERT_TRUE(v.ok()) << v.status();
    verifier_ = std::move(*v);
  }
  StatusOr<Principal> Verify(std::string_view token) const { return verifier_->Verify(token, kNow); }
  void ExpectRefused(std::string_view token, std::string_view reason) const {
    auto p = Verify(token);
    ASSERT_FALSE(p.ok()) << "accepted, expected " << reason;
    EXPECT_TRUE(absl::IsUnauthenticated(p.status())) << p.status();
    EXPECT_EQ(AuthFailureReason(p.status()), reason) << p.status();
  }
  std::unique_ptr<QdrantJwtVerifier> verifier_;
};

TEST_F(QdrantJwtTest, NoAccessClaimMeansFullAccessAsInQdrant) {
  auto p = Verify(Token({{"exp", 1'800'000'100}}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->id, "jwt");
  EXPECT_TRUE(p->Allows(Permission::kAdmin, std::nullopt));
  EXPECT_FALSE(p->value_exists.has_value());
  EXPECT_TRUE(p->value_exists_json.empty());
}

TEST_F(QdrantJwtTest, GlobalReadAndManage) {
  auto r = Verify(Token({{"access", "r"}, {"subject", "reporting"}}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "jwt:reporting");
  EXPECT_TRUE(r->Allows(Permission::kRead, "any"));
  EXPECT_TRUE(r->Allows(Permission::kRead, std::nullopt));
  EXPECT_FALSE(r->Allows(Permission::kWrite, "any"));

  auto m = Verify(Token({{"access", "m"}}));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->grants.size(), 1u);
  EXPECT_EQ(m->grants[0].collections, "*");
  EXPECT_EQ(m->grants[0].level, Permission::kAdmin);
}

TEST_F(QdrantJwtTest, PerCollectionAccessIsExact) {
  boost::json::array access{boost::json::object{{"collection", "docs"}, {"access", "r"}},
                            boost::json::object{{"collection", "logs"}, {"access", "rw"}},
                            boost::json::object{{"collection", "events"}, {"access", "prw"}, {"payload", nullptr}}};
  auto p = Verify(Token({{"access", access}}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Allows(Permission::kRead, "docs"));
  EXPECT_FALSE(p->Allows(Permission::kWrite, "docs"));
  EXPECT_TRUE(p->Allows(Permission::kWrite, "logs"));
  EXPECT_FALSE(p->Allows(Permission::kManage, "logs"));
  EXPECT_TRUE(p->Allows(Permission::kWrite, "events"));
  EXPECT_FALSE(p->Allows(Permission::kRead, "docs2"));
  EXPECT_FALSE(p->Allows(Permission::kRead, std::nullopt));  // node-wide routes need a "*" grant

  auto none = Verify(Token({{"access", boost::json::array{}}}));
  ASSERT_TRUE(none.ok()) << none.status();  // authenticates, grants nothing (403 later, as in Qdrant)
  EXPECT_TRUE(none->grants.empty());
}

TEST_F(QdrantJwtTest, EitherFullAccessKeySigns) {
  EXPECT_TRUE(Verify(Token({}, kApiKey)).ok());
  EXPECT_TRUE(Verify(Token({}, kAltApiKey)).ok());
  ExpectRefused(Token({}, "some-other-key"), "bad_signature");
  ExpectRefused(Token({}, ""), "bad_signature");
}

TEST_F(QdrantJwtTest, ForgedSignatureAndTamperedClaims) {
  const std::string good = Token({{"access", "r"}});
  std::string forged = good;
  forged.back() = forged.back() == 'A' ? 'Q' : 'A';  // still canonical base64url, another MAC
  ExpectRefused(forged, "bad_signature");
  // Claims swapped for "m" under the original signature.
  const std::string m_payload = Base64UrlEncode(R"({"access":"m"})");
  const size_t dot1 = good.find('.'), dot2 = good.rfind('.');
  ExpectRefused(good.substr(0, dot1 + 1) + m_payload + good.substr(dot2), "bad_signature");
  // No signature at all.
  ExpectRefused(good.substr(0, dot2 + 1), "bad_signature");
}

TEST_F(QdrantJwtTest, ExpiryAndNotBeforeWithLeeway) {
  EXPECT_TRUE(Verify(Token({{"exp", 1'800'000'000 - 30}})).ok());
  ExpectRefused(Token({{"exp", 1'800'000'000 - 31}}), "expired");
  ExpectRefused(Token({{"exp", 5}}), "expired");
  EXPECT_TRUE(Verify(Token({{"nbf", 1'800'000'030}})).ok());
  ExpectRefused(Token({{"nbf", 1'800'000'031}}), "not_yet_valid");
  ExpectRefused(Token({{"exp", "tomorrow"}}), "malformed");
}

TEST_F(QdrantJwtTest, RefusesOtherAlgorithms) {
  ExpectRefused(Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode("{}") + ".", "alg_refused");
  // alg none with a valid HS256 MAC attached is still refused.
  const std::string input = testing::SigningInput("none", "", {});
  ExpectRefused(testing::SignHs256(input, kApiKey), "alg_refused");
  ExpectRefused(testing::SignHs256(testing::SigningInput("HS512", "", {}), kApiKey), "alg_refused");
  // An RS256 token (meant for the OIDC verifier) never reaches the HMAC.
  const JwsPublicKey rsa = testing::GenerateRsaKey();
  ExpectRefused(testing::SignWithKey(testing::SigningInput("RS256", "k", {}), rsa, "RS256"), "alg_refused");
}

TEST_F(QdrantJwtTest, MalformedInputs) {
  ExpectRefused("", "malformed");
  ExpectRefused("a.b.c.d", "malformed");
  ExpectRefused("eyJ!.eyJ9.c2ln", "malformed");
  ExpectRefused(std::string(kMaxJwtBytes + 1, 'a'), "malformed");
  // Correctly signed, but the payload is not a JSON object / not JSON.
  const std::string header = Base64UrlEncode(R"({"alg":"HS256"})");
  for (const char* payload : {"[1]", "\"s\"", "{\"access\":", "\xff\xfe"}) {
    const std::string input = header + "." + Base64UrlEncode(payload);
    ExpectRefused(testing::SignHs256(input, kApiKey), "malformed");
  }
}

TEST_F(QdrantJwtTest, RefusesInvalidAccessClaims) {
  auto entry = [](const char* collection, const char* access) {
    return boost::json::object{{"collection", collection}, {"access", access}};
  };
  ExpectRefused(Token({{"access", "rw"}}), "malformed");  // "rw" is only per collection
  ExpectRefused(Token({{"access", nullptr}}), "malformed");
  ExpectRefused(Token({{"access", 1}}), "malformed");
  ExpectRefused(Token({{"access", boost::json::array{entry("a", "m")}}}), "malformed");
  ExpectRefused(Token({{"access", boost::json::array{entry("a", "r"), entry("a", "rw")}}}), "malformed");
  ExpectRefused(Token({{"access", boost::json::array{entry("logs-*", "r")}}}), "malformed");
  ExpectRefused(Token({{"access", boost::json::array{entry("", "r")}}}), "malformed");
  ExpectRefused(Token({{"access", boost::json::array{boost::json::object{{"collection", "a"}}}}}), "malformed");
  boost::json::object with_payload = entry("a", "r");
  with_payload["payload"] = boost::json::object{{"tenant", "x"}};
  ExpectRefused(Token({{"access", boost::json::array{with_payload}}}), "malformed");
  ExpectRefused(Token({{"subject", 5}}), "malformed");
  ExpectRefused(Token({{"subject", "line\nbreak"}}), "malformed");
}

TEST_F(QdrantJwtTest, ValueExistsIsParsedForTheCaller) {
  boost::json::object claim{
      {"collection", "users"},
      {"matches", boost::json::array{boost::json::object{{"key", "user_id"}, {"value", "alice"}},
                                     boost::json::object{{"key", "meta.version"}, {"value", 3}},
                                     boost::json::object{{"key", "active"}, {"value", true}}}}};
  auto p = Verify(Token({{"access", "r"}, {"value_exists", claim}}));
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(p->value_exists.has_value());
  EXPECT_EQ(p->value_exists->collection, "users");
  ASSERT_EQ(p->value_exists->matches.size(), 3u);
  EXPECT_EQ(p->value_exists->matches[0].key, "user_id");
  EXPECT_EQ(std::get<std::string>(p->value_exists->matches[0].value), "alice");
  EXPECT_EQ(std::get<int64_t>(p->value_exists->matches[1].value), 3);
  EXPECT_EQ(std::get<bool>(p->value_exists->matches[2].value), true);
  EXPECT_EQ(boost::json::parse(p->value_exists_json), boost::json::value(claim));

  auto bad = [&](boost::json::value value) {
    boost::json::object c{{"collection", "users"},
                          {"matches", boost::json::array{boost::json::object{{"key", "k"}, {"value", value}}}}};
    return Token({{"value_exists", c}});
  };
  ExpectRefused(bad(1.5), "malformed");
  ExpectRefused(bad(nullptr), "malformed");
  ExpectRefused(bad(boost::json::array{1}), "malformed");
  ExpectRefused(bad(uint64_t{1} << 63), "malformed");
  ExpectRefused(Token({{"value_exists", "users"}}), "malformed");
  ExpectRefused(Token({{"value_exists", boost::json::object{{"collection", "users"}}}}), "malformed");
  EXPECT_TRUE(Verify(Token({{"value_exists", nullptr}})).ok());
}

TEST(QdrantJwtVerifierCreate, NeedsANonEmptyKey) {
  EXPECT_FALSE(QdrantJwtVerifier::Create({}).ok());
  EXPECT_FALSE(QdrantJwtVerifier::Create({"", ""}).ok());
  EXPECT_TRUE(QdrantJwtVerifier::Create({"", "k"}).ok());
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST_F(QdrantJwtTest, TenantClaim) {
  auto p = Verify(Token({{"tenant", "acme"}, {"access", "r"}}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(Verify(Token({{"access", "r"}}))->tenant, "");
  EXPECT_EQ(Verify(Token({{"tenant", nullptr}}))->tenant, "");
  for (boost::json::value bad : {boost::json::value("Acme"), boost::json::value(""), boost::json::value(1)}) {
    auto refused = Verify(Token({{"tenant", bad}}));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(AuthFailureReason(refused.status()), "malformed") << refused.status();
  }
}

}  // namespace
}  // namespace vj

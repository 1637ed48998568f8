#include "security/oidc.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "security/auth_failure.h"
#include "security/jwt_test_signer.h"

namespace vj {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;

constexpr char kIssuer[] = "https://idp.example/realms/vj";
constexpr char kAudience[] = "vjvector";
const Clock::time_point kNow = Clock::time_point(seconds(1'800'000'000));

// Keys are generated once: RSA key generation takes a noticeable fraction of a second.
const JwsPublicKey& RsaKey() { static const JwsPublicKey key = testing::GenerateRsaKey(); return key; }
const JwsPublicKey& RotatedRsaKey() { static const JwsPublicKey key = testing::GenerateRsaKey(); return key; }
const JwsPublicKey& EcKey() { static const JwsPublicKey key = testing::GenerateEcP256Key(); return key; }

boost::json::object Claims() {
  return {{"iss", kIssuer},
          {"aud", kAudience},
          {"sub", "user-42"},
          {"exp", 1'800'000'300},
          {"iat", 1'800'000'000},
          {"realm_access", boost::json::object{{"roles", boost::json::array{"offline_access", "vj-reader"}}}}};
}

class OidcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jwks_ = testing::Jwks({testing::Jwk(RsaKey(), "rsa-1"), testing::Jwk(EcKey(), "ec-1")});
    options_.issuer = kIssuer;
    options_.audience = kAudience;
    options_.role_grants["vj-reader"] = {Grant{"*", Permission::kRead}};
    options_.role_grants["vj-logs-writer"] = {Grant{"logs-*", Permission::kWrite}};
    options_.role_grants["vj-admin"] = {Grant{"*", Permission::kAdmin}};
    options_.jwks_refresh_interval = seconds(3600);
    options_.jwks_min_refresh_interval = seconds(30);
    Recreate();
  }
  void Recreate() {
    auto v = OidcVerifier::Create(options_, [this]() -> StatusOr<std::string> {
      if (!fetch_error_.ok()) return fetch_error_;
      return jwks_;
    });
    ASSERT_TRUE(v.ok()) << v.status();
    verifier_ = std::move(*v);
  }
  StatusOr<Principal> Verify(std::string_view token, Clock::time_point now = kNow) {
    return verifier_->Verify(token, now);
  }
  void ExpectRefused(std::string_view token, std::string_view reason, Clock::time_point now = kNow) {
    auto p = Verify(token, now);
    ASSERT_FALSE(p.ok()) << "accepted, expected " << reason;
    EXPECT_TRUE(absl::IsUnauthenticated(p.status())) << p.status();
    EXPECT_EQ(AuthFailureReason(p.status()), reason) << p.status();
  }
  static std::string Rs256(const boost::json::object& claims, std::string_view kid = "rsa-1",
                           const JwsPublicKey& key = RsaKey()) {
    return testing::SignWithKey(testing::SigningInput("RS256", kid, claims), key, "RS256");
  }
  static std::string Es256(const boost::json::object& claims, std::string_view kid = "ec-1") {
    return testing::SignWithKey(testing::SigningInput("ES256", kid, claims), EcKey(), "ES256");
  }

  std::string jwks_;
  Status fetch_error_;
  OidcOptions options_;
  std::unique_ptr<OidcVerifier> verifier_;
};

TEST_F(OidcTest, AcceptsRs256AndEs256AndMapsRoles) {
  for (const std::string& token : {Rs256(Claims()), Es256(Claims())}) {
    auto p = Verify(token);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->id, "oidc:user-42");
    EXPECT_EQ(p->roles, std::vector<std::string>{"vj-reader"});  // unmapped roles are not listed
    EXPECT_TRUE(p->Allows(Permission::kRead, "anything"));
    EXPECT_FALSE(p->Allows(Permission::kWrite, "logs-1"));
  }
  EXPECT_EQ(verifier_->fetch_count(), 1u);  // fetched on first use, then cached

  boost::json::object claims = Claims();
  claims["realm_access"] = boost::json::object{{"roles", boost::json::array{"vj-reader", "vj-logs-writer", 7}}};
  claims["aud"] = boost::json::array{"account", kAudience};
  auto p = Verify(Rs256(claims));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Allows(Permission::kWrite, "logs-1"));
  EXPECT_FALSE(p->Allows(Permission::kWrite, "docs"));
  EXPECT_FALSE(p->Allows(Permission::kManage, "logs-1"));
}

TEST_F(OidcTest, RolesClaimIsADotPathToAnArrayOrAString) {
  options_.roles_claim = "resource_access.vjvector.roles";
  Recreate();
  boost::json::object claims = Claims();
  claims["resource_access"] = boost::json::object{
      {"vjvector", boost::json::object{{"roles", "vj-admin"}}}};
  auto p = Verify(Rs256(claims));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Allows(Permission::kAdmin, std::nullopt));
  // The realm roles do not count under this setting.
  claims.erase("resource_access");
  ExpectRefused(Rs256(claims), "no_access");
}

TEST_F(OidcTest, TokenWithoutAMappedRoleIsRefused) {
  boost::json::object claims = Claims();
  claims["realm_access"] = boost::json::object{{"roles", boost::json::array{"offline_access"}}};
  ExpectRefused(Rs256(claims), "no_access");
  claims.erase("realm_access");
  ExpectRefused(Rs256(claims), "no_access");
}

TEST_F(OidcTest, ValidatesTimesIssuerAudienceAndSubject) {
  ExpectRefused(Rs256(Claims()), "expired", kNow + seconds(300 + 31));
  EXPECT_TRUE(Verify(Rs256(Claims()), kNow + seconds(300 + 30)).ok());
  boost::json::object claims = Claims();
  claims["nbf"] = 1'800'000'100;
  ExpectRefused(Rs256(claims), "not_yet_valid");
  EXPECT_TRUE(Verify(Rs256(claims), kNow + seconds(70)).ok());

  claims = Claims();
  claims.erase("exp");
  ExpectRefused(Rs256(claims), "malformed");  // OIDC tokens must expire
  claims = Claims();
  claims["iss"] = "https://evil.example/realms/vj";
  ExpectRefused(Rs256(claims), "bad_issuer");
  claims.erase("iss");
  ExpectRefused(Rs256(claims), "bad_issuer");
  claims = Claims();
  claims["aud"] = "another-api";
  ExpectRefused(Rs256(claims), "bad_audience");
  claims["aud"] = boost::json::array{"account", "another-api"};
  ExpectRefused(Rs256(claims), "bad_audience");
  claims.erase("aud");
  ExpectRefused(Rs256(claims), "bad_audience");
  claims = Claims();
  claims.erase("sub");
  ExpectRefused(Rs256(claims), "malformed");
}

TEST_F(OidcTest, RefusesAlgorithmConfusionAndUnsignedTokens) {
  // HS256 signed with the provider's public key (PEM) as the HMAC secret: the classic confusion.
  const std::string pem = testing::PublicKeyPem(RsaKey());
  ExpectRefused(testing::SignHs256(testing::SigningInput("HS256", "rsa-1", Claims()), pem), "alg_refused");
  ExpectRefused(testing::SigningInput("none", "rsa-1", Claims()) + ".", "alg_refused");
  ExpectRefused(testing::SignWithKey(testing::SigningInput("PS256", "rsa-1", Claims()), RsaKey(), "RS256"),
                "alg_refused");
  // A kid naming an EC key on an RS256 token (and the reverse) does not pick the wrong verifier.
  ExpectRefused(Rs256(Claims(), "ec-1"), "alg_refused");
  ExpectRefused(testing::SignWithKey(testing::SigningInput("ES256", "rsa-1", Claims()), EcKey(), "ES256"),
                "alg_refused");
  // An allow-list of ES256 only refuses RS256.
  options_.algorithms = {"ES256"};
  Recreate();
  ExpectRefused(Rs256(Claims()), "alg_refused");
  EXPECT_TRUE(Verify(Es256(Claims())).ok());
}

TEST_F(OidcTest, ForgedSignatures) {
  // Signed by a key the provider does not hold, under the provider's kid.
  ExpectRefused(Rs256(Claims(), "rsa-1", RotatedRsaKey()), "bad_signature");
  // Claims changed after signing.
  const std::string good = Es256(Claims());
  boost::json::object claims = Claims();
  claims["realm_access"] = boost::json::object{{"roles", boost::json::array{"vj-admin"}}};
  const std::string payload = Base64UrlEncode(testing::Json(claims));
  ExpectRefused(good.substr(0, good.find('.') + 1) + payload + good.substr(good.rfind('.')), "bad_signature");
  ExpectRefused(good.substr(0, good.rfind('.') + 1), "bad_signature");
  ExpectRefused(Rs256(Claims(), ""), "malformed");  // no kid
}

TEST_F(OidcTest, UnknownKidRefreshesOnceThenAcceptsTheRotatedKey) {
  ASSERT_TRUE(Verify(Rs256(Claims())).ok());
  ASSERT_EQ(verifier_->fetch_count(), 1u);
  // The provider rotates: rsa-2 is published; a token signed with it arrives a minute later.
  jwks_ = testing::Jwks({testing::Jwk(RotatedRsaKey(), "rsa-2"), testing::Jwk(RsaKey(), "rsa-1")});
  const Clock::time_point later = kNow + seconds(60);
  auto p = Verify(Rs256(Claims(), "rsa-2", RotatedRsaKey()), later);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(verifier_->fetch_count(), 2u);  // exactly one refresh
  EXPECT_TRUE(Verify(Rs256(Claims(), "rsa-2", RotatedRsaKey()), later).ok());
  EXPECT_TRUE(Verify(Rs256(Claims()), later).ok());
  EXPECT_EQ(verifier_->fetch_count(), 2u);
}

TEST_F(OidcTest, ConcurrentUnknownKidsShareOneRefresh) {
  ASSERT_TRUE(Verify(Rs256(Claims())).ok());
  jwks_ = testing::Jwks({testing::Jwk(RotatedRsaKey(), "rsa-2")});
  const std::string token = Rs256(Claims(), "rsa-2", RotatedRsaKey());
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) accepted += Verify(token, kNow + seconds(60)).ok() ? 1 : 0;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 160);
  EXPECT_EQ(verifier_->fetch_count(), 2u);
}

TEST_F(OidcTest, UnknownKidRefreshesAreRateLimited) {
  ASSERT_TRUE(Verify(Rs256(Claims())).ok());
  ASSERT_EQ(verifier_->fetch_count(), 1u);
  // Forged kids within the minimum interval cause no fetch.
  for (int i = 0; i < 20; ++i) {
    ExpectRefused(Rs256(Claims(), "forged-" + std::to_string(i)), "unknown_kid", kNow + seconds(i));
  }
  EXPECT_EQ(verifier_->fetch_count(), 1u);
  // Once the interval has passed, one more fetch, then quiet again.
  ExpectRefused(Rs256(Claims(), "forged-a"), "unknown_kid", kNow + seconds(30));
  ExpectRefused(Rs256(Claims(), "forged-b"), "unknown_kid", kNow + seconds(31));
  EXPECT_EQ(verifier_->fetch_count(), 2u);
  // A new key published inside the quiet period is picked up once it ends.
  jwks_ = testing::Jwks({testing::Jwk(RotatedRsaKey(), "rsa-2")});
  ExpectRefused(Rs256(Claims(), "rsa-2", RotatedRsaKey()), "unknown_kid", kNow + seconds(40));
  EXPECT_TRUE(Verify(Rs256(Claims(), "rsa-2", RotatedRsaKey()), kNow + seconds(61)).ok());
  EXPECT_EQ(verifier_->fetch_count(), 3u);
}

TEST_F(OidcTest, PeriodicRefreshAndFetchFailures) {
  // First fetch fails: Unavailable (not the client's fault), and retried only after the interval.
  fetch_error_ = absl::UnavailableError("connection refused");
  auto p = Verify(Rs256(Claims()));
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::IsUnavailable(p.status())) << p.status();
  EXPECT_NE(std::string(p.status().message()).find("connection refused"), std::string::npos);
  EXPECT_TRUE(absl::IsUnavailable(Verify(Rs256(Claims()), kNow + seconds(5)).status()));
  EXPECT_EQ(verifier_->fetch_count(), 1u);
  fetch_error_ = absl::OkStatus();
  ASSERT_TRUE(Verify(Rs256(Claims()), kNow + seconds(30)).ok());
  EXPECT_EQ(verifier_->fetch_count(), 2u);

  // After refresh_interval the keys are fetched again; a failing or garbage fetch keeps the old keys.
  const Clock::time_point hour_later = kNow + seconds(30 + 3600);
  boost::json::object long_lived = Claims();
  long_lived["exp"] = 1'800'010'000;
  jwks_ = "{\"keys\": 5}";
  ASSERT_TRUE(Verify(Rs256(long_lived), hour_later).ok());
  EXPECT_EQ(verifier_->fetch_count(), 3u);
  fetch_error_ = absl::DeadlineExceededError("timeout");
  ASSERT_TRUE(Verify(Rs256(long_lived), hour_later + seconds(30)).ok());
  EXPECT_EQ(verifier_->fetch_count(), 4u);
  EXPECT_FALSE(verifier_->Refresh(hour_later + seconds(60)).ok());
  EXPECT_TRUE(verifier_->Refresh(hour_later + seconds(61)).ok());  // within the interval: skipped
  EXPECT_EQ(verifier_->fetch_count(), 5u);
}

TEST(Jwks, KeepsOnlyUsableSigningKeys) {
  boost::json::object enc = testing::Jwk(RsaKey(), "enc-1");
  enc["use"] = "enc";
  boost::json::object no_kid = testing::Jwk(RsaKey(), "x");
  no_kid.erase("kid");
  boost::json::object p384 = testing::Jwk(EcKey(), "p384");
  p384["crv"] = "P-384";
  boost::json::object off_curve = testing::Jwk(EcKey(), "off");
  std::string y = *Base64UrlDecode(std::string(off_curve["y"].as_string()));
  y[31] ^= 1;
  off_curve["y"] = Base64UrlEncode(y);
  const JwsPublicKey small = testing::GenerateRsaKey(1024);
  boost::json::object oct{{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}};
  auto set = ParseJwks(testing::Jwks({enc, no_kid, p384, off_curve, testing::Jwk(small, "small"), oct,
                                      testing::Jwk(RsaKey(), "good")}));
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->keys.size(), 1u);
  EXPECT_EQ(set->keys[0].kid, "good");
  EXPECT_EQ(set->skipped, 6u);
  EXPECT_NE(set->Find("good", "RS256"), nullptr);
  EXPECT_EQ(set->Find("good", "ES256"), nullptr);

  EXPECT_FALSE(ParseJwks(testing::Jwks({enc})).ok());
  EXPECT_FALSE(ParseJwks("[]").ok());
  EXPECT_FALSE(ParseJwks("{\"keys\":{}}").ok());
  EXPECT_FALSE(ParseJwks("not json").ok());
  EXPECT_FALSE(ParseJwks(std::string(kMaxJwksBytes + 1, ' ')).ok());
  // A stated alg binds the key to it.
  boost::json::object bound = testing::Jwk(RsaKey(), "bound");
  bound["alg"] = "RS512";
  auto bound_set = ParseJwks(testing::Jwks({bound}));
  ASSERT_TRUE(bound_set.ok());
  EXPECT_EQ(bound_set->Find("bound", "RS256"), nullptr);
}

TEST(OidcVerifierCreate, RefusesIncompleteOptions) {
  auto fetch = []() -> StatusOr<std::string> { return std::string("{}"); };
  OidcOptions good;
  good.issuer = kIssuer;
  good.audience = kAudience;
  good.role_grants["r"] = {Grant{"*", Permission::kRead}};
  EXPECT_TRUE(OidcVerifier::Create(good, fetch).ok());
  EXPECT_FALSE(OidcVerifier::Create(good, nullptr).ok());
  auto with = [&](auto change) {
    OidcOptions o = good;
    change(o);
    return OidcVerifier::Create(o, fetch).status();
  };
  EXPECT_FALSE(with([](OidcOptions& o) { o.issuer.clear(); }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.audience.clear(); }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.role_grants.clear(); }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.role_grants["w"] = {Grant{"a*b", Permission::kRead}}; }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.role_grants["w"] = {Grant{"*", Permission::kInternal}}; }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.algorithms = {"HS256"}; }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.algorithms.clear(); }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.roles_claim = "a..b"; }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.leeway = seconds(-1); }).ok());
  EXPECT_FALSE(with([](OidcOptions& o) { o.jwks_min_refresh_interval = seconds(0); }).ok());
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST_F(OidcTest, TenantClaimNamesThePrincipalsTenant) {
  boost::json::object claims = Claims();
  auto p = Verify(Rs256(claims));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "");
  claims["tenant"] = "acme";
  p = Verify(Rs256(claims));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant, "acme");
  for (boost::json::value bad : {boost::json::value("Acme"), boost::json::value("a~b"), boost::json::value(7),
                                 boost::json::value(std::string(33, 'a'))}) {
    claims["tenant"] = bad;
    ExpectRefused(Rs256(claims), "malformed");
  }
}

}  // namespace
}  // namespace vj

#include "security/jws.h"

#include <gtest/gtest.h>

#include "security/auth_failure.h"
#include "security/jwt_test_signer.h"

namespace vj {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;

Clock::time_point At(int64_t unix_seconds) { return Clock::time_point(seconds(unix_seconds)); }

std::string B64(std::string_view s) { return Base64UrlEncode(s); }

TEST(LooksLikeJwt, TellsTokensFromApiKeys) {
  EXPECT_TRUE(LooksLikeJwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
  EXPECT_TRUE(LooksLikeJwt("eyJhbGciOiJub25lIn0.eyJ9."));  // alg none: empty signature, still a JWT
  EXPECT_FALSE(LooksLikeJwt("my-secret-api-key"));
  EXPECT_FALSE(LooksLikeJwt("a.b"));
  EXPECT_FALSE(LooksLikeJwt("a.b.c.d"));
  EXPECT_FALSE(LooksLikeJwt(".b.c"));
  EXPECT_FALSE(LooksLikeJwt("a..c"));
  EXPECT_FALSE(LooksLikeJwt("a+b.c.d"));  // '+' is base64, not base64url
  EXPECT_FALSE(LooksLikeJwt("a.b=.c"));
}

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    auto decoded = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(decoded.ok()) << i;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 250));
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Base64Url, RefusesNonCanonicalText) {
  EXPECT_FALSE(Base64UrlDecode("YQ==").ok());  // padding
  EXPECT_FALSE(Base64UrlDecode("Y+==").ok());
  EXPECT_FALSE(Base64UrlDecode("Y/").ok());
  EXPECT_FALSE(Base64UrlDecode("YWJjZ").ok());  // 4n+1 characters
  EXPECT_FALSE(Base64UrlDecode("YR").ok());     // "a" is "YQ"; "YR" has non-zero trailing bits
  EXPECT_TRUE(Base64UrlDecode("YQ").ok());
  EXPECT_TRUE(Base64UrlDecode("").ok());
}

void ExpectRefused(std::string_view token, std::string_view reason) {
  auto parsed = ParseJws(token);
  ASSERT_FALSE(parsed.ok()) << token.substr(0, 80);
  EXPECT_TRUE(absl::IsUnauthenticated(parsed.status()));
  EXPECT_EQ(AuthFailureReason(parsed.status()), reason) << parsed.status();
  // The message never quotes the token (or a recognisable piece of it).
  if (token.size() > 8) {
    EXPECT_EQ(std::string(parsed.status().message()).find(token.substr(0, 8)), std::string::npos);
  }
}

TEST(ParseJws, RefusesMalformedTokens) {
  const std::string header = B64(R"({"alg":"HS256"})");
  const std::string payload = B64("{}");
  ASSERT_TRUE(ParseJws(header + "." + payload + ".c2ln").ok());
  ExpectRefused(header + "." + payload, "malformed");                     // 1 dot
  ExpectRefused(header + "." + payload + ".c2ln.c2ln", "malformed");      // 3 dots
  ExpectRefused(header + "." + payload + ".c2l*", "malformed");           // bad base64url
  ExpectRefused(header + "=." + payload + ".c2ln", "malformed");          // padding
  ExpectRefused(B64("[1,2]") + "." + payload + ".c2ln", "malformed");     // header JSON not an object
  ExpectRefused(B64("{\"alg\":") + "." + payload + ".c2ln", "malformed");  // header not JSON
  ExpectRefused(B64("{}") + "." + payload + ".c2ln", "malformed");        // no alg
  ExpectRefused(B64(R"({"alg":7})") + "." + payload + ".c2ln", "malformed");
  ExpectRefused(B64(R"({"alg":"HS256","kid":1})") + "." + payload + ".c2ln", "malformed");
  ExpectRefused(B64(R"({"alg":"HS256","crit":["exp"],"exp":1})") + "." + payload + ".c2ln", "malformed");
  ExpectRefused(B64(std::string(40, '[') + std::string(40, ']')) + "." + payload + ".c2ln", "malformed");
}

TEST(ParseJws, RefusesOversizedTokensBeforeDecoding) {
  const std::string header = B64(R"({"alg":"HS256"})");
  std::string payload = B64("{\"pad\":\"" + std::string(kMaxJwtBytes, 'x') + "\"}");
  ExpectRefused(header + "." + payload + ".c2ln", "malformed");
  auto parsed = ParseJws(header + "." + payload + ".c2ln");
  EXPECT_NE(std::string(parsed.status().message()).find("16 KiB"), std::string::npos);
}

TEST(ParseJws, RefusesAlgNoneInAnySpelling) {
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    ExpectRefused(B64(std::string(R"({"alg":")") + alg + "\"}") + "." + B64("{}") + ".", "alg_refused");
  }
}

TEST(CheckJwtTimes, AppliesTheLeewayAtBothEnds) {
  const boost::json::object claims{{"exp", 1000}, {"nbf", 500}};
  EXPECT_TRUE(CheckJwtTimes(claims, At(1030), seconds(30), true).ok());
  EXPECT_EQ(AuthFailureReason(CheckJwtTimes(claims, At(1031), seconds(30), true)), "expired");
  EXPECT_TRUE(CheckJwtTimes(claims, At(470), seconds(30), true).ok());
  EXPECT_EQ(AuthFailureReason(CheckJwtTimes(claims, At(469), seconds(30), true)), "not_yet_valid");
  EXPECT_EQ(AuthFailureReason(CheckJwtTimes(boost::json::object{{"exp", 1000.5}}, At(1001), seconds(0), true)),
            "expired");
  EXPECT_TRUE(CheckJwtTimes(boost::json::object{}, At(1), seconds(0), false).ok());
  EXPECT_EQ(AuthFailureReason(CheckJwtTimes(boost::json::object{}, At(1), seconds(0), true)), "malformed");
  EXPECT_EQ(AuthFailureReason(CheckJwtTimes(boost::json::object{{"exp", "soon"}}, At(1), seconds(0), false)),
            "malformed");
  EXPECT_EQ(AuthFailureReason(CheckJwtTimes(boost::json::object{{"nbf", -5}}, At(1), seconds(0), false)),
            "malformed");
}

TEST(VerifyWithPublicKey, ChecksRs256AndEs256Signatures) {
  const JwsPublicKey rsa = testing::GenerateRsaKey();
  const JwsPublicKey ec = testing::GenerateEcP256Key();
  const std::string input = testing::SigningInput("RS256", "k", {{"sub", "x"}});
  for (const auto& [key, alg] : {std::pair{rsa, "RS256"}, std::pair{ec, "ES256"}}) {
    const std::string token = testing::SignWithKey(input, key, alg);
    auto jws = ParseJws(token);
    ASSERT_TRUE(jws.ok());
    EXPECT_TRUE(VerifyWithPublicKey(key, alg, jws->signing_input, jws->signature)) << alg;
    std::string flipped = jws->signature;
    flipped[flipped.size() / 2] ^= 1;
    EXPECT_FALSE(VerifyWithPublicKey(key, alg, jws->signing_input, flipped)) << alg;
    EXPECT_FALSE(VerifyWithPublicKey(key, alg, jws->signing_input + "x", jws->signature)) << alg;
    EXPECT_FALSE(VerifyWithPublicKey(key, "HS256", jws->signing_input, jws->signature)) << alg;
  }
  // A key of the other type never verifies.
  const std::string es = testing::SignWithKey(input, ec, "ES256");
  auto jws = ParseJws(es);
  EXPECT_FALSE(VerifyWithPublicKey(rsa, "ES256", jws->signing_input, jws->signature));
  EXPECT_FALSE(VerifyWithPublicKey(ec, "RS256", jws->signing_input, jws->signature));
  EXPECT_FALSE(VerifyWithPublicKey(ec, "ES256", jws->signing_input, jws->signature.substr(1)));
}

}  // namespace
}  // namespace vj

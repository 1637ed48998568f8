// SigV4 against AWS's published examples: the Signature Version 4 test suite (get-vanilla,
// post-vanilla; credentials AKIDEXAMPLE), the 2011 suite's query-order example, and the Amazon S3 API
// reference's "GET Object" example (Authenticating Requests: Using the Authorization Header).
#include "backup/sigv4.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SigV4Credentials SuiteCredentials() { return {"AKIDEXAMPLE", kSuiteSecret, "us-east-1", "service"}; }

SigV4Request Vanilla(const std::string& method) {
  SigV4Request r;
  r.method = method;
  r.encoded_path = "/";
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_sha256 = kEmptySha256;
  return r;
}

TEST(SigV4Test, GetVanilla) {
  EXPECT_EQ(SigV4Authorization(Vanilla("GET"), SuiteCredentials(), "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, PostVanilla) {
  EXPECT_EQ(SigV4Authorization(Vanilla("POST"), SuiteCredentials(), "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Test, QueryOrderCanonicalRequestAndSignature) {
  SigV4Request r;
  r.method = "GET";
  r.encoded_path = "/";
  r.query = {{"foo", "Zoo"}, {"foo", "aha"}};
  r.headers = {{"Date", "Mon, 09 Sep 2011 23:36:00 GMT"}, {"Host", "host.foo.com"}};
  r.payload_sha256 = kEmptySha256;
  std::string signed_headers;
  const std::string canonical = SigV4CanonicalRequest(r, &signed_headers);
  EXPECT_EQ(canonical, std::string("GET\n/\nfoo=Zoo&foo=aha\ndate:Mon, 09 Sep 2011 23:36:00 GMT\nhost:host.foo.com\n\n"
                                   "date;host\n") + kEmptySha256);
  EXPECT_EQ(signed_headers, "date;host");
  const std::string to_sign = SigV4StringToSign("20110909T233600Z", "20110909/us-east-1/host/aws4_request", canonical);
  EXPECT_EQ(to_sign,
            "AWS4-HMAC-SHA256\n20110909T233600Z\n20110909/us-east-1/host/aws4_request\n"
            "e25f777ba161a0f1baf778a87faf057187cf5987f17953320e3ca399feb5f00d");
  EXPECT_EQ(SigV4Signature({"AKIDEXAMPLE", kSuiteSecret, "us-east-1", "host"}, "20110909", to_sign),
            "be7148d34ebccdc6423b19085378aa0bee970bdc61d144bd1a8c48c33079ab09");
}

TEST(SigV4Test, S3GetObjectExample) {
  SigV4Request r;
  r.method = "GET";
  r.encoded_path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptySha256},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_sha256 = kEmptySha256;
  const SigV4Credentials s3{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
  EXPECT_EQ(SigV4Authorization(r, s3, "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, EncodingAndHeaderNormalisation) {
  EXPECT_EQ(UriEncode("a b/c~d$e", true), "a%20b/c~d%24e");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  SigV4Request r;
  r.method = "GET";
  r.encoded_path = "/";
  r.headers = {{"My-Header1", "  a   b  "}, {"my-header1", "c"}, {"Host", "h"}};
  r.payload_sha256 = kEmptySha256;
  std::string signed_headers;
  const std::string canonical = SigV4CanonicalRequest(r, &signed_headers);
  EXPECT_NE(canonical.find("my-header1:a b,c\n"), std::string::npos) << canonical;
  EXPECT_EQ(signed_headers, "host;my-header1");
}

}  // namespace
}  // namespace vj

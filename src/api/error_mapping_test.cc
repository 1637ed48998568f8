#include "api/error_mapping.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/payload.h"
#include "core/retry_after.h"

namespace vj {
namespace {

TEST(ErrorMappingTest, FilePathsAreRedactedApiPathsStay) {
  // "/tmp" exists on every machine that runs the tests; "/collections" does not.
  EXPECT_EQ(RedactFilePaths("cannot create /tmp/vj-1/data/collections/demo: Not a directory"),
            "cannot create .../demo: Not a directory");
  EXPECT_EQ(RedactFilePaths("IO error: While open a file for appending: /tmp/d/collections/a/000012.log: "
                            "No space left on device"),
            "IO error: While open a file for appending: .../000012.log: No space left on device");
  EXPECT_EQ(RedactFilePaths("cannot rename '/tmp/a/index.tmp' to \"/tmp/a/index\"."),
            "cannot rename '.../index.tmp' to \".../index\".");
  EXPECT_EQ(RedactFilePaths("cannot remove ./data/collections/x/"), "cannot remove .../x");
  EXPECT_EQ(RedactFilePaths("no such endpoint: GET /collections/a/nope"), "no such endpoint: GET /collections/a/nope");
  EXPECT_EQ(RedactFilePaths("a/b and 1.5 and .trash and / alone"), "a/b and 1.5 and .trash and / alone");
  EXPECT_EQ(RedactFilePaths(""), "");
}

TEST(ErrorMappingTest, RateLimitAnswers429WithItsRetryAfter) {
  Response r = ErrorResponse(RetryAfterError("write rate limit exceeded", 7), 0.1);
  EXPECT_EQ(r.status, 429);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(r.headers[0].second, "7");
  // A plain ResourceExhausted (a request limit) has no Retry-After; Unavailable keeps its 1 s.
  EXPECT_TRUE(ErrorResponse(absl::ResourceExhaustedError("x"), 0).headers.empty());
  Response busy = ErrorResponse(absl::UnavailableError("queue full"), 0);
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0].second, "1");
  EXPECT_EQ(RetryAfterSeconds(RetryAfterError("x", 0)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::InternalError("x")), std::nullopt);
}

TEST(ErrorMappingTest, ErrorBodyCarriesTheRedactedMessage) {
  Response r = ErrorResponse(absl::UnavailableError("cannot create /tmp/x/y/z: Not a directory"), 0.5);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.find("/tmp"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("cannot create .../z: Not a directory"), std::string::npos) << r.body;
}

// A message that quotes a huge client input is cut before redaction (per word) and logging, and the
// cut leaves valid JSON even inside a multi-byte character.
TEST(ErrorMappingTest, LongMessagesAreCut) {
  const std::string huge = "unknown field \"" + std::string(3000, 'x') + "\u00e9" + std::string(3000, 'y');
  Response r = ErrorResponse(absl::InvalidArgumentError(huge), 0);
  EXPECT_LT(r.body.size(), 2300u);
  EXPECT_NE(r.body.find("(cut)"), std::string::npos);
  const std::string split = std::string(2047, 'a') + "\xC3\xA9";  // the cut falls inside the é
  Response s = ErrorResponse(absl::InvalidArgumentError(split), 0);
  EXPECT_TRUE(ParseJson(s.body).ok()) << s.body.substr(s.body.size() - 40);
}

// A full disk is 507 Insufficient Storage, kept apart from limits and overload (429), also after a
// layer adds context and after a peer's answer is read back.
TEST(ErrorMappingTest, DiskFullIs507LimitsStay429) {
  const Status full = WithContext(DiskFullError("no space left on the data directory"), "shard 3");
  EXPECT_TRUE(IsDiskFull(full));
  EXPECT_EQ(HttpStatusFor(full), 507);
  EXPECT_EQ(HttpStatusFor(absl::ResourceExhaustedError("write queue full")), 429);
  Response r = ErrorResponse(full, 0);
  EXPECT_EQ(r.status, 507);
  EXPECT_NE(r.body.find("shard 3: no space left on the data directory"), std::string::npos) << r.body;
  const Status back = StatusFromHttp(507, r.body);
  EXPECT_TRUE(IsDiskFull(back)) << back;
  EXPECT_EQ(HttpStatusFor(back), 507);
  EXPECT_FALSE(IsDiskFull(StatusFromHttp(429, "{}")));
}

}  // namespace
}  // namespace vj

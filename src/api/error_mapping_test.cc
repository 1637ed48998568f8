#include "api/error_mapping.h"

#include <gtest/gtest.h>

#include <filesystem>

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

TEST(ErrorMappingTest, ErrorBodyCarriesTheRedactedMessage) {
  Response r = ErrorResponse(absl::UnavailableError("cannot create /tmp/x/y/z: Not a directory"), 0.5);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.find("/tmp"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("cannot create .../z: Not a directory"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace vj

#include "api/multipart.h"

#include <gtest/gtest.h>

#include <string>

namespace vj {
namespace {

const std::string kType = "multipart/form-data; boundary=----b0undary";

std::string Body(const std::string& content) {
  return "------b0undary\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n"
         "------b0undary\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"a.snapshot\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n" +
         content + "\r\n------b0undary--\r\n";
}

TEST(MultipartTest, FindsTheFieldWithBinaryContent) {
  const std::string content("\0\r\n--not-the-boundary\r\n\xff", 25);
  const std::string body = Body(content);
  auto field = MultipartField(kType, body, "snapshot");
  ASSERT_TRUE(field.ok()) << field.status();
  EXPECT_EQ(*field, content);
  auto quoted = MultipartField("multipart/form-data; boundary=\"----b0undary\"", body, "other");
  ASSERT_TRUE(quoted.ok()) << quoted.status();
  EXPECT_EQ(*quoted, "x");
}

TEST(MultipartTest, RefusesWhatIsMissingOrTruncated) {
  const std::string body = Body("data");
  EXPECT_FALSE(MultipartField("application/json", body, "snapshot").ok());
  EXPECT_FALSE(MultipartField("multipart/form-data", body, "snapshot").ok());
  EXPECT_FALSE(MultipartField(kType, body, "missing").ok());
  EXPECT_FALSE(MultipartField(kType, body.substr(0, body.size() - 30), "snapshot").ok());
  EXPECT_FALSE(MultipartField(kType, "", "snapshot").ok());
  EXPECT_FALSE(MultipartField(kType, "------b0undary", "snapshot").ok());
}

}  // namespace
}  // namespace vj

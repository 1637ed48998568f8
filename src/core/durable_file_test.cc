#include "core/durable_file.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace vj {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class WriteFileDurablyTest : public ::testing::Test {
 protected:
  WriteFileDurablyTest() {
    std::string tmpl = std::filesystem::temp_directory_path() / "vj_durable_file_XXXXXX";
    dir_ = mkdtemp(tmpl.data());
  }
  ~WriteFileDurablyTest() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(WriteFileDurablyTest, ReplacesTheFileAndLeavesNoTemporary) {
  const std::string path = dir_ + "/meta.json";
  ASSERT_TRUE(WriteFileDurably(path, "first").ok());
  EXPECT_EQ(Read(path), "first");
  ASSERT_TRUE(WriteFileDurably(path, std::string("sec\0nd", 6)).ok());
  EXPECT_EQ(Read(path), std::string("sec\0nd", 6));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(WriteFileDurablyTest, FailureKeepsTheOldContentAndNamesTheFile) {
  const std::string path = dir_ + "/missing/meta.json";
  Status s = WriteFileDurably(path, "x");
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(std::string(s.message()).find(path + ".tmp"), std::string::npos) << s;

  // A directory where the file should be: the rename fails, the temporary file is gone.
  const std::string blocked = dir_ + "/blocked";
  std::filesystem::create_directories(blocked + "/inside");
  s = WriteFileDurably(blocked, "x");
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(std::filesystem::exists(blocked + ".tmp"));
  EXPECT_TRUE(std::filesystem::is_directory(blocked));
}

}  // namespace
}  // namespace vj

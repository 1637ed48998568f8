// A temporary directory for tests (any module's), removed on destruction. Not thread-safe.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace vj {

class TestDir {
 public:
  TestDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vjtest-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  // The path of `name` inside the directory.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace vj

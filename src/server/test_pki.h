// Pki: a throwaway CA and certificates it signs, made with the openssl command in a temporary directory
// (tests only). Thread-safety: none needed; one per test.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "core/test_dir.h"

namespace vj {

// A CA and certificates signed by it, made with the openssl command in a fresh temporary directory.
class Pki {
 public:
  Pki() {
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
        "-out ca.crt -days 2 -subj /CN=test-ca");
  }

  // name.key + name.crt with subject CN=cn, signed by the CA, valid for `san`.
  void Issue(const std::string& name, const std::string& cn,
             const std::string& san = "IP:127.0.0.1,DNS:localhost") {
    Write(name + ".ext", "subjectAltName=" + san + "\n");
    Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name + ".key -out " +
        name + ".csr -subj /CN=" + cn);
    Run("openssl x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " + name +
        ".crt -extfile " + name + ".ext");
  }
  std::string Path(const std::string& file) const { return dir_.File(file); }
  void Write(const std::string& file, const std::string& text) const { std::ofstream(Path(file)) << text; }

 private:
  void Run(const std::string& command) const {
    const std::string full = "cd " + dir_.path() + " && " + command + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(full.c_str()), 0) << full;
  }
  TestDir dir_;
};

}  // namespace vj

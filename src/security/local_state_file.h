// LocalSecurityStateBackend: the security state of a standalone node in <data_dir>/security/state.json,
// readable by the node's user only (0600, in a 0700 directory), replaced atomically with
// WriteFileDurably (a crash leaves the old document or the new one).
// Thread-safety: Load and Store may be called concurrently (Store calls are serialized inside).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "security/security_state_backend.h"

namespace vj {

class LocalSecurityStateBackend : public SecurityStateBackend {
 public:
  // Creates <data_dir>/security when missing; Unavailable naming it when that fails.
  static StatusOr<std::unique_ptr<LocalSecurityStateBackend>> Open(const std::string& data_dir);

  StatusOr<std::string> Load() override;
  Status Store(const std::string& document) override;
  void OnChange(std::function<void()> callback) override {}  // this process is the only writer
  std::string Describe() const override { return "file " + path_; }

  const std::string& path() const { return path_; }

 private:
  explicit LocalSecurityStateBackend(std::string path) : path_(std::move(path)) {}

  const std::string path_;
  std::mutex store_mu_;  // WriteFileDurably's temporary file is per path
};

}  // namespace vj

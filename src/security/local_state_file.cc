#include "security/local_state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "core/durable_file.h"

namespace vj {

// The largest document read back: 10000 keys of a few hundred bytes and 1000 roles fit many times over.
constexpr size_t kMaxDocumentBytes = 256u << 20;

StatusOr<std::unique_ptr<LocalSecurityStateBackend>> LocalSecurityStateBackend::Open(const std::string& data_dir) {
  const std::string dir = data_dir + "/security";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec) std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (ec) return absl::UnavailableError("cannot create " + dir + ": " + ec.message());
  return std::unique_ptr<LocalSecurityStateBackend>(new LocalSecurityStateBackend(dir + "/state.json"));
}

StatusOr<std::string> LocalSecurityStateBackend::Load() {
  // Through the file seam: the plaintext, decrypted when the data directory is encrypted.
  StatusOr<int> opened = OpenPlainFile(path_);
  if (absl::IsNotFound(opened.status())) return std::string();
  if (!opened.ok()) return opened.status();
  const int fd = *opened;
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return absl::UnavailableError("cannot read " + path_ + ": " + std::strerror(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxDocumentBytes) {
      ::close(fd);
      return absl::DataLossError(path_ + ": larger than " + std::to_string(kMaxDocumentBytes) + " bytes");
    }
  }
  ::close(fd);
  // An empty file is not "nothing stored": WriteFileDurably never leaves one, so it is damage.
  if (out.empty()) return absl::DataLossError(path_ + ": the file is empty");
  return out;
}

Status LocalSecurityStateBackend::Store(const std::string& document) {
  std::lock_guard<std::mutex> lock(store_mu_);
  return WriteFileDurably(path_, document);
}

}  // namespace vj

// BackupTarget on a local directory, and OpenBackupTarget (backup_target.h).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backup/backup_target.h"
#include "core/durable_file.h"

namespace vj {
namespace fs = std::filesystem;
namespace {

// WriteFileDurably's temporary files: not objects.
bool IsTemporary(const std::string& name) { return name.size() > 4 && name.substr(name.size() - 4) == ".tmp"; }

class DirectoryTarget final : public BackupTarget {
 public:
  explicit DirectoryTarget(std::string dir) : dir_(std::move(dir)) {}

  std::string Describe() const override { return "file://" + dir_; }

  Status Put(const std::string& key, std::string_view bytes) override {
    const fs::path path = fs::path(dir_) / key;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return absl::UnavailableError("backup target: cannot create " + path.parent_path().string() + ": " + ec.message());
    // Sealing::kNever: the bytes are stored as given (files of an encrypted collection are encrypted
    // already; the backup directory has no key of its own).
    return WriteFileDurably(path.string(), bytes, Sealing::kNever);
  }

  StatusOr<std::string> Get(const std::string& key) override {
    const std::string path = dir_ + "/" + key;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::error_code ec;
      if (!fs::exists(path, ec)) return absl::NotFoundError("backup target: no object " + key);
      return absl::UnavailableError("backup target: cannot read " + path);
    }
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) return absl::UnavailableError("backup target: cannot read " + path);
    return out.str();
  }

  StatusOr<std::vector<std::string>> List(const std::string& prefix) override {
    std::vector<std::string> keys;
    std::error_code ec;
    if (!fs::exists(dir_, ec)) return keys;
    for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      const std::string key = fs::relative(it->path(), dir_).generic_string();
      if (key.rfind(prefix, 0) == 0 && !IsTemporary(key)) keys.push_back(key);
    }
    if (ec) return absl::UnavailableError("backup target: cannot list " + dir_ + ": " + ec.message());
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Status Delete(const std::string& key) override {
    std::error_code ec;
    fs::remove(fs::path(dir_) / key, ec);
    if (ec) return absl::UnavailableError("backup target: cannot remove " + key + ": " + ec.message());
    return absl::OkStatus();
  }

 private:
  const std::string dir_;
};

std::string EnvOr(const char* name, const char* fallback, const std::string& value) {
  for (const char* n : {name, fallback}) {
    const char* v = std::getenv(n);
    if (v != nullptr && *v != '\0') return v;
  }
  return value;
}

}  // namespace

std::unique_ptr<BackupTarget> NewDirectoryTarget(const std::string& dir) {
  return std::make_unique<DirectoryTarget>(dir);
}

S3Settings S3SettingsFromEnvironment(S3Settings base) {
  base.endpoint = EnvOr("VJVECTOR_BACKUP_S3_ENDPOINT", "AWS_ENDPOINT_URL", base.endpoint);
  base.region = EnvOr("VJVECTOR_BACKUP_S3_REGION", "AWS_REGION", base.region);
  base.access_key_id = EnvOr("VJVECTOR_BACKUP_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", base.access_key_id);
  base.secret_access_key =
      EnvOr("VJVECTOR_BACKUP_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", base.secret_access_key);
  return base;
}

StatusOr<std::unique_ptr<BackupTarget>> OpenBackupTarget(const std::string& uri, const S3Settings& s3) {
  if (uri.empty()) return absl::InvalidArgumentError("uri: empty; expected file:///path, /path or s3://bucket/prefix");
  if (uri.rfind("s3://", 0) == 0) {
    const std::string rest = uri.substr(5);
    const size_t slash = rest.find('/');
    const std::string bucket = rest.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (bucket.empty()) return absl::InvalidArgumentError("uri: s3:// names no bucket");
    return NewS3Target(bucket, prefix, s3);
  }
  std::string path = uri;
  if (uri.rfind("file://", 0) == 0) {
    path = uri.substr(7);
  } else if (uri.find("://") != std::string::npos) {
    return absl::InvalidArgumentError("uri: expected file:///path, /path or s3://bucket/prefix, got \"" +
                                      uri.substr(0, 128) + "\"");
  }
  if (path.empty()) return absl::InvalidArgumentError("uri: file:// names no directory");
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  if (ec) return absl::InvalidArgumentError("uri: bad path " + path);
  std::string dir = absolute.lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return NewDirectoryTarget(dir);
}

}  // namespace vj

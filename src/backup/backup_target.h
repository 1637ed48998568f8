// BackupTarget: where backups are kept, as a flat namespace of objects named by keys such as
// "blobs/sha256/<hex>" and "backups/<id>.json". Two kinds, chosen by the URI (OpenBackupTarget):
//   file:///var/backups/vj  or  /var/backups/vj    a directory (objects are files under it)
//   s3://bucket/prefix                             S3-compatible object storage (SigV4, path-style
//                                                  requests to S3Settings::endpoint)
// Put is atomic: an object is seen whole or not at all (a directory writes a temporary file, fsyncs
// and renames it; S3 makes a PUT visible only when complete). Backups rely on that to write their
// manifest last (docs/backup.md).
//
// Credentials (S3Settings) are used to sign requests and never appear in errors, logs or Describe().
//
// Thread-safety: a target may be used from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vj {

class BackupTarget {
 public:
  virtual ~BackupTarget() = default;
  // The target's URI, without credentials (for messages).
  virtual std::string Describe() const = 0;
  [[nodiscard]] virtual Status Put(const std::string& key, std::string_view bytes) = 0;
  // NotFound when there is no such object.
  [[nodiscard]] virtual StatusOr<std::string> Get(const std::string& key) = 0;
  // Every key that starts with `prefix`, sorted.
  [[nodiscard]] virtual StatusOr<std::vector<std::string>> List(const std::string& prefix) = 0;
  // OK when the object does not exist.
  [[nodiscard]] virtual Status Delete(const std::string& key) = 0;
};

// How to reach S3-compatible storage. Settings backup.s3.* (docs/operations.md), overridden by the
// environment (S3SettingsFromEnvironment).
struct S3Settings {
  std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000"
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;
};

// `base` with each field replaced by the environment variable that is set and not empty:
// VJVECTOR_BACKUP_S3_ENDPOINT (else AWS_ENDPOINT_URL), VJVECTOR_BACKUP_S3_REGION (else AWS_REGION),
// VJVECTOR_BACKUP_S3_ACCESS_KEY_ID (else AWS_ACCESS_KEY_ID), VJVECTOR_BACKUP_S3_SECRET_ACCESS_KEY (else
// AWS_SECRET_ACCESS_KEY).
S3Settings S3SettingsFromEnvironment(S3Settings base);

// The target `uri` names. InvalidArgument naming "uri" for a malformed URI, or an s3:// URI without an
// endpoint or credentials in `s3`.
[[nodiscard]] StatusOr<std::unique_ptr<BackupTarget>> OpenBackupTarget(const std::string& uri,
                                                                       const S3Settings& s3);

// The two kinds, for tests.
std::unique_ptr<BackupTarget> NewDirectoryTarget(const std::string& dir);
[[nodiscard]] StatusOr<std::unique_ptr<BackupTarget>> NewS3Target(const std::string& bucket,
                                                                  const std::string& prefix,
                                                                  const S3Settings& s3);

}  // namespace vj

// The backup commands of the vjvector binary (docs/backup.md):
//   vjvector backup create --to URI [--url http://127.0.0.1:6333] [--api-key K] [--ca-file F]
//       asks a running node (POST /vjvector/backups) for a backup of every collection;
//   vjvector backup list|verify|prune --from URI ...  and  vjvector restore --from URI --backup ID
//   --data-dir D  work on the target directly (no node needed; restore wants the node stopped).
// Each prints one JSON object on stdout and returns the process's exit status (0 ok, 1 failed, 2 bad
// arguments). S3 settings come from the environment (backup/backup_target.h S3SettingsFromEnvironment).
// Also the server side of POST /vjvector/backups (BackupRoute).
// Thread-safety: the commands run on the main thread; BackupRoute's function may be called from any
// thread and runs one backup at a time (a second caller gets ResourceExhausted).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "backup/backup_target.h"
#include "collection/database.h"
#include "core/status.h"

namespace vj {

// Adds `backup` (create, list, verify, prune) and `restore` to `app`. Call Run after parsing.
class BackupCommands {
 public:
  explicit BackupCommands(CLI::App& app);
  // Whether one of the commands was given.
  bool parsed() const;
  int Run();

 private:
  CLI::App* backup_ = nullptr;
  CLI::App* create_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* prune_ = nullptr;
  CLI::App* restore_ = nullptr;
  std::string uri_;
  std::string id_;
  std::string url_ = "http://127.0.0.1:6333";
  std::string api_key_;
  std::string ca_file_;
  std::string data_dir_;
  std::string scratch_;
  size_t keep_ = 0;
  int timeout_s_ = 3600;
};

// POST /vjvector/backups's work on a standalone node: the target's URI -> the backup's summary.
std::function<StatusOr<boost::json::value>(const std::string& uri)> BackupRoute(Database& database,
                                                                                 S3Settings s3);

}  // namespace vj

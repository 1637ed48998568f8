#include "tools/backup_cli.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <spdlog/spdlog.h>

#include "backup/backup.h"
#include "cluster/http_client.h"

namespace vj {
namespace json = boost::json;
namespace {

json::object StatsJson(const BackupStats& s, const std::string& target) {
  return json::object{{"id", s.id},
                      {"target", target},
                      {"collections", s.collections},
                      {"files", s.files},
                      {"points", s.points},
                      {"bytes", s.bytes},
                      {"chunks", s.chunks},
                      {"chunks_uploaded", s.chunks_uploaded},
                      {"bytes_uploaded", s.bytes_uploaded},
                      {"seconds", s.seconds}};
}

int Print(const json::value& v) {
  std::printf("%s\n", json::serialize(v).c_str());
  return 0;
}

int Fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "vjvector %s: %s\n", what.c_str(), StatusMessage(status).c_str());
  return absl::IsInvalidArgument(status) ? 2 : 1;
}

StatusOr<std::unique_ptr<BackupTarget>> Target(const std::string& uri) {
  return OpenBackupTarget(uri, S3SettingsFromEnvironment({}));
}

}  // namespace

BackupCommands::BackupCommands(CLI::App& app) {
  backup_ = app.add_subcommand("backup", "Backups of a node's collections (docs/backup.md)");
  backup_->require_subcommand(1);
  create_ = backup_->add_subcommand("create", "Ask a running node for a backup of every collection");
  create_->add_option("--to", uri_, "file:///path, /path or s3://bucket/prefix")->required();
  create_->add_option("--url", url_, "the node's REST URL (default http://127.0.0.1:6333)");
  create_->add_option("--api-key", api_key_, "an admin API key (default: $VJVECTOR_API_KEY)");
  create_->add_option("--ca-file", ca_file_, "CA certificates for an https:// node (default: the system's)");
  create_->add_option("--timeout-s", timeout_s_, "give up waiting after this long (default 3600)")
      ->check(CLI::Range(1, 7 * 86400));
  list_ = backup_->add_subcommand("list", "The backups in a target, oldest first");
  list_->add_option("--from", uri_, "file:///path, /path or s3://bucket/prefix")->required();
  verify_ = backup_->add_subcommand(
      "verify", "Restore a backup into a scratch directory and compare its counts and checksums");
  verify_->add_option("--from", uri_, "file:///path, /path or s3://bucket/prefix")->required();
  verify_->add_option("--backup", id_, "the backup's id (default: the newest)");
  verify_->add_option("--scratch", scratch_, "scratch directory (must not exist; default: under $TMPDIR)");
  prune_ = backup_->add_subcommand("prune", "Keep the N newest backups; delete the others' unshared files");
  prune_->add_option("--from", uri_, "file:///path, /path or s3://bucket/prefix")->required();
  prune_->add_option("--keep", keep_, "how many of the newest backups to keep")->required()->check(CLI::Range(1, 1000000));
  restore_ = app.add_subcommand("restore", "Restore a backup into a (fresh) data directory of a stopped node");
  restore_->add_option("--from", uri_, "file:///path, /path or s3://bucket/prefix")->required();
  restore_->add_option("--backup", id_, "the backup's id (default: the newest)");
  restore_->add_option("--data-dir", data_dir_, "the data directory to restore into")->required();
}

bool BackupCommands::parsed() const { return backup_->parsed() || restore_->parsed(); }

int BackupCommands::Run() {
  if (create_->parsed()) {
    if (api_key_.empty()) {
      if (const char* k = std::getenv("VJVECTOR_API_KEY")) api_key_ = k;
    }
    HttpClientOptions options;
    options.request_timeout = std::chrono::seconds(timeout_s_);
    options.tls.ca_file = ca_file_;
    HttpClient client(options);
    HttpHeaders headers;
    if (!api_key_.empty()) headers.emplace_back("api-key", api_key_);
    std::string base = url_;
    while (!base.empty() && base.back() == '/') base.pop_back();
    auto answer = client.Send("POST", base + "/vjvector/backups", json::serialize(json::object{{"to", uri_}}), headers);
    if (!answer.ok()) return Fail("backup create", answer.status());
    if (answer->status != 200) {
      std::fprintf(stderr, "vjvector backup create: the node answered HTTP %d: %s\n", answer->status,
                   answer->body.substr(0, 2000).c_str());
      return 1;
    }
    try {
      json::value body = json::parse(answer->body);
      return Print(body.as_object().at("result"));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "vjvector backup create: unexpected answer: %s\n", answer->body.substr(0, 500).c_str());
      return 1;
    }
  }
  const std::string what = restore_->parsed() ? "restore" : "backup";
  auto target = Target(uri_);
  if (!target.ok()) return Fail(what, target.status());
  if (list_->parsed()) {
    auto backups = ListBackups(**target);
    if (!backups.ok()) return Fail("backup list", backups.status());
    json::array out;
    for (const BackupManifest& m : *backups) {
      json::array collections;
      for (const BackupCollection& c : m.collections) {
        json::array shards;
        for (const BackupShard& s : c.shards) {
          shards.push_back(json::object{{"shard", s.shard}, {"sequence", s.sequence}, {"points", s.points}});
        }
        collections.push_back(json::object{{"name", c.name}, {"encrypted", c.encrypted}, {"shards", std::move(shards)}});
      }
      out.push_back(json::object{{"id", m.id},
                                 {"created_at", m.created_at},
                                 {"points", m.Points()},
                                 {"bytes", m.Bytes()},
                                 {"collections", std::move(collections)}});
    }
    return Print(json::object{{"target", (*target)->Describe()}, {"backups", std::move(out)}});
  }
  if (prune_->parsed()) {
    auto report = PruneBackups(**target, keep_);
    if (!report.ok()) return Fail("backup prune", report.status());
    json::array deleted;
    for (const std::string& id : report->deleted_backups) deleted.push_back(json::string(id));
    return Print(json::object{{"deleted_backups", std::move(deleted)},
                              {"blobs_deleted", report->blobs_deleted},
                              {"blobs_kept", report->blobs_kept}});
  }
  // verify and restore: the backup named, or the newest.
  if (id_.empty()) {
    auto backups = ListBackups(**target);
    if (!backups.ok()) return Fail(what, backups.status());
    if (backups->empty()) return Fail(what, absl::NotFoundError("no backup in " + (*target)->Describe()));
    id_ = backups->back().id;
  }
  if (verify_->parsed()) {
    if (scratch_.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      scratch_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/vjvector-verify-" +
                 std::to_string(::getpid());
    }
    auto report = VerifyBackup(**target, id_, scratch_);
    if (!report.ok()) return Fail("backup verify", report.status());
    return Print(json::object{{"id", id_},
                              {"ok", true},
                              {"collections", report->collections},
                              {"shards", report->shards},
                              {"shards_opened", report->shards_opened},
                              {"points", report->points},
                              {"bytes", report->bytes}});
  }
  RestoreStats stats;
  if (Status restored = RestoreBackup(**target, id_, data_dir_, &stats); !restored.ok()) {
    return Fail("restore", restored);
  }
  return Print(json::object{{"id", id_},
                            {"data_dir", data_dir_},
                            {"collections", stats.collections},
                            {"files", stats.files},
                            {"bytes", stats.bytes}});
}

std::function<StatusOr<json::value>(const std::string& uri)> BackupRoute(Database& database, S3Settings s3) {
  auto running = std::make_shared<std::mutex>();
  return [&database, s3 = std::move(s3), running](const std::string& uri) -> StatusOr<json::value> {
    std::unique_lock<std::mutex> lock(*running, std::try_to_lock);
    if (!lock.owns_lock()) return absl::ResourceExhaustedError("a backup is running already; retry when it is done");
    VJ_ASSIGN_OR_RETURN(std::unique_ptr<BackupTarget> target, OpenBackupTarget(uri, s3));
    auto stats = CreateBackup(database, *target);
    if (!stats.ok()) {
      spdlog::error("backup to {} failed: {}", target->Describe(), StatusMessage(stats.status()));
      // The target's refusals (no such bucket, credentials refused) are not the caller's: not 404/403.
      if (absl::IsPermissionDenied(stats.status()) || absl::IsNotFound(stats.status())) {
        return absl::FailedPreconditionError(StatusMessage(stats.status()));
      }
      return stats.status();
    }
    spdlog::info("backup {} to {}: {} collections, {} points, {} bytes, {} uploaded ({} of {} chunks) in {:.2f} s",
                 stats->id, target->Describe(), stats->collections, stats->points, stats->bytes,
                 stats->bytes_uploaded, stats->chunks_uploaded, stats->chunks, stats->seconds);
    return StatsJson(*stats, target->Describe());
  };
}

}  // namespace vj

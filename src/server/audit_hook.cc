#include "server/audit_hook.h"

#include <spdlog/spdlog.h>

#include "audit/audit_verify.h"

namespace vj {

StatusOr<std::unique_ptr<AuditLog>> OpenAuditLog(const ServerConfig& config, const std::string& node) {
  if (!config.audit_enabled) return std::unique_ptr<AuditLog>();
  AuditLogOptions options;
  options.path = config.audit_path;
  if (options.path.empty() && !config.audit_stdout) options.path = config.data_dir + "/audit/audit.log";
  options.to_stdout = config.audit_stdout;
  options.max_file_bytes = config.audit_max_file_bytes;
  options.max_files = config.audit_max_files;
  options.fsync = config.audit_fsync;
  options.node = node;
  options.queue_records = config.audit_queue_records;
  options.block_when_full = config.audit_queue_full == "block";
  if (!config.audit_hmac_key_file.empty()) {
    StatusOr<std::string> key = ReadAuditKeyFile(config.audit_hmac_key_file);
    if (!key.ok()) return WithContext(key.status(), "audit.hmac_key_file");
    options.hmac_key = std::move(*key);
  }
  return AuditLog::Open(std::move(options));
}

bool IsAdminAction(const RouteSpec& route) {
  if (route.method == "GET") return false;
  // Node-wide changes, and the collection actions that take or replace data wholesale: snapshots
  // (create, recover, upload, delete) and deleting a collection (over REST or gRPC).
  return route.permission == Permission::kAdmin || route.pattern.find("/snapshots") != std::string_view::npos ||
         (route.method == "DELETE" && route.pattern == "/collections/{name}") ||
         route.pattern == "/qdrant.Collections/Delete";
}

AuditEvent AuditEventOf(const AuditedRequest& a) {
  AuditEvent e;
  e.request_id = a.context.request_id;
  if (a.context.principal != nullptr) {
    e.principal = a.context.principal->id;
    e.roles = a.context.principal->roles;
  }
  e.tenant = a.context.tenant;
  e.method = a.request.method.substr(0, 16);
  e.action = a.match.route != nullptr ? std::string(a.match.route->pattern) : "unmatched";
  if (std::optional<std::string_view> collection = a.match.collection()) e.collection = std::string(*collection);
  e.status = a.status;
  e.reason = a.refusal;
  e.client = a.context.client_address;
  e.admin = a.match.route != nullptr && IsAdminAction(*a.match.route);
  return e;
}

std::function<void(const AuditedRequest&)> MakeAuditHook(AuditLog* log, std::string node, Port port) {
  return [log, node = std::move(node), port](const AuditedRequest& a) {
    if (port == Port::kPeer && a.refusal.empty()) return;
    const bool admin = a.match.route != nullptr && IsAdminAction(*a.match.route);
    if (log != nullptr) {
      log->Append(AuditEventOf(a), /*must_keep=*/admin);
    } else if (admin) {
      AuditEvent e = AuditEventOf(a);
      e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
      spdlog::info("audit {}", AuditEventJson(e, node));
    }
  };
}

void DeclareAuditMetrics(Metrics& metrics) {
  metrics.DeclareCounter("vjvector_audit_records_total", "Audit records written (the log's own included).");
  metrics.DeclareCounter("vjvector_audit_dropped_total",
                         "Audited requests whose record was lost: the audit queue was full (reason=queue_full) "
                         "or the write failed (reason=write_error). The log's next record says how many.");
  metrics.DeclareCounter("vjvector_audit_write_errors_total", "Failed writes of the audit log (disk full, I/O error).");
}

void CollectAuditMetrics(const AuditLog* log, Metrics& m) {
  const AuditLog::Stats s = log != nullptr ? log->GetStats() : AuditLog::Stats{};
  m.SetCounter("vjvector_audit_records_total", {}, static_cast<double>(s.records));
  m.SetCounter("vjvector_audit_dropped_total", {{"reason", "queue_full"}}, static_cast<double>(s.dropped));
  m.SetCounter("vjvector_audit_dropped_total", {{"reason", "write_error"}}, static_cast<double>(s.lost_on_error));
  m.SetCounter("vjvector_audit_write_errors_total", {}, static_cast<double>(s.write_errors));
}

}  // namespace vj

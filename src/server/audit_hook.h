// The audit log's place in the server: the log a node's settings ask for (audit.*), the pipeline hook
// that turns each answered request into an AuditEvent, and the audit metrics.
//
// What is audited: on the public port every request the pipeline answers (served, refused with
// 401/403/429, unknown routes); on the peer port only refusals (replication traffic would drown the
// log). Administrative actions (a kAdmin route with a method other than GET: keys, roles, snapshots,
// rebalance) are always audited: when the audit log is off they go to the server log as "audit {...}"
// lines, and when it is on they wait for room in its queue rather than being dropped.
//
// Thread-safety: the hook may be called concurrently (AuditLog::Append is thread-safe).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/route_table.h"
#include "audit/audit_log.h"
#include "core/status.h"
#include "server/metrics.h"
#include "server/request_pipeline.h"
#include "server/server_config.h"

namespace vj {

// The audit log of `config` (started), or null when audit.enabled is false. An error when the file
// or the HMAC key cannot be read; `node` names the node in every record.
StatusOr<std::unique_ptr<AuditLog>> OpenAuditLog(const ServerConfig& config, const std::string& node);

// Whether a route is an administrative action (always audited): a change that needs admin, or a
// collection's snapshot action or deletion.
bool IsAdminAction(const RouteSpec& route);

// The record of one answered request.
AuditEvent AuditEventOf(const AuditedRequest& request);

// The pipeline hook of one port; `log` may be null (then only admin actions, to the server log).
std::function<void(const AuditedRequest&)> MakeAuditHook(AuditLog* log, std::string node, Port port);

void DeclareAuditMetrics(Metrics& metrics);
void CollectAuditMetrics(const AuditLog* log, Metrics& metrics);

}  // namespace vj

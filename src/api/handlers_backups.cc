// POST /vjvector/backups: a backup of every collection of this node to a directory or S3-compatible
// object storage (docs/backup.md). The work is done by RestApiOptions::create_backup (backup/backup.h,
// wired by the server); the route table gives it the admin permission.
#include "api/handlers.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

StatusOr<json::value> HandleCreateBackup(const Call& call) {
  if (!call.context.tenant.empty()) {
    return absl::PermissionDeniedError("backups are not available to tenant principals (docs/tenancy.md)");
  }
  if (!call.options.create_backup) {
    return absl::UnimplementedError(
        "backups are not supported in cluster mode yet: back up a standalone node (docs/backup.md)");
  }
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"to"}, ""));
  const json::value* to = FindField(body, "to");
  if (to == nullptr) return absl::InvalidArgumentError("to: missing (file:///path or s3://bucket/prefix)");
  VJ_ASSIGN_OR_RETURN(std::string uri, ReadString(*to, "to"));
  return call.options.create_backup(uri);
}

}  // namespace vj

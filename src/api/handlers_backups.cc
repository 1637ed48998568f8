// POST /vjvector/backups: a backup of every collection of this node to a directory or S3-compatible
// object storage (docs/backup.md). The work is done by RestApiOptions::backup, which the server sets;
// the route table gives the route the admin permission.
#include "api/backup_route.h"
#include "api/rest_api.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;
StatusOr<json::value> HandleCreateBackup(const Call& call) {
  if (!call.context.tenant.empty()) {
    return absl::PermissionDeniedError("backups are not available to tenant principals (docs/tenancy.md)");
  }
  const auto& backup = call.options.backup;
  if (!backup) {
    return absl::UnimplementedError(
        "backups are not supported in cluster mode yet: back up a standalone node (docs/backup.md)");
  }
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"to"}, ""));
  const json::value* to = FindField(body, "to");
  if (to == nullptr) return absl::InvalidArgumentError("to: missing (file:///path or s3://bucket/prefix)");
  VJ_ASSIGN_OR_RETURN(std::string uri, ReadString(*to, "to"));
  return backup(uri);
}

}  // namespace vj

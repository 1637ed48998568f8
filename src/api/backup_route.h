// POST /vjvector/backups (docs/backup.md): the handler, and the work behind it, which the server installs
// at start-up on a standalone node (tools/main.cc, backup/backup.h). The api module cannot call the
// backup module itself: backups reach S3 through the cluster module's HTTP client, and cluster/ depends
// on api/. Until a function is installed (cluster mode) the route answers 501.
// Thread-safety: InstallBackupRoute is called once before the node serves; the handler may run on any
// thread (the installed function serializes backups itself).
#pragma once

#include <functional>
#include <string>

#include <boost/json.hpp>

#include "api/handlers.h"
#include "core/status.h"

namespace vj {

using BackupRouteFunction = std::function<StatusOr<boost::json::value>(const std::string& uri)>;

// The target's URI -> the backup's summary (the route's result).
void InstallBackupRoute(BackupRouteFunction function);

StatusOr<boost::json::value> HandleCreateBackup(const Call& call);

}  // namespace vj

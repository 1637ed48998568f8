// POST /vjvector/backups (docs/backup.md): the handler. The work behind it is RestApiOptions::backup,
// which the server sets on a standalone node (tools/main.cc, backup/backup.h): the api module cannot
// call the backup module itself (backups reach S3 through the cluster module's HTTP client, and
// cluster/ depends on api/). Unset (cluster mode), the route answers 501.
// Thread-safety: the handler may run on any thread (the backup function serializes backups itself).
#pragma once

#include <boost/json.hpp>

#include "api/handlers.h"
#include "core/status.h"

namespace vj {

StatusOr<boost::json::value> HandleCreateBackup(const Call& call);

}  // namespace vj

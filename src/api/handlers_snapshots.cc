// Qdrant's snapshot API on a standalone node (collection/snapshot_store.h): collection snapshots under
// /collections/{name}/snapshots and full-node snapshots under /snapshots. A node in a cluster answers
// 501 (RestApiOptions::snapshots unset).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "api/handlers.h"
#include "api/multipart.h"
#include "collection/snapshot_store.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;
namespace {

StatusOr<SnapshotStore*> Store(const Call& call) {
  // Snapshot names and recover locations are stored names and server paths: not mapped for tenants yet.
  // Refused whatever the collection, so the answer tells nothing of what exists.
  if (!call.context.tenant.empty()) {
    return absl::PermissionDeniedError("snapshots are not available to tenant principals yet (docs/tenancy.md)");
  }
  if (call.options.snapshots == nullptr) {
    return absl::UnimplementedError(
        "snapshots are not supported in cluster mode yet: take them on a standalone node (docs/backup.md)");
  }
  return call.options.snapshots;
}

// The stored name of the path's collection, in the request's namespace. A name outside it (a tenant's
// "acme~docs" asked by a key of no tenant) is NotFound, as a collection that does not exist: the
// snapshot store works on the node's whole database and must never see such a name.
StatusOr<std::string> StoredCollection(const Call& call) {
  VJ_RETURN_IF_ERROR(Store(call).status());  // its refusals (tenant principals, cluster mode) come first
  const std::string& name = call.params.at(0);
  if (call.names == nullptr) return name;
  std::optional<std::string> stored = call.names->ToStored(name);
  if (!stored) return absl::NotFoundError("Collection `" + name + "` doesn't exist!");
  return *stored;
}

json::value Describe(const SnapshotInfo& info) {
  return json::object{{"name", info.name},
                      {"creation_time", info.creation_time},
                      {"size", info.size},
                      {"checksum", info.checksum ? json::value(*info.checksum) : json::value(nullptr)}};
}

json::value DescribeAll(const std::vector<SnapshotInfo>& infos) {
  json::array out;
  for (const SnapshotInfo& info : infos) out.push_back(Describe(info));
  return out;
}

// Snapshot routes wait by default, as Qdrant's.
StatusOr<bool> WaitDefaultTrue(const Call& call) {
  if (call.request.query.count("wait") == 0) return true;
  return call.Wait();
}

// Qdrant's 202 for an operation started in the background.
json::value Accepted(const Call& call) {
  Response response;
  response.status = 202;
  response.body = json::serialize(json::object{{"result", nullptr}, {"status", "accepted"}, {"time", 0.0}});
  *call.raw_response = std::move(response);
  return nullptr;
}

StatusOr<json::value> Create(const Call& call, const std::string& collection) {
  VJ_ASSIGN_OR_RETURN(SnapshotStore * store, Store(call));
  VJ_ASSIGN_OR_RETURN(bool wait, WaitDefaultTrue(call));
  if (!wait) {
    VJ_RETURN_IF_ERROR(store->CreateInBackground(collection));
    return Accepted(call);
  }
  VJ_ASSIGN_OR_RETURN(SnapshotInfo info, store->Create(collection));
  return Describe(info);
}

StatusOr<json::value> List(const Call& call, const std::string& collection) {
  VJ_ASSIGN_OR_RETURN(SnapshotStore * store, Store(call));
  VJ_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> infos, store->List(collection));
  return DescribeAll(infos);
}

// The snapshot's bytes as the answer (application/octet-stream), streamed from the file by the
// transport (Response::body_file): a download holds one block in memory, not the snapshot.
StatusOr<json::value> Download(const Call& call, const std::string& collection, const std::string& name) {
  VJ_ASSIGN_OR_RETURN(SnapshotStore * store, Store(call));
  std::string path;
  VJ_RETURN_IF_ERROR(store->Find(collection, name, &path).status());
  Response response;
  response.body_file = path;
  response.content_type = "application/octet-stream";
  response.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  *call.raw_response = std::move(response);
  return nullptr;
}

StatusOr<json::value> Delete(const Call& call, const std::string& collection, const std::string& name) {
  VJ_ASSIGN_OR_RETURN(SnapshotStore * store, Store(call));
  VJ_RETURN_IF_ERROR(store->Delete(collection, name));
  return true;
}

Status CheckPriority(std::string_view priority, const std::string& where) {
  if (priority == "replica" || priority == "snapshot" || priority == "no_sync") return absl::OkStatus();
  return absl::InvalidArgumentError(where + ": expected replica, snapshot or no_sync, got \"" +
                                    std::string(priority.substr(0, 64)) + "\"");
}

Status CheckChecksum(const std::string& checksum, const std::string& where) {
  bool hex = checksum.size() == 64;
  for (char c : checksum) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
  if (!hex) return absl::InvalidArgumentError(where + ": expected a sha256 of 64 hexadecimal digits");
  return absl::OkStatus();
}

}  // namespace

StatusOr<json::value> HandleCreateSnapshot(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::string name, StoredCollection(call));
  return Create(call, name);
}
StatusOr<json::value> HandleListSnapshots(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::string name, StoredCollection(call));
  return List(call, name);
}
StatusOr<json::value> HandleDownloadSnapshot(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::string name, StoredCollection(call));
  return Download(call, name, call.params.at(1));
}
StatusOr<json::value> HandleDeleteSnapshot(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::string name, StoredCollection(call));
  return Delete(call, name, call.params.at(1));
}
StatusOr<json::value> HandleCreateFullSnapshot(const Call& call) { return Create(call, ""); }
StatusOr<json::value> HandleListFullSnapshots(const Call& call) { return List(call, ""); }
StatusOr<json::value> HandleDownloadFullSnapshot(const Call& call) { return Download(call, "", call.params.at(0)); }
StatusOr<json::value> HandleDeleteFullSnapshot(const Call& call) { return Delete(call, "", call.params.at(0)); }

StatusOr<json::value> HandleRecoverSnapshot(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SnapshotStore * store, Store(call));
  VJ_RETURN_IF_ERROR(WaitDefaultTrue(call).status());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"location", "priority", "checksum", "api_key"}, ""));
  const json::value* location = FindField(body, "location");
  if (location == nullptr) return absl::InvalidArgumentError("location: missing");
  VJ_ASSIGN_OR_RETURN(std::string url, ReadString(*location, "location"));
  if (const json::value* p = FindField(body, "priority")) {
    VJ_ASSIGN_OR_RETURN(std::string priority, ReadString(*p, "priority"));
    VJ_RETURN_IF_ERROR(CheckPriority(priority, "priority"));
  }
  std::optional<std::string> checksum;
  if (const json::value* c = FindField(body, "checksum")) {
    VJ_ASSIGN_OR_RETURN(checksum, ReadString(*c, "checksum"));
    VJ_RETURN_IF_ERROR(CheckChecksum(*checksum, "checksum"));
  }
  std::string api_key;
  if (const json::value* k = FindField(body, "api_key")) {
    VJ_ASSIGN_OR_RETURN(api_key, ReadString(*k, "api_key"));
  }
  VJ_ASSIGN_OR_RETURN(std::string name, StoredCollection(call));
  VJ_RETURN_IF_ERROR(store->RecoverFromLocation(name, url, checksum, api_key));
  return true;
}

StatusOr<json::value> HandleUploadSnapshot(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SnapshotStore * store, Store(call));
  VJ_RETURN_IF_ERROR(WaitDefaultTrue(call).status());
  VJ_RETURN_IF_ERROR(ValidateCollectionName(call.params.at(0)));
  VJ_ASSIGN_OR_RETURN(const std::string name, StoredCollection(call));
  if (auto p = call.request.query.find("priority"); p != call.request.query.end()) {
    VJ_RETURN_IF_ERROR(CheckPriority(p->second, "query parameter priority"));
  }
  std::optional<std::string> checksum;
  if (auto c = call.request.query.find("checksum"); c != call.request.query.end()) {
    VJ_RETURN_IF_ERROR(CheckChecksum(c->second, "query parameter checksum"));
    checksum = c->second;
  }
  auto content_type = call.request.headers.find("content-type");
  if (content_type == call.request.headers.end()) {
    return absl::InvalidArgumentError("expected a multipart/form-data body with the field \"snapshot\"");
  }
  VJ_ASSIGN_OR_RETURN(std::string_view archive, MultipartField(content_type->second, call.request.body, "snapshot"));
  if (archive.size() > store->max_snapshot_bytes()) {
    return absl::InvalidArgumentError("snapshot: " + std::to_string(archive.size()) + " bytes is over the limit of " +
                                      std::to_string(store->max_snapshot_bytes()) + " (setting snapshots.max_bytes)");
  }
  const std::string temp = store->TempPath();
  Status recovered = [&]() -> Status {
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return absl::UnavailableError("cannot create " + temp + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < archive.size()) {
      const ssize_t n = ::write(fd, archive.data() + done, archive.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        return err == ENOSPC ? DiskFullError("disk full: cannot store the uploaded snapshot")
                             : absl::UnavailableError("cannot write " + temp + ": " + std::strerror(err));
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    return store->RecoverFromFile(name, temp, checksum);
  }();
  std::error_code ec;
  std::filesystem::remove(temp, ec);
  VJ_RETURN_IF_ERROR(recovered);
  return true;
}

}  // namespace vj

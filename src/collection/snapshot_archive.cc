#include "collection/snapshot_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include <openssl/evp.h>

#include "core/durable_file.h"
#include "core/hex.h"

namespace vj {
namespace fs = std::filesystem;
namespace {

constexpr size_t kBlockBytes = 1 << 20;

Status Errno(const std::string& what) {
  const int err = errno;
  if (err == ENOSPC) return DiskFullError("disk full: " + what + ": " + std::strerror(err));
  return absl::UnavailableError(what + ": " + std::strerror(err));
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct Sha256 {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Sha256() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  void Update(const void* data, size_t n) { EVP_DigestUpdate(ctx, data, n); }
  std::string Finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, digest, &n);
    return HexEncode(digest, n);
  }
};

// Where libarchive's writer sends its blocks: the file, and the checksum.
struct WriteSink {
  int fd = -1;
  Sha256 sha;
  Status error;
  uint64_t written = 0;
  uint64_t synced = 0;  // bytes already written back to disk
};

// Writes back what the archive has so far, every kWritebackBytes: the final fsync then has little
// to do, and no burst of hundreds of MiB of dirty pages delays the shards' WAL fsyncs (writes with
// wait=true) behind it. sync_file_range touches no metadata, so it forces no journal commit either.
// Best effort: the final fsync is what makes the archive durable.
constexpr uint64_t kWritebackBytes = 8 << 20;
void WriteBack(WriteSink& sink) {
  if (sink.written - sink.synced < kWritebackBytes) return;
  const uint64_t n = sink.written - sink.synced;
  if (::sync_file_range(sink.fd, static_cast<off_t>(sink.synced), static_cast<off_t>(n),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0) {
    // Written back: the archive's pages need not stay in the page cache, crowding out the stores'.
    ::posix_fadvise(sink.fd, static_cast<off_t>(sink.synced), static_cast<off_t>(n), POSIX_FADV_DONTNEED);
  }
  sink.synced = sink.written;
}

la_ssize_t SinkWrite(struct archive*, void* client, const void* buffer, size_t length) {
  auto* sink = static_cast<WriteSink*>(client);
  const char* p = static_cast<const char*>(buffer);
  size_t left = length;
  while (left > 0) {
    const ssize_t n = ::write(sink->fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sink->error = Errno("write snapshot archive");
      return -1;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  sink->sha.Update(buffer, length);
  sink->written += length;
  WriteBack(*sink);
  return static_cast<la_ssize_t>(length);
}

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;

Status ArchiveError(struct archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return absl::UnavailableError(what + ": " + (msg != nullptr ? msg : "libarchive error"));
}

Status Refused(const std::string& what) { return absl::InvalidArgumentError("snapshot archive: " + what); }

}  // namespace

bool IsSafeArchiveName(std::string_view name) {
  if (name.empty() || name.size() > 1024) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view seg = name.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.size() > 255) return false;
    for (char c : seg) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

StatusOr<std::vector<ArchiveFile>> FilesUnder(const std::string& dir, const std::string& prefix) {
  std::vector<ArchiveFile> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    files.push_back({prefix + fs::relative(it->path(), dir).string(), it->path().string()});
  }
  if (ec) return absl::UnavailableError("cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end(), [](const ArchiveFile& a, const ArchiveFile& b) { return a.name < b.name; });
  return files;
}

StatusOr<std::string> WriteSnapshotArchive(const std::string& path, const std::vector<ArchiveFile>& files) {
  Fd out{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (out.fd < 0) return Errno("create " + path);
  WriteSink sink;
  sink.fd = out.fd;
  ArchivePtr a(archive_write_new(), archive_write_free);
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open(a.get(), &sink, nullptr, SinkWrite, nullptr) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "start snapshot archive " + path);
  }
  std::unique_ptr<char[]> block(new char[kBlockBytes]);
  for (const ArchiveFile& f : files) {
    Fd in{::open(f.path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (in.fd < 0) return Errno("open " + f.path);
    struct stat st {};
    if (::fstat(in.fd, &st) != 0) return Errno("stat " + f.path);
    EntryPtr entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), f.name.c_str());
    archive_entry_set_size(entry.get(), st.st_size);
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0600);
    archive_entry_set_mtime(entry.get(), st.st_mtime, 0);
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
      return sink.error.ok() ? ArchiveError(a.get(), "archive " + f.name) : sink.error;
    }
    // Exactly the size the header announced, even if the file changed meanwhile (it must not).
    int64_t left = st.st_size;
    while (left > 0) {
      const ssize_t n = ::read(in.fd, block.get(), std::min<int64_t>(left, kBlockBytes));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("read " + f.path);
      if (n == 0) return absl::InternalError(f.path + " shrank while it was archived");
      if (archive_write_data(a.get(), block.get(), static_cast<size_t>(n)) != n) {
        return sink.error.ok() ? ArchiveError(a.get(), "archive " + f.name) : sink.error;
      }
      left -= n;
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return sink.error.ok() ? ArchiveError(a.get(), "finish snapshot archive " + path) : sink.error;
  }
  if (::fsync(out.fd) != 0) return Errno("fsync " + path);
  return sink.sha.Finish();
}

Status ExtractSnapshotArchive(const std::string& archive, const std::string& dest, const ExtractLimits& limits) {
  std::error_code ec;
  if (!fs::create_directory(dest, ec) || ec) {
    return absl::UnavailableError("cannot create " + dest + (ec ? ": " + ec.message() : ": it exists"));
  }
  ArchivePtr a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), archive.c_str(), kBlockBytes) != ARCHIVE_OK) {
    return Refused(std::string("not a readable tar archive: ") + archive_error_string(a.get()));
  }
  std::set<std::string> dirs{dest};
  std::set<std::string> seen;
  uint64_t total = 0;
  size_t entries = 0;
  std::unique_ptr<char[]> block(new char[kBlockBytes]);
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      const char* msg = archive_error_string(a.get());
      return Refused(std::string("corrupt or truncated: ") + (msg != nullptr ? msg : "unreadable header"));
    }
    if (++entries > limits.max_entries) {
      return Refused("more than " + std::to_string(limits.max_entries) + " entries");
    }
    const char* raw_name = archive_entry_pathname(entry);
    std::string name = raw_name != nullptr ? raw_name : "";
    while (!name.empty() && name.back() == '/') name.pop_back();
    const std::string shown = name.substr(0, 128);
    if (!IsSafeArchiveName(name)) return Refused("entry \"" + shown + "\" has a name that is not allowed");
    const mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) continue;  // directories are created for the files in them
    if (type != AE_IFREG || archive_entry_hardlink(entry) != nullptr || archive_entry_symlink(entry) != nullptr) {
      return Refused("entry \"" + shown + "\" is not a regular file (links and devices are refused)");
    }
    if (limits.allowed && !limits.allowed(name)) return Refused("unexpected entry \"" + shown + "\"");
    if (!seen.insert(name).second) return Refused("entry \"" + shown + "\" appears twice");
    const int64_t size = archive_entry_size(entry);
    if (size < 0) return Refused("entry \"" + shown + "\" has no size");
    total += static_cast<uint64_t>(size);
    if (limits.max_bytes != 0 && total > limits.max_bytes) {
      return Refused("content is over the limit of " + std::to_string(limits.max_bytes) + " bytes");
    }
    const std::string path = dest + "/" + name;
    const std::string parent = fs::path(path).parent_path().string();
    if (!dirs.count(parent)) {
      fs::create_directories(parent, ec);
      if (ec) return absl::UnavailableError("cannot create " + parent + ": " + ec.message());
      for (fs::path p = parent; p.string().size() > dest.size(); p = p.parent_path()) dirs.insert(p.string());
    }
    Fd out{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
    if (out.fd < 0) return Errno("create " + path);
    int64_t written = 0;
    for (;;) {
      const la_ssize_t n = archive_read_data(a.get(), block.get(), kBlockBytes);
      if (n == 0) break;
      if (n < 0) {
        const char* msg = archive_error_string(a.get());
        return Refused("corrupt or truncated in \"" + shown + "\": " + (msg != nullptr ? msg : "read error"));
      }
      written += n;
      if (written > size) return Refused("entry \"" + shown + "\" is longer than its header says");
      for (const char* p = block.get(); p < block.get() + n;) {
        const ssize_t w = ::write(out.fd, p, static_cast<size_t>(block.get() + n - p));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return Errno("write " + path);
        p += w;
      }
    }
    if (written != size) return Refused("entry \"" + shown + "\" is truncated");
    if (::fsync(out.fd) != 0) return Errno("fsync " + path);
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) VJ_RETURN_IF_ERROR(SyncDirectory(*it));
  return absl::OkStatus();
}

StatusOr<std::string> Sha256OfFile(const std::string& path) {
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return Errno("open " + path);
  Sha256 sha;
  std::unique_ptr<char[]> block(new char[kBlockBytes]);
  for (;;) {
    const ssize_t n = ::read(in.fd, block.get(), kBlockBytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read " + path);
    if (n == 0) break;
    sha.Update(block.get(), static_cast<size_t>(n));
  }
  return sha.Finish();
}

}  // namespace vj

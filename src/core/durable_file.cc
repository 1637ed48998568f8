#include "core/durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>


namespace vj {
namespace {

Status ErrnoStatus(int err, const std::string& what) {
  std::string msg = what + ": " + std::strerror(err);
  return err == ENOSPC || err == EDQUOT ? DiskFullError(msg) : absl::UnavailableError(msg);
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status ReadFully(int fd, char* p, size_t n, const std::string& path) {
  for (size_t done = 0; done < n;) {
    const ssize_t r = ::read(fd, p + done, n - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus(errno, "cannot read " + path);
    if (r == 0) return absl::DataLossError(path + ": truncated");
    done += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

Status WriteFully(int fd, const char* p, size_t n, const std::string& path) {
  for (size_t done = 0; done < n;) {
    const ssize_t w = ::write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return ErrnoStatus(errno, "cannot write " + path);
    done += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

StatusOr<std::unique_ptr<DurableFileWriter>> DurableFileWriter::Create(const std::string& path) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "cannot create " + tmp);
  return std::unique_ptr<DurableFileWriter>(new DurableFileWriter(path, fd));
}

DurableFileWriter::DurableFileWriter(std::string path, int fd)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), fd_(fd) {}

DurableFileWriter::~DurableFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

Status DurableFileWriter::WriteRaw(const char* data, size_t n) { return WriteFully(fd_, data, n, tmp_); }

Status DurableFileWriter::Append(const void* data, size_t n) {
  if (fd_ < 0) return absl::FailedPreconditionError(path_ + ": written after commit");
  return WriteRaw(static_cast<const char*>(data), n);
}

Status DurableFileWriter::Commit() {
  if (fd_ < 0) return absl::FailedPreconditionError(path_ + ": committed twice");
  if (::fsync(fd_) != 0) return ErrnoStatus(errno, "cannot sync " + tmp_);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    return ErrnoStatus(err, "cannot close " + tmp_);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    return ErrnoStatus(err, "cannot rename " + tmp_ + " to " + path_);
  }
  return SyncDirectory(DirectoryOf(path_));
}

Status WriteFileDurably(const std::string& path, std::string_view bytes) {
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<DurableFileWriter> w, DurableFileWriter::Create(path));
  VJ_RETURN_IF_ERROR(w->Append(bytes.data(), bytes.size()));
  return w->Commit();
}

StatusOr<int> OpenPlainFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError("cannot open " + path + ": " + std::strerror(err));
    return ErrnoStatus(err, "cannot open " + path);
  }
  return fd;
}

StatusOr<std::string> ReadDurableFile(const std::string& path) {
  VJ_ASSIGN_OR_RETURN(int raw, OpenPlainFile(path));
  Fd fd(raw);
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const ssize_t r = ::read(fd.get(), buffer, sizeof(buffer));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus(errno, "cannot read " + path);
    if (r == 0) break;
    out.append(buffer, static_cast<size_t>(r));
  }
  return out;
}

Status SyncDirectory(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ErrnoStatus(errno, "cannot open directory " + dir);
  const bool synced = ::fsync(dfd) == 0;
  const int err = errno;
  ::close(dfd);
  if (!synced) return ErrnoStatus(err, "cannot sync directory " + dir);
  return absl::OkStatus();
}

}  // namespace vj

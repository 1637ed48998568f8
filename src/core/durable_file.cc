#include "core/durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "core/file_cipher.h"

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

// Decrypts the sealed file open at `in` (size `bytes`) into `out` (a memfd), checking the tag.
Status UnsealInto(const DataKey& key, int in, size_t bytes, int out, const std::string& path) {
  constexpr size_t kPiece = size_t{1} << 20;
  std::string header(std::min<size_t>(bytes, 8 + 1 + 255 + kGcmNonceBytes), '\0');
  if (::pread(in, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) {
    return ErrnoStatus(errno, "cannot read " + path);
  }
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<FileUnsealer> u, FileUnsealer::Create(key, header, path));
  if (bytes < u->header_bytes() + kGcmTagBytes) return absl::DataLossError(path + ": truncated");
  if (::lseek(in, static_cast<off_t>(u->header_bytes()), SEEK_SET) < 0) {
    return ErrnoStatus(errno, "cannot seek " + path);
  }
  std::string buffer(kPiece, '\0');
  for (size_t left = bytes - u->header_bytes() - kGcmTagBytes; left > 0;) {
    const size_t n = std::min(left, kPiece);
    VJ_RETURN_IF_ERROR(ReadFully(in, buffer.data(), n, path));
    VJ_RETURN_IF_ERROR(u->Update(buffer.data(), n, buffer.data()));
    VJ_RETURN_IF_ERROR(WriteFully(out, buffer.data(), n, "decrypted copy of " + path));
    left -= n;
  }
  std::string tag(kGcmTagBytes, '\0');
  VJ_RETURN_IF_ERROR(ReadFully(in, tag.data(), tag.size(), path));
  return u->Verify(tag);
}

}  // namespace

StatusOr<std::unique_ptr<DurableFileWriter>> DurableFileWriter::Create(const std::string& path,
                                                                       Sealing sealing) {
  std::shared_ptr<const DataKey> key = sealing == Sealing::kDirectoryKey ? DirectoryKeyFor(path) : nullptr;
  std::unique_ptr<FileSealer> sealer;
  if (key != nullptr) {
    VJ_ASSIGN_OR_RETURN(sealer, FileSealer::Create(*key));
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "cannot create " + tmp);
  std::unique_ptr<DurableFileWriter> w(new DurableFileWriter(path, fd));
  w->sealer_ = std::move(sealer);
  if (w->sealer_ != nullptr) {
    VJ_RETURN_IF_ERROR(w->WriteRaw(w->sealer_->header().data(), w->sealer_->header().size()));
  }
  return w;
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
  const char* p = static_cast<const char*>(data);
  if (sealer_ == nullptr) return WriteRaw(p, n);
  constexpr size_t kPiece = size_t{1} << 20;
  while (n > 0) {
    const size_t take = std::min(n, kPiece);
    scratch_.resize(take);
    VJ_RETURN_IF_ERROR(sealer_->Update(p, take, scratch_.data()));
    VJ_RETURN_IF_ERROR(WriteRaw(scratch_.data(), take));
    p += take;
    n -= take;
  }
  return absl::OkStatus();
}

Status DurableFileWriter::Commit() {
  if (fd_ < 0) return absl::FailedPreconditionError(path_ + ": committed twice");
  if (sealer_ != nullptr) {
    VJ_ASSIGN_OR_RETURN(std::string tag, sealer_->Finish());
    VJ_RETURN_IF_ERROR(WriteRaw(tag.data(), tag.size()));
  }
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

Status WriteFileDurably(const std::string& path, std::string_view bytes, Sealing sealing) {
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<DurableFileWriter> w, DurableFileWriter::Create(path, sealing));
  VJ_RETURN_IF_ERROR(w->Append(bytes.data(), bytes.size()));
  return w->Commit();
}

StatusOr<int> OpenPlainFile(const std::string& path, Sealing sealing) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError("cannot open " + path + ": " + std::strerror(err));
    return ErrnoStatus(err, "cannot open " + path);
  }
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat " + path);
  const size_t bytes = static_cast<size_t>(st.st_size);
  if (sealing == Sealing::kNever) return in.Release();
  char magic[sizeof(kSealedMagic)] = {};
  const bool sealed = bytes >= sizeof(magic) &&
                      ::pread(in.get(), magic, sizeof(magic), 0) == static_cast<ssize_t>(sizeof(magic)) &&
                      IsSealed(std::string_view(magic, sizeof(magic)));
  std::shared_ptr<const DataKey> key = DirectoryKeyFor(path);
  if (!sealed) {
    if (key != nullptr) {
      return absl::DataLossError(path + ": not encrypted, but its directory is (data key " + key->id +
                                 "); refusing to trust it");
    }
    return in.Release();
  }
  if (key == nullptr) {
    return absl::FailedPreconditionError(path + ": encrypted, and encryption is not enabled (set "
                                         "encryption.enabled and the master key)");
  }
  Fd out(::memfd_create("vjvector-plain", MFD_CLOEXEC));
  if (out.get() < 0) return ErrnoStatus(errno, "cannot create an in-memory file for " + path);
  VJ_RETURN_IF_ERROR(UnsealInto(*key, in.get(), bytes, out.get(), path));
  if (::lseek(out.get(), 0, SEEK_SET) < 0) return ErrnoStatus(errno, "cannot seek decrypted " + path);
  return out.Release();
}

StatusOr<std::string> ReadDurableFile(const std::string& path, Sealing sealing) {
  VJ_ASSIGN_OR_RETURN(int raw, OpenPlainFile(path, sealing));
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

#include "index/mapped_vector_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vj {
namespace {

Status ErrnoError(int err, const std::string& what) {
  const std::string message = what + ": " + std::strerror(err);
  return err == ENOSPC || err == EDQUOT ? DiskFullError(message) : absl::InternalError(message);
}

}  // namespace

StatusOr<std::unique_ptr<MappedVectorFile>> MappedVectorFile::Create(const std::string& path,
                                                                     size_t record_bytes) {
  if (path.empty())
    return absl::InvalidArgumentError("storage_path: empty (needed for vectors on disk)");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(errno, "cannot create vector file " + path);
  return std::unique_ptr<MappedVectorFile>(new MappedVectorFile(path, fd, record_bytes));
}

MappedVectorFile::~MappedVectorFile() {
  if (data_ != nullptr) ::munmap(data_, mapped_bytes_);
  ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

Status MappedVectorFile::Reserve(size_t records) {
  if (records <= capacity_) return absl::OkStatus();
  const size_t bytes = records * record_bytes_;
  if (int err = ::posix_fallocate(fd_, 0, static_cast<off_t>(bytes)); err != 0) {
    return ErrnoError(err, "cannot grow vector file " + path_);
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) return ErrnoError(errno, "cannot map vector file " + path_);
  if (data_ != nullptr) ::munmap(data_, mapped_bytes_);
  data_ = static_cast<char*>(p);
  mapped_bytes_ = bytes;
  capacity_ = records;
  return absl::OkStatus();
}

Status MappedVectorFile::RenameTo(const std::string& path) {
  if (::rename(path_.c_str(), path.c_str()) != 0) {
    return ErrnoError(errno, "cannot rename " + path_ + " to " + path);
  }
  path_ = path;
  return absl::OkStatus();
}

}  // namespace vj

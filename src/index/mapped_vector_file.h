// MappedVectorFile: fixed-size records in a file mapped into memory (MAP_SHARED), for float vectors kept
// on disk (HnswParams::vectors_on_disk). The page cache holds what searches read; heap use is nil. The
// file is scratch space owned by one index: created (truncated) on Create, removed on destruction.
// Thread-safety: data() may be read concurrently; Reserve remaps, so callers exclude readers of data()
// around it (the index holds its resize lock exclusively).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"

namespace vj {

class MappedVectorFile {
 public:
  static StatusOr<std::unique_ptr<MappedVectorFile>> Create(const std::string& path,
                                                            size_t record_bytes);
  ~MappedVectorFile();
  MappedVectorFile(const MappedVectorFile&) = delete;
  MappedVectorFile& operator=(const MappedVectorFile&) = delete;

  // Makes room for `records` records, allocating the disk blocks up front so that a full disk is an
  // error here rather than a SIGBUS on a later write through the mapping. Moves data().
  [[nodiscard]] Status Reserve(size_t records);
  // Renames the file; the mapping stays valid.
  [[nodiscard]] Status RenameTo(const std::string& path);

  char* data() const { return data_; }
  size_t capacity() const { return capacity_; }
  const std::string& path() const { return path_; }

 private:
  MappedVectorFile(std::string path, int fd, size_t record_bytes)
      : path_(std::move(path)), fd_(fd), record_bytes_(record_bytes) {}

  std::string path_;
  int fd_;
  size_t record_bytes_;
  size_t capacity_ = 0;
  char* data_ = nullptr;
  size_t mapped_bytes_ = 0;
};

}  // namespace vj

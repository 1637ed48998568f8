// WriteFileDurably: the one way to replace a small file so that a crash or power loss leaves either
// the old content or the new, never a torn or empty file, and the new content once it returns OK.
//
// Writes `path`.tmp, fsyncs it, renames it over `path`, then fsyncs the directory (the rename is the
// commit point). Unavailable naming the file and errno's text on failure; ResourceExhausted when the
// disk is full. The temporary file is removed on failure.
//
// SyncDirectory is the last step of it, for callers that rename or remove files themselves.
//
// These functions are the one seam for the files VJVector writes and reads itself: every such file goes
// through DurableFileWriter (WriteFileDurably is its one-shot form) and ReadDurableFile /
// OpenPlainFile, so that how bytes reach the disk (e.g. encrypted) is decided in one place.
//
// Thread-safety: concurrent calls for the same path must be serialized by the caller (they share the
// temporary file name); calls for different paths are independent.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

[[nodiscard]] Status WriteFileDurably(const std::string& path, std::string_view bytes);

// The streaming form, for big files (index snapshots): Append pieces, then Commit (fsync, rename over
// `path`, fsync the directory). Destroyed without Commit, the temporary file is removed and `path` is
// untouched. Not thread-safe; errors as WriteFileDurably.
class DurableFileWriter {
 public:
  [[nodiscard]] static StatusOr<std::unique_ptr<DurableFileWriter>> Create(const std::string& path);
  ~DurableFileWriter();
  DurableFileWriter(const DurableFileWriter&) = delete;
  DurableFileWriter& operator=(const DurableFileWriter&) = delete;

  [[nodiscard]] Status Append(const void* data, size_t n);
  [[nodiscard]] Status Commit();

 private:
  DurableFileWriter(std::string path, int fd);
  Status WriteRaw(const char* data, size_t n);

  std::string path_;
  std::string tmp_;
  int fd_;
};

// The content of a file written by WriteFileDurably/DurableFileWriter. NotFound when absent;
// Unavailable on a read error.
[[nodiscard]] StatusOr<std::string> ReadDurableFile(const std::string& path);

// A file descriptor positioned at 0 that reads the content of `path`. The caller closes it. Errors as
// ReadDurableFile.
[[nodiscard]] StatusOr<int> OpenPlainFile(const std::string& path);

// fsyncs directory `dir`, making the creations, renames and removals of its entries durable.
// Unavailable naming the directory on failure.
[[nodiscard]] Status SyncDirectory(const std::string& dir);

}  // namespace vj

// WriteFileDurably: the one way to replace a small file so that a crash or power loss leaves either
// the old content or the new, never a torn or empty file, and the new content once it returns OK.
//
// Writes `path`.tmp, fsyncs it, renames it over `path`, then fsyncs the directory (the rename is the
// commit point). Unavailable naming the file and errno's text on failure; ResourceExhausted when the
// disk is full. The temporary file is removed on failure.
//
// SyncDirectory is the last step of it, for callers that rename or remove files themselves.
//
// These functions are also the encryption seam: every file VJVector writes or reads itself goes
// through DurableFileWriter (WriteFileDurably is its one-shot form) and ReadDurableFile /
// OpenPlainFile, which encrypt and decrypt with the data key that covers the path
// (core/file_cipher.h, DirectoryKeyFor); with no key registered they read and write the bytes as they are.
//
// Thread-safety: concurrent calls for the same path must be serialized by the caller (they share the
// temporary file name); calls for different paths are independent.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

struct DataKey;
class FileSealer;

// Whether the file is encrypted with the key of its directory (the default) or never (the key files
// themselves, which hold only wrapped keys).
enum class Sealing { kDirectoryKey, kNever };

[[nodiscard]] Status WriteFileDurably(const std::string& path, std::string_view bytes,
                                      Sealing sealing = Sealing::kDirectoryKey);

// The streaming form, for big files (index snapshots): Append pieces, then Commit (fsync, rename over
// `path`, fsync the directory). Destroyed without Commit, the temporary file is removed and `path` is
// untouched. Not thread-safe; errors as WriteFileDurably.
class DurableFileWriter {
 public:
  [[nodiscard]] static StatusOr<std::unique_ptr<DurableFileWriter>> Create(
      const std::string& path, Sealing sealing = Sealing::kDirectoryKey);
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
  std::unique_ptr<FileSealer> sealer_;  // null: written in the clear
  std::string scratch_;
};

// The plaintext content of a file written by WriteFileDurably/DurableFileWriter. NotFound when absent;
// DataLoss when the file is damaged, or is not encrypted where its directory has a key;
// FailedPrecondition when it is encrypted and no key (or another key) covers it.
// With Sealing::kNever the bytes are returned as they are (key files).
[[nodiscard]] StatusOr<std::string> ReadDurableFile(const std::string& path,
                                                    Sealing sealing = Sealing::kDirectoryKey);

// A file descriptor positioned at 0 that reads the plaintext of `path`: the file itself when it is not
// encrypted, otherwise an anonymous in-memory file (memfd) holding the decrypted bytes, returned only
// once the whole file's tag checked out. The caller closes it. Errors as ReadDurableFile.
[[nodiscard]] StatusOr<int> OpenPlainFile(const std::string& path, Sealing sealing = Sealing::kDirectoryKey);

// fsyncs directory `dir`, making the creations, renames and removals of its entries durable.
// Unavailable naming the directory on failure.
[[nodiscard]] Status SyncDirectory(const std::string& dir);

}  // namespace vj

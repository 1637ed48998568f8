// Snapshot archives: plain tar files (pax format, no compression: RocksDB's SST files are compressed
// already) written and read with libarchive, and their sha256 checksums.
//
// Reading treats the archive as hostile: only regular files and directories, names of the form
// a/b/c made of [A-Za-z0-9._-] segments (no absolute paths, no "..", no links, no devices), the names
// the caller allows, at most max_bytes of content and max_entries entries. Anything else, and a
// truncated or corrupt archive, is InvalidArgument naming what was wrong; whatever was extracted so far
// stays in `dest` for the caller to remove.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vj {

struct ArchiveFile {
  std::string name;  // inside the archive
  std::string path;  // on disk
};

// Every regular file under `dir`, recursively, named `prefix` + its path relative to dir, in name order.
[[nodiscard]] StatusOr<std::vector<ArchiveFile>> FilesUnder(const std::string& dir, const std::string& prefix);

// Writes a tar archive holding `files` (in that order) to `path`, which must not exist; the file is
// fsynced when this returns. Returns the archive's sha256 (lower-case hex), computed as it is written.
[[nodiscard]] StatusOr<std::string> WriteSnapshotArchive(const std::string& path,
                                                         const std::vector<ArchiveFile>& files);

struct ExtractLimits {
  uint64_t max_bytes = 0;      // total content of the files; 0 = no limit
  size_t max_entries = 100'000;
  // Whether a regular file of this name may be in the archive; unset allows any valid name.
  std::function<bool(std::string_view name)> allowed;
};

// Extracts `archive` into directory `dest` (created; must not exist), fsyncing every file and directory
// so the result is durable. See the file comment for what is refused.
[[nodiscard]] Status ExtractSnapshotArchive(const std::string& archive, const std::string& dest,
                                            const ExtractLimits& limits);

// The sha256 of a file's bytes, lower-case hex (read in 1 MiB blocks).
[[nodiscard]] StatusOr<std::string> Sha256OfFile(const std::string& path);

// Whether `name` is a relative path of [A-Za-z0-9._-] segments, none empty, "." or "..".
bool IsSafeArchiveName(std::string_view name);

}  // namespace vj

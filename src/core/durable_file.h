// WriteFileDurably: the one way to replace a small file so that a crash or power loss leaves either
// the old content or the new, never a torn or empty file, and the new content once it returns OK.
//
// Writes `path`.tmp, fsyncs it, renames it over `path`, then fsyncs the directory (the rename is the
// commit point). Unavailable naming the file and errno's text on failure; ResourceExhausted when the
// disk is full. The temporary file is removed on failure.
//
// SyncDirectory is the last step of it, for callers that rename or remove files themselves.
//
// Thread-safety: concurrent calls for the same path must be serialized by the caller (they share the
// temporary file name); calls for different paths are independent.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

[[nodiscard]] Status WriteFileDurably(const std::string& path, std::string_view bytes);

// fsyncs directory `dir`, making the creations, renames and removals of its entries durable.
// Unavailable naming the directory on failure.
[[nodiscard]] Status SyncDirectory(const std::string& dir);

}  // namespace vj

// Verifying an audit log (`vjvector audit verify`): reads its files in rotation order and checks every
// record's hash, the chain (each record's `prev` is the hash of the record before it, across files) and
// the sequence numbers; names the first record that breaks them.
// Thread-safety: pure functions (they only read files).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace vj {

struct AuditVerifyResult {
  bool ok = true;
  // The first broken record: file, 1-based line, and why.
  std::string file;
  uint64_t line = 0;
  std::string reason;
  // What was read up to there (all of it when ok).
  uint64_t files = 0;
  uint64_t records = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  bool from_genesis = false;     // the first record is seq 1 (nothing older was left out)
  bool hashes_checked = true;    // false: HMAC records checked without the key (links only)
  bool ends_with_stop = false;   // the last record is an audit.stop (a clean shutdown)
};

// Checks `files` as one log, in the order given. `hmac_key` empty: SHA-256 records are checked fully,
// HMAC records by their links only; with a key, every record must be HMAC'd with it.
AuditVerifyResult VerifyAuditFiles(const std::vector<std::string>& files, const std::string& hmac_key);

// The files of the arguments, in rotation order: a file as given, a directory's regular files ordered
// by the seq of their first record (files without one last, by name).
StatusOr<std::vector<std::string>> AuditFilesInOrder(const std::vector<std::string>& arguments);

// An HMAC key file: its bytes without trailing white space; at least 16 of them.
StatusOr<std::string> ReadAuditKeyFile(const std::string& path);

// One human-readable line for `vjvector audit verify`.
std::string DescribeAuditVerifyResult(const AuditVerifyResult& result);

}  // namespace vj

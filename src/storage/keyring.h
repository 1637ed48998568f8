// Keyring: the keys of encryption at rest (docs/compliance.md, "Encryption at rest").
//
// A master key (32 bytes, from encryption.master_key_file or the stdout of encryption.master_key_command)
// never touches the data directory; it only wraps data keys. Each data key is 32 random bytes, wrapped
// with AES-256-GCM under the master key and stored, with its key id and the master key's id, in a
// keys.json beside the data it encrypts:
//   <data_dir>/keys.json                      the node's key: aliases, snapshot manifests, security state
//   <data_dir>/collections/<name>/keys.json   the collection's key: its RocksDB files, index snapshots,
//                                             ids files, config.json, replica state
// Unwrapped keys go into the directory key registry (core/file_cipher.h), which every file write and
// read consults. The key id names the owner ("node-…", "collection-…"), so a tenant key ("tenant-…")
// can be added as one more keys.json and one more registered directory.
//
// Thread-safety: Keyring's methods may be called concurrently; the free functions are independent.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/file_cipher.h"
#include "core/status.h"

namespace vj {

inline constexpr char kKeysFile[] = "keys.json";

struct MasterKey {
  std::array<uint8_t, kAesKeyBytes> bytes{};
  std::string id;  // 16 hex digits of SHA-256("vjvector master key id" || key): names, never reveals
};

// 64 hex digits or 32 raw bytes (surrounding whitespace ignored). InvalidArgument naming `what`.
[[nodiscard]] StatusOr<MasterKey> ParseMasterKey(std::string_view text, const std::string& what);
// Reads a master key file: a regular file that only its owner can read or write (mode 0600 or 0400),
// else FailedPrecondition saying which mode it has.
[[nodiscard]] StatusOr<MasterKey> LoadMasterKeyFile(const std::string& path);
// Runs `command` with /bin/sh and reads the key from its stdout; it must exit 0.
[[nodiscard]] StatusOr<MasterKey> LoadMasterKeyCommand(const std::string& command);

class Keyring {
 public:
  // Unwraps every data key of data_dir with `master` and registers them. Refuses, writing nothing,
  // when a keys.json does not open with this master key (FailedPrecondition naming the file and both
  // key ids), when a collection has no keys.json, or when data_dir holds data written without
  // encryption (no keys.json, and anything in it but empty directories). A data directory without
  // keys.json and without data gets its node key here.
  [[nodiscard]] static StatusOr<std::unique_ptr<Keyring>> Open(const std::string& data_dir, const MasterKey& master);

  // A new data key for a new collection directory `dir` (created, empty): written to dir/keys.json
  // and registered for dir.
  [[nodiscard]] Status CreateCollectionKey(const std::string& dir);
  // Loads dir/keys.json (a collection restored from a snapshot brings its wrapped key) and registers it.
  [[nodiscard]] Status LoadCollectionKey(const std::string& dir);
  // Forgets the key of a directory that is being removed.
  void ForgetDirectory(const std::string& dir);

  const std::string& master_key_id() const { return master_.id; }

 private:
  explicit Keyring(const MasterKey& master) : master_(master) {}
  MasterKey master_;  // set at construction, never changed
};

// With encryption off: FailedPrecondition when data_dir holds a keys.json (its data is encrypted).
[[nodiscard]] Status CheckDataDirNotEncrypted(const std::string& data_dir);

// Rewraps every data key under data_dir (the node's and each collection's) from `old_key` to `new_key`
// without touching the data: each keys.json is replaced atomically and fsynced. Files already wrapped
// by new_key are left as they are, so an interrupted rotation is finished by running it again. Checks
// every file opens with old_key (or new_key) before changing any. *rotated counts the files rewritten.
[[nodiscard]] Status RotateMasterKey(const std::string& data_dir, const MasterKey& old_key, const MasterKey& new_key,
                                     size_t* rotated);

}  // namespace vj

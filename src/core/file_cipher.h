// File encryption at rest: the AES-256 primitives every encrypted file of VJVector uses, and the one
// decision of which files are encrypted with which key (the directory key registry).
//
// Sealed file format (AES-256-GCM, for the files VJVector writes itself: configs, aliases, replica
// state, ids files, index snapshots, snapshot manifests, security state):
//   magic "VJSEAL01" (8) | key id length (1) | key id | nonce (12, random per file) | ciphertext | tag (16)
// The header (magic, key id, nonce) is authenticated as associated data, so a file sealed under one
// key id cannot be passed off as another's. A new random nonce per write: a file is never sealed twice
// under one nonce (2^-96 collision odds per pair of writes with one key).
//
// RocksDB's files use AES-256-CTR (AesCtrXor, through storage/encrypted_fs.h): RocksDB reads and
// writes at arbitrary offsets, which GCM cannot serve; their integrity is RocksDB's own block checksums.
//
// Registry: RegisterDirectoryKey(dir, key) makes every file under dir (at any depth, unless a longer
// registered directory covers it) encrypted with key. Nothing registered = encryption off: files are
// written and read in the clear, as before. Registered = a file under dir that is not sealed is refused
// on read (DataLoss), so a plaintext file planted in an encrypted data directory is never trusted.
//
// Thread-safety: all functions are safe to call concurrently; FileSealer/FileUnsealer objects are not
// shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace vj {

inline constexpr size_t kAesKeyBytes = 32;
inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;
inline constexpr char kSealedMagic[8] = {'V', 'J', 'S', 'E', 'A', 'L', '0', '1'};

// A data key: 32 random bytes and the id stored next to everything it encrypts. Never logged.
struct DataKey {
  DataKey() = default;
  DataKey(const DataKey&) = default;
  DataKey& operator=(const DataKey&) = default;
  ~DataKey();  // overwrites the key bytes (OPENSSL_cleanse)

  std::string id;
  std::array<uint8_t, kAesKeyBytes> bytes{};
};

// Fills `out` with n cryptographically random bytes (OpenSSL RAND_bytes). Internal on failure.
[[nodiscard]] Status RandomBytes(void* out, size_t n);

// AES-256-GCM over a whole small message; `aad` is authenticated, not encrypted. Output:
// nonce (12) | ciphertext | tag (16). GcmOpen: DataLoss when the key is wrong or a byte changed.
[[nodiscard]] StatusOr<std::string> GcmSeal(const uint8_t key[kAesKeyBytes], std::string_view aad,
                                            std::string_view plain);
[[nodiscard]] StatusOr<std::string> GcmOpen(const uint8_t key[kAesKeyBytes], std::string_view aad,
                                            std::string_view sealed);

// XORs data with the AES-256-CTR key stream of (key, iv) starting at byte `offset` of the stream: the
// counter is iv + offset / 16 (128-bit big-endian addition). Encryption and decryption are the same.
[[nodiscard]] Status AesCtrXor(const uint8_t key[kAesKeyBytes], const uint8_t iv[16], uint64_t offset,
                               char* data, size_t n);

// Streaming sealer of one file in the sealed format: Header() first, then Update for each piece, then
// Finish for the tag.
class FileSealer {
 public:
  static StatusOr<std::unique_ptr<FileSealer>> Create(const DataKey& key);
  ~FileSealer();
  const std::string& header() const { return header_; }
  // Encrypts n bytes of `in` into `out` (out may equal in).
  [[nodiscard]] Status Update(const char* in, size_t n, char* out);
  // The 16-byte tag that ends the file.
  [[nodiscard]] StatusOr<std::string> Finish();

 private:
  FileSealer() = default;
  EVP_CIPHER_CTX* ctx_ = nullptr;
  std::string header_;
};

// Streaming reader of a sealed file whose header was parsed by Create; the caller feeds the
// ciphertext (the file without header and tag) and then checks the tag. Nothing decrypted may be
// trusted before Verify returns OK.
class FileUnsealer {
 public:
  // `header` starts at the file's first byte (at least header_bytes() of it); `what` names the file in
  // errors. DataLoss when it is not a sealed file; FailedPrecondition when its key id is not `key`'s.
  static StatusOr<std::unique_ptr<FileUnsealer>> Create(const DataKey& key, std::string_view header,
                                                        const std::string& what);
  ~FileUnsealer();
  size_t header_bytes() const { return header_bytes_; }
  [[nodiscard]] Status Update(const char* in, size_t n, char* out);
  // DataLoss naming the file when the tag does not match (wrong key, or damage).
  [[nodiscard]] Status Verify(std::string_view tag);

 private:
  FileUnsealer() = default;
  EVP_CIPHER_CTX* ctx_ = nullptr;
  size_t header_bytes_ = 0;
  std::string what_;
};

// Whether bytes start like a sealed file.
bool IsSealed(std::string_view bytes);

// Whole-buffer forms of the above.
[[nodiscard]] StatusOr<std::string> SealBytes(const DataKey& key, std::string_view plain);
[[nodiscard]] StatusOr<std::string> UnsealBytes(const DataKey& key, std::string_view sealed,
                                                const std::string& what);

// The registry (see the file comment). dir is made absolute and normal; registering a directory again
// replaces its key.
void RegisterDirectoryKey(const std::string& dir, std::shared_ptr<const DataKey> key);
void UnregisterDirectoryKey(const std::string& dir);
// The key that covers `path`, or null when its files are not encrypted.
std::shared_ptr<const DataKey> DirectoryKeyFor(const std::string& path);
// Whether any key is registered (encryption is on in this process).
bool AnyDirectoryKey();

}  // namespace vj

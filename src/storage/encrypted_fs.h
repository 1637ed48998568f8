// RocksDB's files encrypted at rest: an rocksdb::EncryptionProvider whose cipher is AES-256-CTR
// (OpenSSL, core/file_cipher.h AesCtrXor) under one data key, and the FileSystem that applies it
// (rocksdb::NewEncryptedFS) on top of a base FileSystem.
//
// Every file RocksDB writes (WAL, SST, MANIFEST, CURRENT, OPTIONS, IDENTITY) starts with a 4 KiB prefix
// in the clear: magic "VJRKENC1", the data key's id and a random 16-byte IV drawn for that file; the
// rest is the CTR key stream (counter = IV + offset / 16) XORed with RocksDB's bytes. The key itself is
// never in the file. CTR has no integrity of its own: a changed byte is caught by RocksDB's block
// checksums (SST blocks, WAL records and MANIFEST records all carry CRC32C; paranoid_checks is on), not
// by the cipher (docs/compliance.md says so).
//
// Layering under tests: EncryptedFS(PowerLossFileSystem(default)): bytes are encrypted before the
// power-loss model holds them back until fsync, as a disk would see them.
//
// Thread-safety: the provider and the file systems are safe for concurrent use (RocksDB's contract);
// each cipher stream keeps no mutable state.
#pragma once

#include <memory>

#include "core/file_cipher.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace vj {

// The FileSystem that encrypts with `key` on top of `base`.
std::shared_ptr<rocksdb::FileSystem> NewEncryptedFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base,
                                                            std::shared_ptr<const DataKey> key);

// An Env over NewEncryptedFileSystem; the caller keeps it alive as long as any DB opened with it.
std::unique_ptr<rocksdb::Env> NewEncryptedEnv(const std::shared_ptr<rocksdb::FileSystem>& base,
                                              std::shared_ptr<const DataKey> key);

}  // namespace vj

// Tests only: edits a closed PointStore's column families directly, as a bug in an older version or a
// bad disk could have left them (the quarantine tests fabricate what no current writer produces).
// Thread-safety: the store must not be open anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/db.h"

namespace vj {

// Puts `value` under `key` in `column_family` ("points", "log", "default", ...) of the store in `dir`;
// deletes the key when `value` is nullopt.
inline void PutRawStoreEntry(const std::string& dir, const std::string& column_family, const std::string& key,
                             const std::optional<std::string>& value) {
  rocksdb::DBOptions options;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, descriptors, &handles, &db).ok());
  bool found = false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != column_family) continue;
    found = true;
    rocksdb::WriteOptions wo;
    wo.sync = true;
    EXPECT_TRUE((value ? db->Put(wo, handles[i], key, *value) : db->Delete(wo, handles[i], key)).ok());
  }
  EXPECT_TRUE(found) << "no column family " << column_family << " in " << dir;
  for (rocksdb::ColumnFamilyHandle* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  EXPECT_TRUE(db->Close().ok());
  delete db;
}

// Makes the store in `dir` look as if written by a version before the start-up check of the mutation
// log (PointStore::Open): its entries are no longer marked as checked.
inline void ForgetLogCheck(const std::string& dir) {
  PutRawStoreEntry(dir, "default", "meta/log_checked/1", std::nullopt);
}

// The 8-byte big-endian key of log entry `sequence`.
inline std::string LogEntryKey(uint64_t sequence) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[7 - i] = static_cast<char>((sequence >> (8 * i)) & 0xFF);
  return key;
}

}  // namespace vj

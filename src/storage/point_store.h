// PointStore: the durable home of one shard's points, on RocksDB.
//
// Three column families: "points" (PointId::Key() -> EncodePointRecord), "log" (8-byte big-endian
// sequence number -> EncodeMutation) and "quarantine" (point records that did not decode when the store
// was opened, moved there byte for byte by RecoverEach under their points key followed by the 8-byte
// big-endian last sequence at the time, so that one bad record never keeps a shard from opening and is
// still there for an operator to inspect: docs/operations.md). Open also checks the log entries that an
// older version wrote: one that does not decode (a payload past today's limits) is moved to the
// quarantine under "log" + its 8-byte sequence and replaced by a delete of its point (or, when its bytes
// are damaged, the log is trimmed through it), so that no reader of the log (replicas, index snapshot
// replays, backups) ever meets it; entries this version writes are marked checked as they are written.
// Write() applies a batch of mutations to points and log in one RocksDB write batch, so the log and the
// points never disagree; it assigns consecutive sequence numbers starting at last_sequence() + 1. With sync=true the batch is on disk (WAL fsynced) when Write returns OK.
// The log is what replication and incremental backups read: ReadLog(from) streams it in order.
//
// A full disk: Write refuses a batch (DiskFullError, HTTP 507) while the filesystem of `dir` has less
// than options.min_free_bytes free, so RocksDB itself rarely meets ENOSPC; when it does (another process
// filled the disk), RocksDB stops taking writes, and Write reopens the DB once space is back (at most
// once per back-off interval; rocks_events.h says why not DB::Resume()). Reads go on meanwhile; a read
// that meets the reopen waits for it.
//
// Thread-safety: Get/ForEach/ReadLog are safe concurrently with each other and with Write. Write calls
// must be serialized by the caller (the shard's single writer does that; group commit happens above, by
// batching many requests into one Write).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/point_record.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Status;
}  // namespace rocksdb

namespace vj {

// A point record that RecoverEach moved to the quarantine family.
struct QuarantinedRecord {
  std::string key;     // its key in the points family
  std::string reason;  // why it did not decode
};

struct PointStoreOptions {
  bool create_if_missing = true;
  // RocksDB block cache / write buffer sizes (bytes).
  size_t write_buffer_bytes = 64ull << 20;
  // Keep about this many log entries: Write trims older ones once the log exceeds it by 1/16 (trimming
  // in steps keeps RocksDB range tombstones few). TrimLog trims explicitly. 0 = keep everything.
  uint64_t log_retention = 1'000'000;
  // Refuse writes while the filesystem holding the store has less free space than this (bytes); the
  // reserve keeps room for RocksDB's flushes and compactions and for index snapshots. 0 = no check.
  uint64_t min_free_bytes = 64ull << 20;
};

class PointStore {
 public:
  // Opens (or creates) the store in directory `dir`. IOError / DataLoss / Corruption as RocksDB reports.
  [[nodiscard]] static StatusOr<std::unique_ptr<PointStore>> Open(const std::string& dir,
                                                                   const PointStoreOptions& options);
  ~PointStore();
  PointStore(const PointStore&) = delete;
  PointStore& operator=(const PointStore&) = delete;

  // Applies `batch` atomically (see file comment). On success sets *last_sequence to the sequence
  // number of the batch's last mutation (unchanged for an empty batch).
  [[nodiscard]] Status Write(const std::vector<Mutation>& batch, bool sync, uint64_t* last_sequence);

  // The stored point, or std::nullopt when absent.
  [[nodiscard]] StatusOr<std::optional<PointRecord>> Get(const PointId& id) const;

  // Calls fn for every stored point in key order (integers before UUIDs). Stops early and returns fn's
  // error if fn returns one.
  [[nodiscard]] Status ForEach(const std::function<Status(PointRecord&&)>& fn) const;

  // ForEach for recovery, when a shard opens: a record that does not decode (or sits under another
  // point's key) is moved to the quarantine family and appended to *quarantined, instead of failing the
  // scan; the move is durable when this returns. When fn fails, the scan stops with its error and
  // nothing is moved (a later call finds the same records). Precondition: no Write runs concurrently
  // (the caller has not started its writer yet), as a concurrent write of the same point could be
  // moved away.
  [[nodiscard]] Status RecoverEach(const std::function<Status(PointRecord&&)>& fn,
                                   std::vector<QuarantinedRecord>* quarantined);

  // Records in the quarantine family (point records and log entries): counted at Open, plus those
  // RecoverEach moved since.
  uint64_t quarantined_count() const { return quarantined_count_.load(std::memory_order_acquire); }

  // Appends to *out the log entries with sequence >= from, in order, at most max_entries.
  // OutOfRange when `from` is older than the oldest entry still kept (the reader needs a snapshot).
  [[nodiscard]] Status ReadLog(uint64_t from, size_t max_entries, std::vector<LoggedMutation>* out) const;

  // Drops log entries with sequence < before (but none at or past the trim floor).
  [[nodiscard]] Status TrimLog(uint64_t before);

  // Keeps the log entries from `sequence` on when trimming (a shard's newest index snapshot needs them
  // to be brought up to date at restart), unless the log would then exceed kMaxRetentionFactor times
  // log_retention: past that, retention wins and the shard rebuilds its indexes at the next start.
  // Raises the floor only (a lower value is ignored) except after ResetSequence, which clears it.
  void SetLogTrimFloor(uint64_t sequence);
  static constexpr uint64_t kMaxRetentionFactor = 4;

  // Empties the log and makes `sequence` the last sequence, durably: the next Write continues from
  // sequence + 1. A replica calls it after loading a snapshot of its primary's points taken at `sequence`
  // (sequence may be lower than last_sequence()). Must be serialized with Write, like Write itself.
  [[nodiscard]] Status ResetSequence(uint64_t sequence);

  // Writes a consistent copy of the store into `dir` (which must not exist yet; on the same filesystem
  // the SST files are hard links, elsewhere copies) while writes go on, and sets *sequence to the last
  // sequence that copy holds: it has every write up to *sequence and none after (RocksDB's Checkpoint:
  // memtables are flushed, no write is blocked). The copy opens with Open like any store. Safe
  // concurrently with every other method. Errors as RocksDB reports them (IOError/Unavailable, disk full).
  [[nodiscard]] Status Checkpoint(const std::string& dir, uint64_t* sequence) const;

  // Flushes memtables to SST files (used before shutdown and snapshots).
  [[nodiscard]] Status Flush();

  uint64_t last_sequence() const { return last_sequence_.load(std::memory_order_acquire); }
  uint64_t first_log_sequence() const { return first_log_sequence_.load(std::memory_order_acquire); }
  uint64_t point_count_estimate() const;

  // True while writes are refused because the disk is full (until a write finds space again).
  bool write_blocked() const { return write_blocked_.load(std::memory_order_acquire); }
  // Stores of this process whose writes are refused for a full disk now (the
  // vjvector_storage_write_blocked gauge).
  static uint64_t WriteBlockedStores();

 private:
  struct OpenState;  // what Reopen needs to open the DB again
  PointStore();
  // Opens the DB described by open_ into db_ and the handles, and reads the sequence counters.
  Status OpenDb();
  // Closes db_ (handles first); db_ is null afterwards.
  void CloseDb();
  // DiskFullError when the filesystem has less than min_free_bytes free; otherwise, when RocksDB
  // stopped taking writes, reopens it (not more often than the back-off allows). Writer only.
  Status CheckWritable();
  void SetWriteBlocked(bool blocked);
  // FromRocks for a write; a full disk or a stopped DB marks the store for reopening.
  Status WriteResult(const rocksdb::Status& s, std::string_view context);
  // ForEach's scan; with `bad` set, records that do not decode are appended there (key, value) and to
  // *reasons instead of ending the scan.
  Status Scan(const std::function<Status(PointRecord&&)>& fn,
              std::vector<std::pair<std::string, std::string>>* bad,
              std::vector<QuarantinedRecord>* reasons) const;

  PointStoreOptions options_;  // never changes after Open
  std::string dir_;            // never changes after Open
  std::unique_ptr<OpenState> open_;

  // Guards db_ and the handles: shared by every use, exclusive while Reopen swaps them. db_ is null
  // only when a reopen failed (the next write tries again); reads then answer Unavailable.
  mutable std::shared_timed_mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* points_cf_ = nullptr;  // owned by db_'s handles below
  rocksdb::ColumnFamilyHandle* log_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* quarantine_cf_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::atomic<uint64_t> last_sequence_{0};
  std::atomic<uint64_t> first_log_sequence_{1};
  std::atomic<uint64_t> trim_floor_{0};  // 0 = none
  std::atomic<uint64_t> quarantined_count_{0};
  std::atomic<bool> write_blocked_{false};

  // Used by the writer only (Write calls are serialized).
  bool needs_reopen_ = false;
  std::chrono::steady_clock::time_point next_reopen_{};
  std::chrono::milliseconds reopen_backoff_{0};
  Status reopen_error_;  // what writes answer until the reopen succeeds
};

}  // namespace vj

// AuditLog: the tamper-evident audit log (docs/compliance.md). Requests hand it AuditEvents; one writer
// thread numbers them (`seq`), chains them (audit_record.h) and appends them as JSON lines to a file that
// rotates at a size limit, and/or to stdout. The chain runs on across rotated files and restarts: a new
// file's first record carries the hash of the last record of the file before it, and a restarted log
// reads the last record of its file and goes on from it.
//
// Requests never wait on the disk: Append puts the event on a bounded queue, and wakes the writer only
// when it sleeps for want of work. The writer lets records gather for up to 50 ms after the first (or
// until 1024 wait), then writes them with one write and one fdatasync. When the queue is full an
// ordinary event is dropped and counted (or, with block_when_full, the caller waits for room); an event
// appended with must_keep (admin actions) always waits for room. Records that could not be kept (queue
// full, a write error such as a full disk) leave a trace in the log itself: the next record written is
// an "audit.gap" record that says how many were lost and why, so the chain stays verifiable and the loss
// is visible. A failed write is rolled back (the file is truncated to where the batch began), counted and
// logged; the server goes on.
//
// Files: `path` is the file being written; a full file is renamed to `path.<seq of its first record,
// 12 digits>` and a new one started; with max_files > 0, the oldest rotated files beyond that many are
// deleted. Files are created 0600.
//
// Thread-safety: Append, Flush and GetStats may be called from any thread, concurrently. Open and the
// destructor are not concurrent with anything else.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <absl/base/thread_annotations.h>

#include "audit/audit_record.h"
#include "core/status.h"

namespace vj {

struct AuditLogOptions {
  std::string path;               // the file written; empty: no file
  bool to_stdout = false;         // each line also to standard output
  uint64_t max_file_bytes = 100ull << 20;
  size_t max_files = 0;           // rotated files kept; 0: all of them
  bool fsync = true;              // fdatasync the file after each batch of records
  std::string hmac_key;           // non-empty: records are chained with HMAC-SHA256 under this key
  std::string node;               // the node id each record names
  size_t queue_records = 65536;   // events waiting for the writer, at most
  bool block_when_full = false;   // a full queue makes callers wait instead of dropping
};

class AuditLog {
 public:
  struct Stats {
    uint64_t records = 0;       // records written (the log's own included)
    uint64_t dropped = 0;       // events lost: queue full
    uint64_t write_errors = 0;  // failed writes (each loses its batch; counted in lost_on_error)
    uint64_t lost_on_error = 0; // events lost to failed writes
    uint64_t rotations = 0;
  };

  // Opens (or creates) the file, resumes the chain from its last record (cutting off a partial last
  // line that a crash left, which the start record reports), starts the writer and writes an
  // "audit.start" record. An error when the file cannot be opened or created.
  static StatusOr<std::unique_ptr<AuditLog>> Open(AuditLogOptions options);
  // Writes an "audit.stop" record and everything queued, then stops the writer.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues one event (time_ms 0: now). must_keep: wait for room rather than drop.
  void Append(AuditEvent event, bool must_keep = false);
  // Returns once every event appended before the call is written (or counted lost).
  void Flush();
  Stats GetStats() const;

 private:
  explicit AuditLog(AuditLogOptions options);
  Status Resume(std::string* note);
  void Run();
  size_t EagerBatch() const;  // a batch this big is written at once
  void WriteBatch(std::deque<AuditEvent>& batch);
  // Writes `bytes` to the file at its end; on failure truncates it back. Errno on failure, else 0.
  int AppendToFile(const std::string& bytes);
  Status Rotate();
  Status OpenFile();
  void Retain();

  // Set at construction.
  const AuditLogOptions options_;
  const ChainHasher hasher_;

  mutable std::mutex mu_;
  std::condition_variable work_;   // the writer waits for events
  std::condition_variable room_;   // appenders wait for room; Flush for progress
  std::deque<AuditEvent> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;   // events accepted or dropped
  uint64_t processed_ ABSL_GUARDED_BY(mu_) = 0;  // of those, written, lost or dropped
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_idle_ ABSL_GUARDED_BY(mu_) = false;  // the writer waits for a first record
  int flushes_waiting_ ABSL_GUARDED_BY(mu_) = 0;  // Flush calls waiting: no batch window
  uint64_t dropped_since_gap_ ABSL_GUARDED_BY(mu_) = 0;

  // The writer thread's (and Open's, before it starts).
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  uint64_t next_seq_ = 1;
  std::string prev_hash_{kGenesisHash};
  uint64_t gap_dropped_ = 0;  // events dropped (queue full) that no audit.gap record reported yet
  uint64_t gap_lost_ = 0;     // events lost to write errors, likewise
  std::string last_error_;
  bool failing_ = false;  // the last write failed (logged once until one succeeds)

  std::atomic<uint64_t> records_{0}, dropped_{0}, write_errors_{0}, lost_on_error_{0}, rotations_{0};
  std::thread writer_;
};

// The rotated files of the log at `path` (path.<digits>), oldest first.
std::vector<std::string> RotatedAuditFiles(const std::string& path);

}  // namespace vj

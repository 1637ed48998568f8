#include "storage/point_store.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string_view>
#include <utility>

#include "rocksdb/db.h"
#include "core/crash_point.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"
#include "storage/encrypted_fs.h"
#include "storage/mutation_point_id.h"
#include "storage/power_loss_fs.h"
#include "storage/rocks_events.h"

namespace vj {
namespace {

constexpr char kPointsCf[] = "points";
constexpr char kLogCf[] = "log";
constexpr char kQuarantineCf[] = "quarantine";
// Default CF key holding the last assigned sequence number, so sequences never go backwards even when
// the whole log has been trimmed. Written in every Write batch.
constexpr char kLastSequenceKey[] = "meta/last_sequence";
// Default CF key holding the last sequence whose log entry is known to decode: every Write batch (whose
// entries this version encoded) and every start-up check (CheckLog) move it forward, so a start-up
// decodes only entries that an older version wrote since. The suffix is the decoder's generation: bump
// it when DecodeMutation starts refusing entries it used to accept, and every log is checked again.
constexpr char kLogCheckedKey[] = "meta/log_checked/1";
// Quarantined log entries' keys: this prefix and the entry's 8-byte sequence (point keys start with
// 'n' or 'u', PointId::Key, so the two never meet).
constexpr char kQuarantinedLogPrefix[] = "log";
// CheckLog writes its replacements in batches of at most this many bytes of quarantined entries.
constexpr size_t kLogCheckBatchBytes = 64ull << 20;
// Free space a reopen after a failed write waits for, whatever min_free_bytes says.
constexpr uint64_t kReopenFreeBytes = 16ull << 20;
// Reopen attempts back off from the first to the last interval, doubling.
constexpr std::chrono::milliseconds kMinReopenBackoff{100};
constexpr std::chrono::milliseconds kMaxReopenBackoff{5000};

std::atomic<uint64_t> g_write_blocked_stores{0};

std::string Mebibytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

Status ClosedError() {
  return absl::UnavailableError("the point store is closed after a storage error; it reopens at the next write");
}

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = std::string(context) + ": " + s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(msg);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(msg);
    case rocksdb::Status::kNotSupported:
      return absl::UnimplementedError(msg);
    case rocksdb::Status::kInvalidArgument:
      return absl::InvalidArgumentError(msg);
    case rocksdb::Status::kIOError:
      if (s.IsNoSpace()) return DiskFullError("disk full: " + msg);
      // Disk errors and a lock held by another process: the storage is unavailable, not our bug.
      return absl::UnavailableError(msg);
    case rocksdb::Status::kAborted:
      return absl::AbortedError(msg);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kShutdownInProgress:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// Big-endian so that RocksDB's bytewise order is numeric order.
std::string SequenceKey(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[7 - i] = static_cast<char>((seq >> (8 * i)) & 0xFF);
  return key;
}

StatusOr<uint64_t> ParseSequenceKey(const rocksdb::Slice& key) {
  if (key.size() != 8) {
    return absl::DataLossError("log key of " + std::to_string(key.size()) + " bytes, want 8");
  }
  uint64_t seq = 0;
  for (size_t i = 0; i < 8; ++i) seq = (seq << 8) | static_cast<uint8_t>(key[i]);
  return seq;
}

// The sequence counters of an open store: the log's last key, or the meta key when the log was trimmed
// empty; *first is the oldest log entry kept (last + 1 when the log is empty).
Status ReadSequences(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* log_cf, uint64_t* last_out,
                     uint64_t* first_out) {
  // Recover the sequence counters: the log's last key, or the meta key when the log was trimmed empty.
  uint64_t last = 0;
  std::string meta;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(), kLastSequenceKey, &meta);
  if (s.ok()) {
    VJ_ASSIGN_OR_RETURN(last, ParseSequenceKey(meta));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read last sequence");
  }
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), log_cf));
  it->SeekToLast();
  if (it->Valid()) {
    VJ_ASSIGN_OR_RETURN(uint64_t log_last, ParseSequenceKey(it->key()));
    last = std::max(last, log_last);
    it->SeekToFirst();
  }
  VJ_RETURN_IF_ERROR(FromRocks(it->status(), "scan log"));
  uint64_t first = last + 1;
  if (it->Valid()) {
    VJ_ASSIGN_OR_RETURN(first, ParseSequenceKey(it->key()));
  }
  VJ_RETURN_IF_ERROR(FromRocks(it->status(), "scan log"));
  *last_out = last;
  *first_out = first;
  return absl::OkStatus();
}

// Crash points of RocksDB's background work (core/crash_point.h), reached on its flush and compaction
// threads.
class CrashPointListener : public rocksdb::EventListener {
 public:
  void OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { VJ_CRASH_POINT("flush"); }
  void OnCompactionBegin(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    VJ_CRASH_POINT("compaction");
  }
};

// Open's check of the log entries not known to decode: those after the kLogCheckedKey mark, which an
// older version wrote (entries this version writes are marked as they are written). One that does not
// decode is moved to the quarantine family under kQuarantinedLogPrefix + its sequence and replaced, so
// that no reader of the log (replicas, index snapshot replays, backups) ever meets it (the comment in
// the loop says with what). Sets *first to the oldest entry kept and *quarantined to the entries moved.
// Before any Write.
Status CheckLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* log_cf, rocksdb::ColumnFamilyHandle* quarantine_cf,
                const std::string& dir, uint64_t last, uint64_t* first, uint64_t* quarantined_out) {
  uint64_t checked = 0;
  std::string meta;
  rocksdb::Status got = db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(), kLogCheckedKey, &meta);
  if (got.ok()) {
    VJ_ASSIGN_OR_RETURN(checked, ParseSequenceKey(meta));
  } else if (!got.IsNotFound()) {
    return FromRocks(got, "read log check mark");
  }
  const uint64_t from = std::max(*first, checked + 1);
  if (checked >= last) return absl::OkStatus();

  const auto start = std::chrono::steady_clock::now();
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, log_cf));
  rocksdb::WriteBatch wb;
  size_t batch_bytes = 0;
  uint64_t scanned = 0;
  uint64_t quarantined = 0;
  uint64_t trim_before = 0;  // a damaged entry's successor: the log is trimmed up to it
  auto flush = [&]() -> Status {
    if (wb.Count() == 0) return absl::OkStatus();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    VJ_RETURN_IF_ERROR(FromRocks(db->Write(wo, &wb), "quarantine log entries"));
    wb.Clear();
    batch_bytes = 0;
    return absl::OkStatus();
  };
  // The iterator reads from an implicit snapshot, so the replacements written meanwhile do not disturb it.
  for (it->Seek(SequenceKey(from)); it->Valid(); it->Next()) {
    VJ_ASSIGN_OR_RETURN(const uint64_t seq, ParseSequenceKey(it->key()));
    ++scanned;
    const std::string_view value(it->value().data(), it->value().size());
    StatusOr<Mutation> decoded = DecodeMutation(value);
    if (decoded.ok()) continue;
    // Moved aside byte for byte; in its place a delete of the same point, which is what the shard's
    // state holds of it once RecoverEach quarantined its point record too (or it is overwritten by a
    // later entry, replayed after this one). Sequences stay contiguous, so replicas and index snapshot
    // replays read through it. A damaged entry names no point that can be trusted: the log is trimmed
    // through it instead, and readers that needed it fall back to a snapshot (a replica) or a rebuild
    // from the points (an index snapshot's replay), as for any trimmed entry.
    VJ_RETURN_IF_ERROR(FromRocks(wb.Put(quarantine_cf, kQuarantinedLogPrefix + SequenceKey(seq), value), "batch"));
    StatusOr<PointId> id = DecodeMutationPointId(value);
    if (id.ok()) {
      Mutation replacement;
      replacement.kind = Mutation::Kind::kDelete;
      replacement.record.id = *id;
      VJ_RETURN_IF_ERROR(FromRocks(wb.Put(log_cf, SequenceKey(seq), EncodeMutation(replacement)), "batch"));
      spdlog::error("point store {}: mutation log entry {} (point {}) does not decode and was moved to the "
                    "quarantine; a delete of the point replaces it: {}",
                    dir, seq, id->ToString(), StatusMessage(decoded.status()));
    } else {
      trim_before = seq + 1;
      spdlog::error("point store {}: mutation log entry {} does not decode and was moved to the quarantine; "
                    "the log is trimmed through it (readers of older entries need a snapshot): {}",
                    dir, seq, StatusMessage(decoded.status()));
    }
    ++quarantined;
    batch_bytes += value.size();
    if (batch_bytes >= kLogCheckBatchBytes) VJ_RETURN_IF_ERROR(flush());
  }
  VJ_RETURN_IF_ERROR(FromRocks(it->status(), "scan log"));
  if (trim_before != 0) {
    VJ_RETURN_IF_ERROR(FromRocks(wb.DeleteRange(log_cf, SequenceKey(0), SequenceKey(trim_before)), "batch"));
  }
  VJ_RETURN_IF_ERROR(FromRocks(wb.Put(db->DefaultColumnFamily(), kLogCheckedKey, SequenceKey(last)), "batch"));
  VJ_RETURN_IF_ERROR(flush());
  if (trim_before != 0) *first = trim_before;
  *quarantined_out = quarantined;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (scanned > 0) {
    spdlog::info("point store {}: checked {} mutation log entries written before this version in {:.3f} s; "
                 "{} quarantined", dir, scanned, seconds, quarantined);
  }
  return absl::OkStatus();
}

}  // namespace

struct PointStore::OpenState {
  std::unique_ptr<rocksdb::Env> encrypted_env;  // set when the store's directory has a data key
  rocksdb::DBOptions db_options;
  std::vector<std::string> names;  // column families, in the order of descriptors
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::shared_ptr<storage_internal::BackgroundErrorListener> listener;
};

PointStore::PointStore() = default;

StatusOr<std::unique_ptr<PointStore>> PointStore::Open(const std::string& dir,
                                                       const PointStoreOptions& options) {
  std::error_code ec;
  if (!options.create_if_missing && !std::filesystem::exists(dir + "/CURRENT", ec)) {
    return absl::NotFoundError("no point store in " + dir);
  }

  std::unique_ptr<PointStore> store(new PointStore());
  store->options_ = options;
  store->dir_ = dir;
  store->open_ = std::make_unique<OpenState>();
  OpenState& open = *store->open_;
  rocksdb::DBOptions& db_options = open.db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  db_options.listeners.push_back(std::make_shared<CrashPointListener>());
  // Tests only (VJVECTOR_TEST_POWER_LOSS=1): what is not fsynced dies with the process.
  if (PowerLossModeRequested()) db_options.env = PowerLossEnv();
  // Encryption at rest: one decision, made by the data key that covers the directory (core/file_cipher.h).
  if (std::shared_ptr<const DataKey> key = DirectoryKeyFor(dir)) {
    open.encrypted_env = NewEncryptedEnv(
        PowerLossModeRequested() ? SharedPowerLossFileSystem() : rocksdb::FileSystem::Default(), std::move(key));
    db_options.env = open.encrypted_env.get();
  }
  // RocksDB's own log goes to ours (warnings and errors only), not to a LOG file that a full disk would
  // break; its background errors are recorded and recovered from here (rocks_events.h).
  db_options.info_log = storage_internal::NewRocksLogger(dir);
  open.listener = std::make_shared<storage_internal::BackgroundErrorListener>(dir);
  db_options.listeners.push_back(open.listener);

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = options.write_buffer_bytes;
  rocksdb::ColumnFamilyOptions points_options = cf_options;
  // Point look-ups by id dominate reads of this family; a Bloom filter skips SST files that lack the key.
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  points_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));

  // A store written by a newer version may hold more families; RocksDB refuses to open it unless all
  // are listed, so open whatever exists plus ours.
  std::vector<std::string>& names = open.names;
  if (!rocksdb::DB::ListColumnFamilies(db_options, dir, &names).ok()) names.clear();
  for (const char* want : {rocksdb::kDefaultColumnFamilyName.c_str(), kPointsCf, kLogCf, kQuarantineCf}) {
    if (std::find(names.begin(), names.end(), want) == names.end()) names.emplace_back(want);
  }
  for (const std::string& name : names) {
    open.descriptors.emplace_back(name, name == kPointsCf ? points_options : cf_options);
  }
  VJ_RETURN_IF_ERROR(store->OpenDb());
  uint64_t first = store->first_log_sequence();
  uint64_t quarantined = 0;
  VJ_RETURN_IF_ERROR(CheckLog(store->db_.get(), store->log_cf_, store->quarantine_cf_, dir, store->last_sequence(),
                              &first, &quarantined));
  store->first_log_sequence_.store(first, std::memory_order_release);
  store->quarantined_count_.fetch_add(quarantined, std::memory_order_acq_rel);
  return store;
}

Status PointStore::OpenDb() {
  rocksdb::DB* raw_db = nullptr;
  handles_.clear();
  VJ_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(open_->db_options, dir_, open_->descriptors, &handles_, &raw_db),
                               "open point store " + dir_));
  db_.reset(raw_db);
  const std::vector<std::string>& names = open_->names;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == kPointsCf) points_cf_ = handles_[i];
    if (names[i] == kLogCf) log_cf_ = handles_[i];
    if (names[i] == kQuarantineCf) quarantine_cf_ = handles_[i];
  }
  {
    // Normally empty; an operator empties it after dealing with what it holds.
    uint64_t quarantined = 0;
    std::unique_ptr<rocksdb::Iterator> q(db_->NewIterator(rocksdb::ReadOptions(), quarantine_cf_));
    for (q->SeekToFirst(); q->Valid(); q->Next()) ++quarantined;
    VJ_RETURN_IF_ERROR(FromRocks(q->status(), "scan quarantine"));
    quarantined_count_.store(quarantined, std::memory_order_release);
  }

  uint64_t last = 0;
  uint64_t first = 1;
  VJ_RETURN_IF_ERROR(ReadSequences(db_.get(), log_cf_, &last, &first));
  last_sequence_.store(last, std::memory_order_release);
  first_log_sequence_.store(first, std::memory_order_release);
  return absl::OkStatus();
}

void PointStore::CloseDb() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  handles_.clear();
  points_cf_ = log_cf_ = quarantine_cf_ = nullptr;
  // After a failed write RocksDB reports the WAL it could not sync; what was acknowledged is in it.
  db_->Close().PermitUncheckedError();
  db_.reset();
}

PointStore::~PointStore() {
  CloseDb();
  SetWriteBlocked(false);
}

uint64_t PointStore::WriteBlockedStores() { return g_write_blocked_stores.load(std::memory_order_acquire); }

void PointStore::SetWriteBlocked(bool blocked) {
  if (write_blocked_.exchange(blocked, std::memory_order_acq_rel) == blocked) return;
  if (blocked) {
    g_write_blocked_stores.fetch_add(1, std::memory_order_acq_rel);
    spdlog::error("point store {}: the disk is full: writes are refused until space is freed", dir_);
  } else {
    g_write_blocked_stores.fetch_sub(1, std::memory_order_acq_rel);
    spdlog::info("point store {}: space is back: writes are accepted again", dir_);
  }
}

Status PointStore::CheckWritable() {
  if (open_->listener->failed() && !needs_reopen_) {
    needs_reopen_ = true;
    reopen_error_ = open_->listener->no_space()
                        ? DiskFullError("disk full: RocksDB could not write a file of the store")
                        : absl::UnavailableError("the store stopped taking writes after a storage error");
  }
  // Reopening writes files too (a new WAL, MANIFEST, the flushed memtable): wait for some room.
  const uint64_t need = std::max<uint64_t>(options_.min_free_bytes, needs_reopen_ ? kReopenFreeBytes : 0);
  if (need > 0) {
    struct statvfs fs {};
    if (::statvfs(dir_.c_str(), &fs) == 0) {
      const uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
      if (free < need) {
        SetWriteBlocked(true);
        return DiskFullError("disk full: " + Mebibytes(free) + " free on the data directory's filesystem, below the " +
                             Mebibytes(need) + " kept free (writes.min_free_disk_mb); writes are refused until "
                             "space is freed, reads still work");
      }
    }
  }
  if (!needs_reopen_) return absl::OkStatus();

  const auto now = std::chrono::steady_clock::now();
  if (now < next_reopen_) return reopen_error_;
  reopen_backoff_ = std::clamp(reopen_backoff_ * 2, kMinReopenBackoff, kMaxReopenBackoff);
  next_reopen_ = now + reopen_backoff_;
  // Waits for reads in progress (a snapshot scan may take long: then the next write tries again).
  std::unique_lock<std::shared_timed_mutex> lock(db_mu_, std::defer_lock);
  if (!lock.try_lock_for(std::chrono::seconds(2))) return reopen_error_;
  spdlog::warn("point store {}: reopening to resume writes after: {}", dir_, StatusMessage(reopen_error_));
  const uint64_t before = last_sequence();
  CloseDb();
  open_->listener->Clear();
  Status opened = OpenDb();
  if (!opened.ok()) {
    CloseDb();
    spdlog::error("point store {}: reopening failed (trying again in {} ms): {}", dir_, reopen_backoff_.count(),
                  StatusMessage(opened));
    reopen_error_ = IsDiskFull(opened) ? opened : absl::UnavailableError(StatusMessage(opened));
    return reopen_error_;
  }
  if (last_sequence() != before) {
    // The failed write reached the WAL after all; its sequences are taken, so they stay. The shard's
    // memory misses it until the next start.
    spdlog::error("point store {}: a write reported failed was kept in the WAL (sequence {} -> {})", dir_, before,
                  last_sequence());
  }
  needs_reopen_ = false;
  reopen_backoff_ = std::chrono::milliseconds(0);
  spdlog::info("point store {}: reopened; writes resume", dir_);
  return absl::OkStatus();
}

Status PointStore::WriteResult(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) {
    SetWriteBlocked(false);
    return absl::OkStatus();
  }
  Status status = FromRocks(s, context);
  // RocksDB stops taking writes after a failed WAL append or flush, until the DB is reopened.
  if (s.IsIOError() || open_->listener->failed()) {
    needs_reopen_ = true;
    reopen_error_ = status;
  }
  if (IsDiskFull(status)) SetWriteBlocked(true);
  return status;
}

Status PointStore::Write(const std::vector<Mutation>& batch, bool sync, uint64_t* last_sequence) {
  const uint64_t prev = last_sequence_.load(std::memory_order_acquire);
  if (batch.empty()) {
    if (last_sequence != nullptr) *last_sequence = prev;
    return absl::OkStatus();
  }
  VJ_RETURN_IF_ERROR(CheckWritable());
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return ClosedError();
  rocksdb::WriteBatch wb;
  uint64_t seq = last_sequence_.load(std::memory_order_acquire);  // a reopen may have moved it
  for (const Mutation& m : batch) {
    ++seq;
    const std::string key = m.record.id.Key();
    VJ_RETURN_IF_ERROR(FromRocks(wb.Put(log_cf_, SequenceKey(seq), EncodeMutation(m)), "batch"));
    if (m.kind == Mutation::Kind::kDelete) {
      VJ_RETURN_IF_ERROR(FromRocks(wb.Delete(points_cf_, key), "batch"));
    } else {
      VJ_RETURN_IF_ERROR(FromRocks(wb.Put(points_cf_, key, EncodePointRecord(m.record)), "batch"));
    }
  }
  VJ_RETURN_IF_ERROR(
      FromRocks(wb.Put(db_->DefaultColumnFamily(), kLastSequenceKey, SequenceKey(seq)), "batch"));
  VJ_RETURN_IF_ERROR(FromRocks(wb.Put(db_->DefaultColumnFamily(), kLogCheckedKey, SequenceKey(seq)), "batch"));

  // Retention trimming rides in the same batch; trimming in steps of retention/16 keeps the number of
  // range tombstones (which every log read must consult) small.
  const uint64_t first = first_log_sequence_.load(std::memory_order_acquire);
  uint64_t new_first = first;
  const uint64_t retention = options_.log_retention;
  if (retention > 0 && seq - first + 1 > retention + std::max<uint64_t>(1, retention / 16)) {
    new_first = seq + 1 - retention;
    // An index snapshot's floor holds the trim back, up to a bound on the log's length.
    const uint64_t floor = trim_floor_.load(std::memory_order_acquire);
    if (floor != 0 && floor < new_first && seq + 1 - floor <= retention * kMaxRetentionFactor) {
      new_first = std::max(first, floor);
    }
  }
  if (new_first != first) {
    VJ_RETURN_IF_ERROR(
        FromRocks(wb.DeleteRange(log_cf_, SequenceKey(0), SequenceKey(new_first)), "batch"));
  }

  rocksdb::WriteOptions wo;
  wo.sync = sync;
  VJ_RETURN_IF_ERROR(WriteResult(db_->Write(wo, &wb), "write batch"));
  last_sequence_.store(seq, std::memory_order_release);
  if (new_first != first) first_log_sequence_.store(new_first, std::memory_order_release);
  if (last_sequence != nullptr) *last_sequence = seq;
  return absl::OkStatus();
}

StatusOr<std::optional<PointRecord>> PointStore::Get(const PointId& id) const {
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return ClosedError();
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), points_cf_, id.Key(), &value);
  if (s.IsNotFound()) return std::optional<PointRecord>();
  VJ_RETURN_IF_ERROR(FromRocks(s, "get point " + id.ToString()));
  VJ_ASSIGN_OR_RETURN(PointRecord record, DecodePointRecord(value));
  if (!(record.id == id)) {
    return absl::DataLossError("point " + id.ToString() + " stored under the key of " +
                               record.id.ToString());
  }
  return std::optional<PointRecord>(std::move(record));
}

Status PointStore::ForEach(const std::function<Status(PointRecord&&)>& fn) const {
  return Scan(fn, nullptr, nullptr);
}

Status PointStore::Scan(const std::function<Status(PointRecord&&)>& fn,
                        std::vector<std::pair<std::string, std::string>>* bad,
                        std::vector<QuarantinedRecord>* reasons) const {
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return ClosedError();
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // a full scan would evict the hot working set
  // An iterator reads from an implicit snapshot, so concurrent writes do not tear the scan.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, points_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    StatusOr<PointRecord> record = DecodePointRecord(std::string_view(it->value().data(),
                                                                      it->value().size()));
    Status status = record.status();
    if (status.ok() && record->id.Key() != key) {
      status = absl::DataLossError("point " + record->id.ToString() + " stored under a different key");
    }
    if (!status.ok()) {
      if (bad == nullptr) return status;
      bad->emplace_back(std::string(key), it->value().ToString());
      reasons->push_back({std::string(key), StatusMessage(status)});
      continue;
    }
    VJ_RETURN_IF_ERROR(fn(std::move(*record)));
  }
  return FromRocks(it->status(), "scan points");
}

Status PointStore::RecoverEach(const std::function<Status(PointRecord&&)>& fn,
                               std::vector<QuarantinedRecord>* quarantined) {
  std::vector<std::pair<std::string, std::string>> bad;
  std::vector<QuarantinedRecord> reasons;  // reported only once moved: fn may end the scan early
  VJ_RETURN_IF_ERROR(Scan(fn, &bad, &reasons));
  if (bad.empty()) return absl::OkStatus();
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return ClosedError();
  // The sequence suffix keeps an earlier quarantined copy of the same point when it goes bad again.
  const std::string suffix = SequenceKey(last_sequence());
  rocksdb::WriteBatch wb;
  for (const auto& [key, value] : bad) {
    VJ_RETURN_IF_ERROR(FromRocks(wb.Put(quarantine_cf_, key + suffix, value), "batch"));
    VJ_RETURN_IF_ERROR(FromRocks(wb.Delete(points_cf_, key), "batch"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  VJ_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "quarantine point records"));
  quarantined_count_.fetch_add(bad.size(), std::memory_order_acq_rel);
  quarantined->insert(quarantined->end(), reasons.begin(), reasons.end());
  return absl::OkStatus();
}

Status PointStore::ReadLog(uint64_t from, size_t max_entries,
                           std::vector<LoggedMutation>* out) const {
  from = std::max<uint64_t>(from, 1);  // sequences start at 1; 0 means "from the beginning"
  auto trimmed = [&] {
    return absl::OutOfRangeError("log entry " + std::to_string(from) +
                                 " was trimmed; oldest kept is " +
                                 std::to_string(first_log_sequence()));
  };
  if (from < first_log_sequence()) return trimmed();
  if (max_entries == 0) return absl::OkStatus();
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return ClosedError();

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  size_t n = 0;
  uint64_t expected = from;
  for (it->Seek(SequenceKey(from)); it->Valid() && n < max_entries; it->Next(), ++n) {
    VJ_ASSIGN_OR_RETURN(uint64_t seq, ParseSequenceKey(it->key()));
    // Sequences are consecutive, so a gap means a TrimLog ran between the check above and the Seek.
    if (seq != expected) {
      if (n == 0) return trimmed();
      return absl::DataLossError("mutation log jumps from " + std::to_string(expected - 1) + " to " +
                                 std::to_string(seq));
    }
    VJ_ASSIGN_OR_RETURN(Mutation m, DecodeMutation(std::string_view(it->value().data(),
                                                                    it->value().size())));
    out->push_back(LoggedMutation{seq, std::move(m)});
    ++expected;
  }
  VJ_RETURN_IF_ERROR(FromRocks(it->status(), "scan log"));
  // Nothing found although `from` was assigned: the whole tail was trimmed concurrently.
  if (n == 0 && from <= last_sequence() && from < first_log_sequence()) return trimmed();
  return absl::OkStatus();
}

Status PointStore::Checkpoint(const std::string& dir, uint64_t* sequence) const {
  {
    std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
    if (db_ == nullptr) return ClosedError();
    rocksdb::Checkpoint* raw = nullptr;
    VJ_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint of " + dir_));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // log_size_for_flush 0: flush the memtables rather than copy the WAL, so the copy is SST files only.
    VJ_RETURN_IF_ERROR(FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                                 "checkpoint of " + dir_ + " into " + dir));
  }
  // Which write the copy ends with: read it from the copy itself (writes went on meanwhile, so the
  // store's counter may be ahead of it). Read-only: the copy's files stay as the checkpoint made them.
  rocksdb::DBOptions options = open_->db_options;
  options.listeners.clear();
  options.create_if_missing = false;
  options.info_log = storage_internal::NewRocksLogger(dir);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  VJ_RETURN_IF_ERROR(FromRocks(rocksdb::DB::OpenForReadOnly(options, dir, open_->descriptors, &handles, &raw_db),
                               "open checkpoint " + dir));
  std::unique_ptr<rocksdb::DB> copy(raw_db);
  rocksdb::ColumnFamilyHandle* log_cf = nullptr;
  for (size_t i = 0; i < open_->names.size(); ++i) {
    if (open_->names[i] == kLogCf) log_cf = handles[i];
  }
  uint64_t first = 0;
  Status read = log_cf == nullptr ? absl::InternalError("checkpoint " + dir + " has no log family")
                                  : ReadSequences(copy.get(), log_cf, sequence, &first);
  for (rocksdb::ColumnFamilyHandle* h : handles) copy->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  copy.reset();
  return read;
}

Status PointStore::ResetSequence(uint64_t sequence) {
  VJ_RETURN_IF_ERROR(CheckWritable());
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return ClosedError();
  rocksdb::WriteBatch wb;
  VJ_RETURN_IF_ERROR(FromRocks(
      wb.DeleteRange(log_cf_, SequenceKey(0), SequenceKey(std::numeric_limits<uint64_t>::max())),
      "batch"));
  VJ_RETURN_IF_ERROR(
      FromRocks(wb.Put(db_->DefaultColumnFamily(), kLastSequenceKey, SequenceKey(sequence)), "batch"));
  VJ_RETURN_IF_ERROR(
      FromRocks(wb.Put(db_->DefaultColumnFamily(), kLogCheckedKey, SequenceKey(sequence)), "batch"));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  VJ_RETURN_IF_ERROR(WriteResult(db_->Write(wo, &wb), "reset sequence"));
  last_sequence_.store(sequence, std::memory_order_release);
  first_log_sequence_.store(sequence + 1, std::memory_order_release);
  trim_floor_.store(0, std::memory_order_release);  // it named sequences of the old contents
  return absl::OkStatus();
}

void PointStore::SetLogTrimFloor(uint64_t sequence) {
  uint64_t current = trim_floor_.load(std::memory_order_acquire);
  while (current < sequence &&
         !trim_floor_.compare_exchange_weak(current, sequence, std::memory_order_acq_rel)) {
  }
}

Status PointStore::TrimLog(uint64_t before) {
  // Never trim past the end: sequences not yet assigned must still be logged when they are.
  before = std::min(before, last_sequence() + 1);
  const uint64_t floor = trim_floor_.load(std::memory_order_acquire);
  if (floor != 0) before = std::min(before, floor);
  const uint64_t first = first_log_sequence();
  if (before <= first) return absl::OkStatus();
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return ClosedError();
  VJ_RETURN_IF_ERROR(FromRocks(
      db_->DeleteRange(rocksdb::WriteOptions(), log_cf_, SequenceKey(0), SequenceKey(before)),
      "trim log"));
  first_log_sequence_.store(before, std::memory_order_release);
  return absl::OkStatus();
}

Status PointStore::Flush() {
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return ClosedError();
  return FromRocks(db_->Flush(rocksdb::FlushOptions(), handles_), "flush");
}

uint64_t PointStore::point_count_estimate() const {
  std::shared_lock<std::shared_timed_mutex> lock(db_mu_);
  if (db_ == nullptr) return 0;
  uint64_t n = 0;
  if (!db_->GetIntProperty(points_cf_, "rocksdb.estimate-num-keys", &n)) return 0;
  return n;
}

}  // namespace vj

#include "audit/audit_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/wall_clock.h"

namespace vj {
namespace {

namespace fs = std::filesystem;

// How long the writer lets records gather after the first one before it writes them.
constexpr auto kBatchWindow = std::chrono::milliseconds(50);

// Records are a few hundred bytes; a line this long at the end of a file is not one of ours.
constexpr size_t kMaxTail = 1 << 20;

void SyncDirectory(const std::string& file) {
  std::string dir = fs::path(file).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

std::string RotatedName(const std::string& path, uint64_t last_seq) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%012llu", static_cast<unsigned long long>(last_seq));
  return path + suffix;
}

// seq and hash of one record line; nullopt when it is not one.
std::optional<std::pair<uint64_t, std::string>> SeqAndHash(std::string_view line) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const boost::json::object& o = v.get_object();
  const auto* seq = o.if_contains("seq");
  const auto* hash = o.if_contains("hash");
  if (seq == nullptr || hash == nullptr || !hash->is_string() || hash->get_string().size() != kHashHexLength) {
    return std::nullopt;
  }
  uint64_t n = 0;
  if (seq->is_uint64()) {
    n = seq->get_uint64();
  } else if (seq->is_int64() && seq->get_int64() > 0) {
    n = static_cast<uint64_t>(seq->get_int64());
  } else {
    return std::nullopt;
  }
  return std::make_pair(n, std::string(hash->get_string()));
}

}  // namespace

std::vector<std::string> RotatedAuditFiles(const std::string& path) {
  std::vector<std::string> out;
  const fs::path p(path);
  fs::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  const std::string prefix = p.filename().string() + ".";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());  // fixed-width numbers: by name is by seq
  return out;
}

AuditLog::AuditLog(AuditLogOptions options) : options_(std::move(options)), hasher_(options_.hmac_key) {}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options) {
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  std::string note = "new log";
  if (!log->options_.path.empty()) {
    const fs::path parent = fs::path(log->options_.path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (Status st = log->Resume(&note); !st.ok()) {
      // Keep the unreadable file as it is (verify will name it) and start a new chain beside it.
      note = std::string(st.message()) + "; a new chain starts here";
      const std::string aside = log->options_.path + ".unreadable-" + std::to_string(WallClockUnixMs());
      if (::rename(log->options_.path.c_str(), aside.c_str()) != 0 && errno != ENOENT) {
        return absl::FailedPreconditionError("audit.path " + log->options_.path + ": " + note +
                                             ", and it cannot be moved aside: " + std::strerror(errno));
      }
    }
    VJ_RETURN_IF_ERROR(log->OpenFile());
  }
  log->writer_ = std::thread([raw = log.get()] { raw->Run(); });
  AuditEvent start;
  start.action = "audit.start";
  start.reason = note;
  log->Append(std::move(start), /*must_keep=*/true);
  return log;
}

AuditLog::~AuditLog() {
  AuditEvent stop;
  stop.action = "audit.stop";
  Append(std::move(stop), /*must_keep=*/true);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) {
    (void)::fdatasync(fd_);
    ::close(fd_);
  }
}

Status AuditLog::Resume(std::string* note) {
  // The last record: of the file being written, else of the newest rotated file.
  std::string source = options_.path;
  struct stat st{};
  if (::stat(source.c_str(), &st) != 0 || st.st_size == 0) {
    std::vector<std::string> rotated = RotatedAuditFiles(options_.path);
    if (rotated.empty()) return absl::OkStatus();  // a new log
    source = rotated.back();
    if (::stat(source.c_str(), &st) != 0) return absl::OkStatus();
  }
  int fd = ::open(source.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return absl::FailedPreconditionError("cannot open " + source + ": " + std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const uint64_t take = std::min<uint64_t>(size, kMaxTail);
  std::string tail(take, '\0');
  const ssize_t got = ::pread(fd, tail.data(), take, static_cast<off_t>(size - take));
  if (got != static_cast<ssize_t>(take)) {
    ::close(fd);
    return absl::DataLossError("cannot read the end of " + source);
  }
  std::string cut_note;
  if (!tail.empty() && tail.back() != '\n') {
    // A crash in the middle of a write: that record was never complete. Cut it off, and say so.
    const size_t last_newline = tail.rfind('\n');
    const size_t keep = last_newline == std::string::npos ? 0 : last_newline + 1;
    if (last_newline == std::string::npos && size > take) {
      ::close(fd);
      return absl::DataLossError("the last line of " + source + " is longer than any record");
    }
    const uint64_t new_size = size - take + keep;
    if (::ftruncate(fd, static_cast<off_t>(new_size)) != 0) {
      ::close(fd);
      return absl::DataLossError("cannot cut the partial last record off " + source + ": " + std::strerror(errno));
    }
    cut_note = "; cut off a partial last record of " + std::to_string(tail.size() - keep) + " bytes (" + source +
               " was being written when the process stopped)";
    tail.resize(keep);
  }
  ::close(fd);
  if (tail.empty()) {
    *note = "new log" + cut_note;
    return absl::OkStatus();
  }
  tail.pop_back();  // the newline
  const size_t start = tail.rfind('\n');
  const std::string_view last = std::string_view(tail).substr(start == std::string::npos ? 0 : start + 1);
  auto seq_hash = SeqAndHash(last);
  if (!seq_hash) return absl::DataLossError("the last record of " + source + " is unreadable");
  next_seq_ = seq_hash->first + 1;
  prev_hash_ = seq_hash->second;
  *note = "resumed after seq " + std::to_string(seq_hash->first) + cut_note;
  return absl::OkStatus();
}

Status AuditLog::OpenFile() {
  fd_ = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return absl::FailedPreconditionError("cannot open audit.path " + options_.path + ": " + std::strerror(errno));
  }
  struct stat st{};
  file_bytes_ = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return absl::OkStatus();
}

void AuditLog::Append(AuditEvent event, bool must_keep) {
  if (event.time_ms == 0) event.time_ms = WallClockUnixMs();
  bool wake = false;
  {
    std::unique_lock lock(mu_);
    ++appended_;
    if (queue_.size() >= options_.queue_records) {
      if (!must_keep && !options_.block_when_full) {
        ++dropped_since_gap_;
        ++processed_;
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      room_.wait(lock, [&] { return queue_.size() < options_.queue_records; });
    }
    queue_.push_back(std::move(event));
    // Wake the writer only when it sleeps for want of work, or when a batch is big enough to go now:
    // a request never pays for a wake-up the writer does not need.
    wake = writer_idle_ || queue_.size() == EagerBatch();
    if (wake) writer_idle_ = false;
  }
  if (wake) work_.notify_one();
}

size_t AuditLog::EagerBatch() const { return std::max<size_t>(1, std::min<size_t>(1024, options_.queue_records / 2)); }

void AuditLog::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = appended_;
  ++flushes_waiting_;
  work_.notify_one();
  room_.wait(lock, [&] { return processed_ >= target; });
  --flushes_waiting_;
}

AuditLog::Stats AuditLog::GetStats() const {
  Stats s;
  s.records = records_.load();
  s.dropped = dropped_.load();
  s.write_errors = write_errors_.load();
  s.lost_on_error = lost_on_error_.load();
  s.rotations = rotations_.load();
  return s;
}

void AuditLog::Run() {
  pthread_setname_np(pthread_self(), "vj-audit");
  for (;;) {
    std::deque<AuditEvent> batch;
    uint64_t dropped = 0;
    {
      std::unique_lock lock(mu_);
      writer_idle_ = true;
      work_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      writer_idle_ = false;
      if (queue_.empty() && stopping_) return;
      // The batch window: let records gather, so that one write and one fdatasync serve them all.
      work_.wait_for(lock, kBatchWindow, [&] {
        return stopping_ || flushes_waiting_ > 0 || queue_.size() >= EagerBatch();
      });
      batch.swap(queue_);
      dropped = dropped_since_gap_;
      dropped_since_gap_ = 0;
    }
    room_.notify_all();
    gap_dropped_ += dropped;
    const size_t n = batch.size();
    WriteBatch(batch);
    {
      std::lock_guard lock(mu_);
      processed_ += n;
    }
    room_.notify_all();
  }
}

void AuditLog::WriteBatch(std::deque<AuditEvent>& batch) {
  bool gap_pending = gap_dropped_ + gap_lost_ > 0;
  if (gap_pending) {
    AuditEvent gap;
    gap.time_ms = WallClockUnixMs();
    gap.action = "audit.gap";
    gap.reason = std::to_string(gap_dropped_) + " records dropped (audit queue full), " + std::to_string(gap_lost_) +
                 " lost to write errors" + (gap_lost_ > 0 ? " (" + last_error_ + ")" : "");
    batch.push_front(std::move(gap));
  }
  const uint64_t gap_dropped = gap_dropped_, gap_lost = gap_lost_;

  std::string buffer;
  size_t chunk_records = 0;
  bool chunk_has_gap = false;
  uint64_t chunk_seq = next_seq_;
  std::string chunk_prev = prev_hash_;
  // Writes the chunk; on failure rolls the chain back to the chunk's start and counts its events lost.
  auto commit = [&]() -> bool {
    if (buffer.empty()) return true;
    int err = 0;
    if (!options_.path.empty()) {
      // After a failed rotation the file may be closed: open it again, or count the failure.
      if (fd_ < 0 && !OpenFile().ok()) err = errno != 0 ? errno : EIO;
      if (err == 0) err = AppendToFile(buffer);
    }
    if (err != 0) {
      const uint64_t lost = chunk_records - (chunk_has_gap ? 1 : 0);
      write_errors_.fetch_add(1);
      lost_on_error_.fetch_add(lost);
      gap_lost_ += lost;
      last_error_ = std::strerror(err);
      if (!failing_) {
        spdlog::error("audit log: cannot write {}: {}; {} records lost (counted in "
                      "vjvector_audit_dropped_total; the next record written says how many)",
                      options_.path, last_error_, lost);
      }
      failing_ = true;
      next_seq_ = chunk_seq;
      prev_hash_ = chunk_prev;
    } else {
      if (failing_) spdlog::info("audit log: writing {} again", options_.path);
      failing_ = false;
      if (options_.to_stdout) {
        std::fwrite(buffer.data(), 1, buffer.size(), stdout);
        std::fflush(stdout);
      }
      records_.fetch_add(chunk_records);
      if (chunk_has_gap) {
        gap_dropped_ -= gap_dropped;
        gap_lost_ -= gap_lost;
      }
    }
    buffer.clear();
    chunk_records = 0;
    chunk_has_gap = false;
    chunk_seq = next_seq_;
    chunk_prev = prev_hash_;
    return err == 0;
  };

  for (size_t i = 0; i < batch.size(); ++i) {
    const AuditEvent& event = batch[i];
    std::string hash;
    std::string line = AuditRecordLine(event, next_seq_, options_.node, hasher_, prev_hash_, &hash);
    if (fd_ >= 0 && file_bytes_ + buffer.size() > 0 &&
        file_bytes_ + buffer.size() + line.size() > options_.max_file_bytes) {
      if (commit()) {
        if (Status st = Rotate(); !st.ok()) {
          write_errors_.fetch_add(1);
          spdlog::error("audit log: rotation failed, writing on to {}: {}", options_.path, StatusMessage(st));
        }
      }
      // The chain may have been rolled back: number and chain this record afresh.
      line = AuditRecordLine(event, next_seq_, options_.node, hasher_, prev_hash_, &hash);
    }
    buffer += line;
    ++chunk_records;
    if (i == 0 && gap_pending) {
      chunk_has_gap = true;
      gap_pending = false;
    }
    ++next_seq_;
    prev_hash_ = std::move(hash);
  }
  commit();
}

int AuditLog::AppendToFile(const std::string& bytes) {
  size_t written = 0;
  int err = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    written += static_cast<size_t>(n);
  }
  if (err == 0 && options_.fsync && ::fdatasync(fd_) != 0) err = errno;
  if (err != 0) {
    // No partial record stays behind: the file ends where the batch began.
    (void)::ftruncate(fd_, static_cast<off_t>(file_bytes_));
    return err;
  }
  file_bytes_ += bytes.size();
  return 0;
}

Status AuditLog::Rotate() {
  struct stat st{};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError("not a regular file: not rotated");
  }
  (void)::fdatasync(fd_);
  const std::string rotated = RotatedName(options_.path, next_seq_ - 1);
  if (::rename(options_.path.c_str(), rotated.c_str()) != 0) {
    return absl::UnavailableError("cannot rename " + options_.path + " to " + rotated + ": " + std::strerror(errno));
  }
  ::close(fd_);
  fd_ = -1;
  SyncDirectory(options_.path);
  rotations_.fetch_add(1);
  Status opened = OpenFile();
  Retain();
  return opened;
}

void AuditLog::Retain() {
  if (options_.max_files == 0) return;
  std::vector<std::string> rotated = RotatedAuditFiles(options_.path);
  for (size_t i = 0; i + options_.max_files < rotated.size(); ++i) {
    std::error_code ec;
    fs::remove(rotated[i], ec);
    spdlog::info("audit log: removed {} (audit.max_files {})", rotated[i], options_.max_files);
  }
}

}  // namespace vj

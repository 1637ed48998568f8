#include "storage/rocks_events.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

namespace vj::storage_internal {
namespace {

class RocksLogger : public rocksdb::Logger {
 public:
  explicit RocksLogger(std::string dir) : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), dir_(std::move(dir)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Emit(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    Emit(level, format, ap);
  }

 private:
  void Emit(rocksdb::InfoLogLevel level, const char* format, va_list ap) {
    char line[1024];
    va_list copy;
    va_copy(copy, ap);
    std::vsnprintf(line, sizeof(line), format, copy);
    va_end(copy);
    // Logged at error level by every open that creates a new store.
    if (std::strstr(line, "Error when reading") != nullptr && std::strstr(line, "dir NotFound") != nullptr) return;
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      spdlog::error("rocksdb {}: {}", dir_, line);
    } else {
      spdlog::warn("rocksdb {}: {}", dir_, line);
    }
  }

  const std::string dir_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewRocksLogger(const std::string& dir) {
  return std::make_shared<RocksLogger>(dir);
}

void BackgroundErrorListener::OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/,
                                                rocksdb::Status* error) {
  if (error == nullptr || error->ok()) return;
  if (error->IsNoSpace()) no_space_.store(true, std::memory_order_release);
  failed_.store(true, std::memory_order_release);
}

void BackgroundErrorListener::OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/,
                                                   rocksdb::Status /*error*/, bool* auto_recovery) {
  // See the header: RocksDB's recovery would reuse a failed WAL writer. PointStore reopens instead.
  *auto_recovery = false;
}

}  // namespace vj::storage_internal

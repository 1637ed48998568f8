// ByteBudget: a process-wide cap on bytes held for one purpose (request bodies being read, responses
// being written), so that many slow or hostile clients together cannot take the node's memory.
// A Reservation holds its bytes until it is destroyed or released; TryGrow adds to one (the decoded JSON
// of a request, core/json_memory.h, is charged as it grows).
// Thread-safety: TryReserve and used() from any thread; a Reservation is used by one thread at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

namespace vj {

class ByteBudget {
 public:
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& o) noexcept : budget_(std::exchange(o.budget_, nullptr)), bytes_(o.bytes_) {}
    Reservation& operator=(Reservation&& o) noexcept {
      if (this != &o) {
        Release();
        budget_ = std::exchange(o.budget_, nullptr);
        bytes_ = o.bytes_;
      }
      return *this;
    }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation() { Release(); }

    void Release() {
      if (budget_ != nullptr) budget_->used_.fetch_sub(bytes_, std::memory_order_relaxed);
      budget_ = nullptr;
    }

   private:
    friend class ByteBudget;
    Reservation(ByteBudget* budget, size_t bytes) : budget_(budget), bytes_(bytes) {}
    ByteBudget* budget_ = nullptr;
    size_t bytes_ = 0;
  };

  explicit ByteBudget(size_t limit) : limit_(limit) {}

  // Reserves `bytes`, or returns false when that would take the total over the limit.
  [[nodiscard]] bool TryReserve(size_t bytes, Reservation* out) {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    *out = Reservation(this, bytes);
    return true;
  }
  // Adds `bytes` to *r (empty, or a reservation of this budget), or returns false when that would take
  // the total over the limit (then *r is unchanged).
  [[nodiscard]] bool TryGrow(size_t bytes, Reservation* r) {
    Reservation more;
    if (!TryReserve(bytes, &more)) return false;
    if (r->budget_ == nullptr) {
      *r = std::move(more);
    } else {
      more.budget_ = nullptr;  // its bytes now belong to *r
      r->bytes_ += bytes;
    }
    return true;
  }
  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

}  // namespace vj

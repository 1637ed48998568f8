#include "core/json_memory.h"

#include <boost/json/memory_resource.hpp>

#include "core/http_status.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <string>

namespace vj {

struct JsonBodyMemory::State {
  State(ByteBudget& b, size_t body) : budget(b), body_bytes(body) {}

  // Charges the budget up to `allocated` bytes; throws JsonMemoryExceeded when it does not fit and the
  // section is strict.
  void Grow(size_t allocated_now) {
    std::lock_guard<std::mutex> lock(mu);
    if (closed || allocated_now <= charged) return;
    // Whole steps, so that the lock is taken once per step; a step is at most 1/64 of the budget, so a
    // small budget (http.max_buffered_body_bytes may be 1 KiB) still admits small bodies.
    const size_t step = std::max<size_t>(4096, std::min<size_t>(kChargeStep, budget.limit() / 64));
    const size_t need = (allocated_now - charged + step - 1) / step * step;
    if (budget.TryGrow(need, &reservation)) {
      charged += need;
      charged_fast.store(charged, std::memory_order_relaxed);
      return;
    }
    if (!strict.load(std::memory_order_relaxed)) return;
    // Too large alone: what this body really needs (not the rounded step) is over the whole budget.
    refused_too_large = body_bytes + allocated_now > budget.limit();
    refused_need = allocated_now;
    throw JsonMemoryExceeded();
  }

  ByteBudget& budget;
  const size_t body_bytes;
  std::atomic<size_t> allocated{0};
  std::atomic<size_t> charged_fast{0};  // `charged`, read without the lock; max after Close
  std::atomic<bool> strict{false};
  std::mutex mu;
  ByteBudget::Reservation reservation;  // guarded by mu
  size_t charged = 0;                   // guarded by mu
  bool closed = false;                  // guarded by mu
  bool refused_too_large = false;       // guarded by mu
  size_t refused_need = 0;              // guarded by mu
};

class JsonBodyMemory::Resource : public boost::json::memory_resource {
 public:
  explicit Resource(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  void* do_allocate(std::size_t n, std::size_t align) override {
    const size_t now = state_->allocated.fetch_add(n, std::memory_order_relaxed) + n;
    try {
      if (now > state_->charged_fast.load(std::memory_order_relaxed)) state_->Grow(now);
      if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(n, std::align_val_t(align));
      return ::operator new(n);
    } catch (...) {
      state_->allocated.fetch_sub(n, std::memory_order_relaxed);
      throw;
    }
  }
  void do_deallocate(void* p, std::size_t n, std::size_t align) override {
    if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      ::operator delete(p, std::align_val_t(align));
    } else {
      ::operator delete(p);
    }
    state_->allocated.fetch_sub(n, std::memory_order_relaxed);
  }
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override { return this == &other; }

  std::shared_ptr<State> state_;
};

JsonBodyMemory::JsonBodyMemory(ByteBudget& budget, size_t body_bytes)
    : state_(std::make_shared<State>(budget, body_bytes)),
      storage_(boost::json::make_shared_resource<Resource>(state_)) {}

JsonBodyMemory::~JsonBodyMemory() { Close(); }

boost::json::storage_ptr JsonBodyMemory::storage() const { return storage_; }

void JsonBodyMemory::BeginStrict() { state_->strict.store(true, std::memory_order_relaxed); }
void JsonBodyMemory::EndStrict() { state_->strict.store(false, std::memory_order_relaxed); }

Status JsonBodyMemory::Exceeded() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  const std::string limit = std::to_string(state_->budget.limit());
  if (state_->refused_too_large) {
    return TooLargeError("Payload too large: the request body's decoded JSON needs more than " +
                         std::to_string(state_->refused_need) + " bytes of memory, which with its " +
                         std::to_string(state_->body_bytes) + " bytes of text is over the server's limit of " +
                         limit + " bytes for request bodies (http.max_buffered_body_bytes); send fewer values "
                         "per request");
  }
  return absl::UnavailableError("request bodies being decoded use the server's buffer limit of " + limit +
                                " bytes (http.max_buffered_body_bytes); retry later");
}

void JsonBodyMemory::Close() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->closed = true;
  state_->reservation.Release();
  state_->charged = 0;
  state_->charged_fast.store(std::numeric_limits<size_t>::max(), std::memory_order_relaxed);
}

size_t JsonBodyMemory::allocated() const { return state_->allocated.load(std::memory_order_relaxed); }

size_t JsonBodyMemory::charged() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->charged;
}

}  // namespace vj

// JsonBodyMemory: counts the memory of one request's decoded JSON against a process-wide ByteBudget (the
// one that already holds the request bodies being read), so that many bodies of tiny values, whose
// Boost.JSON trees are several times their text, cannot together take more than the cap.
//
// ParseJson(text, depth, memory) builds its tree and keeps its parser's stack in memory.storage(): each
// allocation is counted, and the budget is charged in steps of kChargeStep bytes as the count grows.
// When a step does not fit, the parse fails: TooLargeError (HTTP 413) when this body alone (its text
// and its tree) would be over the whole budget, Unavailable (HTTP 503, retry later) when others hold the
// rest. After the parse, allocations from the same storage (a handler editing the tree) are counted but
// never refused. Close() (or the destructor) returns the charge to the budget: parts of the tree that a
// handler kept beyond the request (moved into longer-lived state) are not charged any more.
//
// Thread-safety: the storage may allocate and free from any thread; Close, BeginStrict/EndStrict and
// Exceeded from one thread at a time (the request's).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <string_view>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include "core/byte_budget.h"
#include "core/status.h"

namespace vj {

// Thrown by the storage inside a strict section (ParseJson) when the budget is exhausted; ParseJson
// turns it into Exceeded()'s Status.
struct JsonMemoryExceeded : std::bad_alloc {
  const char* what() const noexcept override { return "the decoded JSON is over its memory budget"; }
};

class JsonBodyMemory {
 public:
  // The budget is charged in steps of this size (one atomic update per step, not per allocation).
  static constexpr size_t kChargeStep = 256 * 1024;

  // `budget` must outlive this object; `body_bytes` is the size of the body's text, already reserved
  // from the same budget by the transport (it decides between 413 and 503).
  JsonBodyMemory(ByteBudget& budget, size_t body_bytes);
  ~JsonBodyMemory();
  JsonBodyMemory(const JsonBodyMemory&) = delete;
  JsonBodyMemory& operator=(const JsonBodyMemory&) = delete;

  // The memory resource to build trees with (shared ownership: a tree keeps it alive).
  boost::json::storage_ptr storage() const;

  // Between these, an allocation that does not fit the budget throws JsonMemoryExceeded.
  void BeginStrict();
  void EndStrict();
  // Why the last refused allocation was refused.
  Status Exceeded() const;

  // Returns the charge to the budget; later allocations are not counted.
  void Close();

  // Bytes allocated from storage() and not freed yet; bytes charged to the budget.
  size_t allocated() const;
  size_t charged() const;

 private:
  struct State;
  class Resource;
  std::shared_ptr<State> state_;
  boost::json::storage_ptr storage_;
};

// ParseJson (core/payload.h) with the tree and the parser's stack in memory->storage(), refused (see
// above) when over the budget. memory == nullptr: as ParseJson.
[[nodiscard]] StatusOr<boost::json::value> ParseJson(std::string_view text, size_t max_depth,
                                                     JsonBodyMemory* memory);

}  // namespace vj

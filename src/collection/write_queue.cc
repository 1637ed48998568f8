#include "collection/write_queue.h"

#include <chrono>
#include <string>

#include "core/write_not_applied.h"

namespace vj {
namespace {

// Heap bytes of a JSON value, walked with an explicit stack (payload depth is bounded, but no input
// should be able to choose this thread's stack depth).
size_t JsonBytes(const boost::json::object& root) {
  size_t bytes = 0;
  std::vector<const boost::json::value*> pending;
  const auto add_object = [&](const boost::json::object& object) {
    for (const auto& [key, value] : object) {
      bytes += key.size() + sizeof(boost::json::key_value_pair);
      pending.push_back(&value);
    }
  };
  add_object(root);
  while (!pending.empty()) {
    const boost::json::value* v = pending.back();
    pending.pop_back();
    if (const auto* s = v->if_string()) {
      bytes += s->size();
    } else if (const auto* a = v->if_array()) {
      bytes += a->size() * sizeof(boost::json::value);
      for (const auto& element : *a) pending.push_back(&element);
    } else if (const auto* o = v->if_object()) {
      add_object(*o);
    }
  }
  return bytes;
}

}  // namespace

size_t QueuedBytes(const Mutation& m) {
  size_t bytes = sizeof(Mutation) + m.record.id.ToString().size();
  for (const auto& [name, values] : m.record.vectors) {
    bytes += name.size() + values.size() * sizeof(float) + 64;  // map node
  }
  for (const auto& [name, v] : m.record.sparse) {
    bytes += name.size() + v.nnz() * (sizeof(uint32_t) + sizeof(float)) + 64;
  }
  return bytes + JsonBytes(m.record.payload);
}

size_t QueuedBytes(const WriteRequest& request) {
  size_t bytes = sizeof(WriteRequest) + request.held_bytes;
  for (const Mutation& m : request.mutations) bytes += QueuedBytes(m);
  return bytes;
}

bool WriteQueue::HasRoom(size_t mutations, size_t bytes) const {
  if (queue_.empty()) return true;  // a request over the limits alone is admitted alone
  return mutations_ + mutations <= limits_.max_mutations && bytes_ + bytes <= limits_.max_bytes;
}

StatusOr<std::future<Status>> WriteQueue::Push(std::unique_ptr<WriteRequest> request, bool sync,
                                               Clock::time_point deadline) {
  const size_t mutations = std::max<size_t>(1, request->mutations.size());
  const size_t bytes = QueuedBytes(*request);
  std::unique_lock lock(mu_);
  if (sync) {
    const uint64_t ticket = next_ticket_++;
    const auto mine = sync_waiters_.insert(sync_waiters_.end(), ticket);
    const auto ready = [&] {
      return closed_ || (sync_waiters_.front() == ticket && HasRoom(mutations, bytes));
    };
    bool admitted = true;
    if (deadline == Clock::time_point::max()) {
      room_.wait(lock, ready);
    } else {
      admitted = room_.wait_until(lock, deadline, ready);
    }
    sync_waiters_.erase(mine);
    // The next sync waiter is now the oldest; with none left, async requests held back may go on.
    room_.notify_all();
    if (!admitted) {
      return absl::DeadlineExceededError(
          "the shard's write queue stayed full (" + std::to_string(mutations_) + " mutations, " +
          std::to_string(bytes_) + " bytes queued) until the write deadline; nothing was written");
    }
  } else {
    const bool admitted = room_.wait_for(lock, limits_.full_wait, [&] {
      return closed_ || (sync_waiters_.empty() && HasRoom(mutations, bytes));
    });
    if (!admitted) {
      return absl::UnavailableError(
          "write queue full: the shard has " + std::to_string(mutations_) + " mutations (" +
          std::to_string(bytes_) + " bytes) queued, the limit is " +
          std::to_string(limits_.max_mutations) + " mutations or " + std::to_string(limits_.max_bytes) +
          " bytes (writes.queue_max_mutations / writes.queue_max_bytes); this shard wrote nothing of the "
          "request (other shards of the collection may have taken their part: resend it, upserts and "
          "deletes are idempotent), retry later or use wait=true");
    }
  }
  if (closed_) return absl::UnavailableError("collection is closing");
  if (const int64_t now = WallClockUnixMs(); !WithinApplyBy(request->apply_by_unix_ms, now)) {
    return WriteNotApplied("the write reached the shard's write order " +
                           std::to_string(now - request->apply_by_unix_ms) +
                           " ms after its deadline (the client's timeout, or the forwarding node's deadline: "
                           "the sender has given up on it, or is about to): refused, nothing was written");
  }
  std::future<Status> done = request->done.get_future();
  queue_.push_back({std::move(request), mutations, bytes});  // counted only once it is queued
  mutations_ += mutations;
  bytes_ += bytes;
  lock.unlock();
  ready_.notify_one();
  return done;
}

std::vector<std::unique_ptr<WriteRequest>> WriteQueue::Pop(size_t max_batch_mutations) {
  std::vector<std::unique_ptr<WriteRequest>> out;
  {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
    size_t taken = 0;
    while (!queue_.empty() && (out.empty() || taken < max_batch_mutations)) {
      Entry& front = queue_.front();
      taken += front.request->mutations.size();
      mutations_ -= front.mutations;
      bytes_ -= front.bytes;
      out.push_back(std::move(front.request));
      queue_.pop_front();
    }
  }
  if (!out.empty()) room_.notify_all();
  return out;
}

void WriteQueue::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  ready_.notify_all();
  room_.notify_all();
}

size_t WriteQueue::queued_mutations() const {
  std::lock_guard lock(mu_);
  return mutations_;
}

size_t WriteQueue::queued_bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t WriteQueue::sync_waiting() const {
  std::lock_guard lock(mu_);
  return sync_waiters_.size();
}

}  // namespace vj

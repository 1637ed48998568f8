#include "collection/shard_writer.h"

#include "collection/shard_apply.h"

#include "tracing/tracer.h"

namespace vj {

ShardWriter::ShardWriter(ShardState& state, size_t max_batch_mutations, size_t insert_threads,
                         WriteQueueLimits limits, IndexCompactor& compactor,
                         IndexSnapshotter* snapshotter)
    : state_(state),
      max_batch_mutations_(max_batch_mutations),
      insert_threads_(insert_threads == 0 ? 1 : insert_threads),
      compactor_(compactor),
      snapshotter_(snapshotter),
      queue_(limits),
      thread_([this] { Run(); }) {}

ShardWriter::~ShardWriter() {
  queue_.Close();
  thread_.join();
}

StatusOr<std::future<Status>> ShardWriter::Submit(std::unique_ptr<WriteRequest> request, bool sync,
                                                  Clock::time_point deadline) {
  return queue_.Push(std::move(request), sync, deadline);
}

void ShardWriter::Run() {
  while (true) {
    std::vector<std::unique_ptr<WriteRequest>> requests = queue_.Pop(max_batch_mutations_);
    if (requests.empty()) return;  // closed and drained
    Process(requests);
  }
}

void ShardWriter::Process(std::vector<std::unique_ptr<WriteRequest>>& requests) {
  std::vector<std::unique_ptr<WriteRequest>> group;
  for (auto& request : requests) {
    if (!request->build && !request->reconfigure && !request->rebuild) {
      group.push_back(std::move(request));
      continue;
    }
    Commit(group);  // what came before must be applied before this request reads the state
    if (request->reconfigure) {
      std::unique_lock lock(state_.mu);
      request->done.set_value(request->reconfigure(state_));
      continue;
    }
    if (request->rebuild) {
      request->done.set_value(request->rebuild(state_));
      continue;
    }
    StatusOr<std::vector<Mutation>> built = request->build(state_);
    if (!built.ok()) {
      request->done.set_value(built.status());
      continue;
    }
    request->mutations = std::move(*built);
    group.push_back(std::move(request));
    Commit(group);
  }
  Commit(group);
}

TraceContext ShardWriter::TraceOf(uint64_t after, uint64_t upto) const {
  std::lock_guard lock(traced_mu_);
  for (const TracedCommit& c : traced_) {
    if (c.last > after && c.first <= upto) return c.trace;
  }
  return TraceContext();
}

void ShardWriter::Commit(std::vector<std::unique_ptr<WriteRequest>>& group) {
  if (group.empty()) return;
  std::vector<Mutation> batch;
  std::vector<const Mutation*> order;
  std::vector<bool> vectors_changed;
  for (auto& request : group) {
    for (Mutation& m : request->mutations) {
      batch.push_back(std::move(m));
      vectors_changed.push_back(request->vectors_changed);
    }
  }
  // One span for the group commit, a child of the first sampled request's write: the other requests'
  // traces see it through the attribute vjvector.commit.requests, not as a span of theirs.
  Span span;
  for (const auto& request : group) {
    if (request->trace.sampled()) {
      span = StartSpan("storage.commit", SpanKind::kInternal, request->trace);
      break;
    }
  }
  if (span.recording() && !batch.empty()) {
    // The store numbers the batch from its last sequence + 1, and this thread is its only writer.
    const uint64_t first = state_.store->last_sequence() + 1;
    std::lock_guard lock(traced_mu_);
    traced_.push_back(TracedCommit{first, first + batch.size() - 1, span.context()});
    if (traced_.size() > kMaxTraced) traced_.pop_front();
  }
  if (span.recording()) {
    span.SetAttribute("db.system.name", "vjvector");
    span.SetAttribute("db.operation.name", "commit");
    span.SetAttribute("vjvector.commit.requests", uint64_t{group.size()});
    span.SetAttribute("vjvector.commit.mutations", uint64_t{batch.size()});
  }
  uint64_t last_sequence = 0;
  Status status = state_.store->Write(batch, /*sync=*/true, &last_sequence);
  if (!status.ok()) span.SetError(status);
  if (status.ok()) {
    order.reserve(batch.size());
    for (const Mutation& m : batch) order.push_back(&m);
    ApplyToShardState(state_, order, vectors_changed, insert_threads_, last_sequence);
  }
  span.End();  // durable and visible
  for (auto& request : group) request->done.set_value(status);
  group.clear();
  if (!status.ok()) return;
  compactor_.Poke();
  if (snapshotter_ != nullptr) snapshotter_->Applied(batch.size());
}

}  // namespace vj

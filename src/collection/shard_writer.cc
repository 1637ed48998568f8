#include "collection/shard_writer.h"

namespace vj {

ShardWriter::ShardWriter(ShardState& state, size_t max_batch_mutations, size_t insert_threads,
                         WriteQueueLimits limits, IndexCompactor& compactor)
    : state_(state),
      max_batch_mutations_(max_batch_mutations),
      insert_threads_(insert_threads == 0 ? 1 : insert_threads),
      compactor_(compactor),
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
  uint64_t last_sequence = 0;
  Status status = state_.store->Write(batch, /*sync=*/true, &last_sequence);
  if (status.ok()) {
    order.reserve(batch.size());
    for (const Mutation& m : batch) order.push_back(&m);
    Apply(order, vectors_changed);
  }
  for (auto& request : group) request->done.set_value(status);
  group.clear();
  if (status.ok()) compactor_.Poke();
}

void ShardWriter::Apply(const std::vector<const Mutation*>& mutations,
                             const std::vector<bool>& vectors_changed) {
  // Phase 1, without the state lock: new vectors go into the (internally synchronized) vector indexes
  // under fresh internal ids. Searches skip them until phase 2 marks them live.
  std::vector<uint32_t> new_internal(mutations.size(), 0);
  std::map<std::string, std::vector<uint32_t>> ids_by_vector;
  std::map<std::string, std::vector<const float*>> data_by_vector;
  for (size_t i = 0; i < mutations.size(); ++i) {
    const Mutation& m = *mutations[i];
    if (m.kind != Mutation::Kind::kUpsert || !vectors_changed[i]) continue;
    new_internal[i] = state_.next_internal++;
    for (const auto& [name, values] : m.record.vectors) {
      ids_by_vector[name].push_back(new_internal[i]);
      data_by_vector[name].push_back(values.data());
    }
  }
  for (auto& [name, ids] : ids_by_vector) {
    auto it = state_.vector_indexes.find(name);
    if (it == state_.vector_indexes.end()) continue;
    it->second->InsertBatch(ids, data_by_vector[name], insert_threads_);
  }

  // Phase 2, exclusive: switch the maps over in sequence order. Replaced and deleted points leave
  // `live` here, which every search checks; their vector-index entries are removed in phase 3, after
  // the lock: VectorIndex::Remove may wait for a background rebuild's final swap, and waiting for it
  // here would hold every search of the shard for as long.
  std::vector<uint32_t> removed;
  std::unique_lock lock(state_.mu);
  auto kill = [this, &removed](uint32_t internal) {
    state_.live.remove(internal);
    removed.push_back(internal);
    for (auto& [key, index] : state_.payload_indexes) index->Remove(internal, state_.payloads[internal]);
    state_.payloads[internal] = Payload();
  };
  if (state_.external_of.size() < state_.next_internal) {
    state_.external_of.resize(state_.next_internal);
    state_.payloads.resize(state_.next_internal);
  }
  for (size_t i = 0; i < mutations.size(); ++i) {
    const Mutation& m = *mutations[i];
    const PointId& id = m.record.id;
    auto existing = state_.internal_of.find(id);
    if (m.kind == Mutation::Kind::kDelete) {
      if (existing != state_.internal_of.end()) {
        kill(existing->second);
        state_.internal_of.erase(existing);
      }
      continue;
    }
    if (vectors_changed[i] || existing == state_.internal_of.end()) {
      if (!vectors_changed[i]) continue;  // payload update of a point deleted meanwhile
      if (existing != state_.internal_of.end()) kill(existing->second);
      const uint32_t internal = new_internal[i];
      state_.external_of[internal] = id;
      state_.payloads[internal] = m.record.payload;
      state_.live.add(internal);
      state_.internal_of[id] = internal;
      for (auto& [key, index] : state_.payload_indexes) index->Add(internal, m.record.payload);
    } else {
      const uint32_t internal = existing->second;
      for (auto& [key, index] : state_.payload_indexes) index->Remove(internal, state_.payloads[internal]);
      state_.payloads[internal] = m.record.payload;
      for (auto& [key, index] : state_.payload_indexes) index->Add(internal, m.record.payload);
    }
  }
  lock.unlock();

  // Phase 3, without the state lock: drop the dead points from the vector indexes.
  for (uint32_t internal : removed) {
    for (auto& [name, index] : state_.vector_indexes) index->Remove(internal);
  }
}

}  // namespace vj

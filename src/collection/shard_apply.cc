#include "collection/shard_apply.h"

#include <map>
#include <mutex>
#include <string>

namespace vj {

void ApplyToShardState(ShardState& state, const std::vector<const Mutation*>& mutations,
                       const std::vector<bool>& vectors_changed, size_t insert_threads,
                       uint64_t last_sequence) {
  // Phase 1, without the state lock: new vectors go into the (internally synchronized) vector indexes
  // under fresh internal ids. Searches skip them until phase 2 marks them live.
  std::vector<uint32_t> new_internal(mutations.size(), 0);
  std::map<std::string, std::vector<uint32_t>> ids_by_vector;
  std::map<std::string, std::vector<const float*>> data_by_vector;
  for (size_t i = 0; i < mutations.size(); ++i) {
    const Mutation& m = *mutations[i];
    if (m.kind != Mutation::Kind::kUpsert || !vectors_changed[i]) continue;
    new_internal[i] = state.next_internal++;
    for (const auto& [name, values] : m.record.vectors) {
      ids_by_vector[name].push_back(new_internal[i]);
      data_by_vector[name].push_back(values.data());
    }
  }
  for (auto& [name, ids] : ids_by_vector) {
    auto it = state.vector_indexes.find(name);
    if (it == state.vector_indexes.end()) continue;
    it->second->InsertBatch(ids, data_by_vector[name], insert_threads);
  }
  for (size_t i = 0; i < mutations.size(); ++i) {
    const Mutation& m = *mutations[i];
    if (m.kind != Mutation::Kind::kUpsert || !vectors_changed[i]) continue;
    for (const auto& [name, v] : m.record.sparse) {
      auto it = state.sparse_indexes.find(name);
      if (it != state.sparse_indexes.end()) it->second->Insert(new_internal[i], v);
    }
  }

  // Phase 2, exclusive: switch the maps over in sequence order. Replaced and deleted points leave
  // `live` here, which every search checks; their vector-index entries are removed in phase 3, after
  // the lock: VectorIndex::Remove may wait for a background rebuild's final swap, and waiting for it
  // here would hold every search of the shard for as long.
  std::vector<uint32_t> removed;
  std::unique_lock lock(state.mu);
  auto kill = [&state, &removed](uint32_t internal) {
    state.live.remove(internal);
    removed.push_back(internal);
    for (auto& [key, index] : state.payload_indexes) index->Remove(internal, state.payloads[internal]);
    state.payloads[internal] = Payload();
  };
  if (state.external_of.size() < state.next_internal) {
    state.external_of.resize(state.next_internal);
    state.payloads.resize(state.next_internal);
  }
  for (size_t i = 0; i < mutations.size(); ++i) {
    const Mutation& m = *mutations[i];
    const PointId& id = m.record.id;
    auto existing = state.internal_of.find(id);
    if (m.kind == Mutation::Kind::kDelete) {
      if (existing != state.internal_of.end()) {
        kill(existing->second);
        state.internal_of.erase(existing);
      }
      continue;
    }
    if (vectors_changed[i] || existing == state.internal_of.end()) {
      if (!vectors_changed[i]) continue;  // payload update of a point deleted meanwhile
      if (existing != state.internal_of.end()) kill(existing->second);
      const uint32_t internal = new_internal[i];
      state.external_of[internal] = id;
      state.payloads[internal] = m.record.payload;
      state.live.add(internal);
      state.internal_of[id] = internal;
      for (auto& [key, index] : state.payload_indexes) index->Add(internal, m.record.payload);
    } else {
      const uint32_t internal = existing->second;
      for (auto& [key, index] : state.payload_indexes) index->Remove(internal, state.payloads[internal]);
      state.payloads[internal] = m.record.payload;
      for (auto& [key, index] : state.payload_indexes) index->Add(internal, m.record.payload);
    }
  }
  // Whoever captures the state under the lock (an index snapshot) knows which log entries it covers.
  if (!mutations.empty()) state.applied_sequence = last_sequence;
  lock.unlock();

  // Phase 3, without the state lock: drop the dead points from the vector indexes.
  for (uint32_t internal : removed) {
    for (auto& [name, index] : state.vector_indexes) index->Remove(internal);
    for (auto& [name, index] : state.sparse_indexes) index->Remove(internal);
  }
}


}  // namespace vj

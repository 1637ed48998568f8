// The vector edits of Shard: update_vectors and delete_vectors. Both read each point's stored record on
// the writer thread and write its resulting state as an upsert whose vectors changed, so the point gets
// fresh vector-index entries (old ones become tombstones), its payload stays, and the log entry holds
// the whole new record (replicas and restarts replay it like any upsert).
#include <algorithm>
#include <map>

#include "collection/shard.h"
#include "collection/shard_state.h"
#include "collection/write_queue.h"

namespace vj {

Status Shard::UpdateVectors(std::vector<PointInput> points, bool wait) {
  return UpdateVectors(std::move(points), wait, 0);
}

Status Shard::UpdateVectors(std::vector<PointInput> points, bool wait, int64_t apply_by_unix_ms) {
  const CollectionConfig cfg = config();
  for (const PointInput& p : points) VJ_RETURN_IF_ERROR(ValidateVectorUpdate(cfg, p));
  auto request = std::make_unique<WriteRequest>();
  for (const PointInput& p : points) {
    for (const auto& [name, values] : p.vectors) request->held_bytes += name.size() + values.size() * sizeof(float);
    for (const auto& [name, v] : p.sparse) request->held_bytes += name.size() + v.nnz() * 8;
  }
  request->build = [points = std::move(points)](const ShardState& s) mutable -> StatusOr<std::vector<Mutation>> {
    std::vector<Mutation> mutations;
    std::map<PointId, size_t> position;  // an id named twice: the later vectors win, as if applied in turn
    for (PointInput& p : points) {
      auto seen = position.find(p.id);
      if (seen == position.end()) {
        VJ_ASSIGN_OR_RETURN(std::optional<PointRecord> record, s.store->Get(p.id));
        if (!record) return absl::NotFoundError("No point with id " + p.id.ToString() + " found");
        Mutation m;
        m.kind = Mutation::Kind::kUpsert;
        m.record = std::move(*record);
        seen = position.emplace(p.id, mutations.size()).first;
        mutations.push_back(std::move(m));
      }
      NamedVectors& vectors = mutations[seen->second].record.vectors;
      for (auto& [name, values] : p.vectors) vectors[name] = std::move(values);
      NamedSparseVectors& sparse = mutations[seen->second].record.sparse;
      for (auto& [name, v] : p.sparse) {
        CanonicalizeSparseVector(&v);
        sparse[name] = std::move(v);
      }
    }
    return mutations;
  };
  return Submit(std::move(request), ClientWait(wait), apply_by_unix_ms);
}

Status Shard::DeleteVectors(const PointSelector& selector, std::vector<std::string> names, bool wait) {
  return DeleteVectors(selector, std::move(names), wait, 0);
}

Status Shard::DeleteVectors(const PointSelector& selector, std::vector<std::string> names, bool wait,
                            int64_t apply_by_unix_ms) {
  VJ_RETURN_IF_ERROR(ValidateVectorNames(config(), names, "vector"));
  auto request = std::make_unique<WriteRequest>();
  request->held_bytes = selector.ids.size() * sizeof(PointId);
  request->build = [selector, names = std::move(names)](const ShardState& s) -> StatusOr<std::vector<Mutation>> {
    VJ_ASSIGN_OR_RETURN(std::vector<PointId> ids, SelectedIds(s, selector, true));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::vector<Mutation> mutations;
    for (const PointId& id : ids) {
      VJ_ASSIGN_OR_RETURN(std::optional<PointRecord> record, s.store->Get(id));
      if (!record) continue;
      bool changed = false;
      for (const std::string& name : names) {
        changed = record->vectors.erase(name) > 0 || changed;
        changed = record->sparse.erase(name) > 0 || changed;
      }
      if (!changed) continue;  // nothing to delete: no new log entry, no re-insert
      Mutation m;
      m.kind = Mutation::Kind::kUpsert;
      m.record = std::move(*record);
      mutations.push_back(std::move(m));
    }
    return mutations;
  };
  return Submit(std::move(request), ClientWait(wait), apply_by_unix_ms);
}

}  // namespace vj

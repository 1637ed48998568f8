// Collection::QueryGroups: search groups over every shard.
//
// A shard's best points do not make the collection's best groups, so groups are assembled from the
// merged top candidates of the whole collection, and the candidate count doubles until the answer is
// settled (AssembleGroups' `complete`), the collection has no more matching points or the bound is hit.
#include <algorithm>
#include <unordered_map>

#include "collection/collection.h"
#include "collection/payload_edit.h"

namespace vj {

StatusOr<std::vector<PointGroup>> Collection::QueryGroups(const GroupRequest& request) const {
  if (request.limit == 0 || request.group_size == 0) return std::vector<PointGroup>();
  QueryRequest query = request.query;
  query.offset = 0;
  query.with_payload = PayloadSelector{PayloadSelector::Mode::kAll, {}};  // group_by values
  query.with_vector = VectorSelector{};
  size_t want = std::max<size_t>(1, request.group_size * request.limit);
  std::vector<PointGroup> groups;
  while (true) {
    query.limit = std::min(want, std::max<size_t>(1, request.max_candidates));
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> candidates, Query(query));
    bool complete = false;
    groups = AssembleGroups(candidates, request.group_by_path, request.group_size, request.limit, &complete);
    if (complete || candidates.size() < query.limit || query.limit >= request.max_candidates) break;
    VJ_RETURN_IF_ERROR(request.query.deadline.Check("Search"));
    want = query.limit * 2;
  }

  // The hits as asked: the selected payload, and vectors read for the hits alone.
  const QueryRequest& asked = request.query;
  std::unordered_map<PointId, NamedVectors, PointIdHash> vectors;
  if (asked.with_vector.any()) {
    std::vector<PointId> ids;
    for (const PointGroup& g : groups) {
      for (const PointView& hit : g.hits) ids.push_back(hit.id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    VJ_ASSIGN_OR_RETURN(std::vector<PointView> found, Retrieve(ids, PayloadSelector{}, asked.with_vector));
    for (PointView& v : found) vectors[v.id] = std::move(v.vectors);
  }
  for (PointGroup& g : groups) {
    for (PointView& hit : g.hits) {
      hit.payload = hit.payload ? SelectPayload(*hit.payload, asked.with_payload) : std::nullopt;
      if (auto it = vectors.find(hit.id); it != vectors.end()) hit.vectors = it->second;
    }
  }
  return groups;
}

}  // namespace vj

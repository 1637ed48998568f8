// The sparse-vector search of Shard: exact top-k by dot product over the shard's inverted index
// (index/sparse_index.h). A filter that admits few points (below the vector's full_scan_threshold) is
// answered by scoring those points one by one; otherwise the posting lists are walked and each point
// they reach is checked against the filter. Both give the same results.
#include <algorithm>

#include "collection/shard.h"
#include "collection/payload_edit.h"
#include "collection/shard_state.h"

namespace vj {

StatusOr<std::vector<PointView>> Shard::QuerySparse(const QueryRequest& request) const {
  const ShardState& s = *state_;
  const Deadline& deadline = request.deadline;
  auto it = s.sparse_indexes.find(request.using_vector);
  if (it == s.sparse_indexes.end()) {
    if (s.vector_indexes.count(request.using_vector) != 0) {
      return absl::InvalidArgumentError("vector \"" + request.using_vector +
                                        "\" is a dense vector: query it with an array of numbers");
    }
    return absl::InvalidArgumentError(
        request.using_vector.empty()
            ? std::string("a sparse query needs the name of a sparse vector: say which one with \"using\"")
            : "sparse vector \"" + request.using_vector + "\" is not configured in this collection");
  }
  if (request.examples) return absl::InvalidArgumentError("recommend, discover and context over sparse vectors are not supported");
  const SparseIndex& index = *it->second;
  SparseVector query = *request.sparse_vector;
  VJ_RETURN_IF_ERROR(ValidateSparseVector(query, kMaxSparseNnzHardLimit, "query"));
  CanonicalizeSparseVector(&query);
  const size_t need = request.offset + request.limit;
  std::vector<PointView> out;
  if (need == 0) return out;

  DeadlineTicker ticker(deadline);
  std::vector<SparseHit> hits;
  const bool filtered = request.filter && !request.filter->empty();
  if (!filtered) {
    hits = index.Search(query, need, [&](uint32_t id) { return !ticker.Expired() && s.live.contains(id); });
  } else {
    const Filter& filter = *request.filter;
    const roaring::Roaring candidates = s.CandidateIds(filter);
    const FilterMatcher matches(s, filter);
    const auto& params = s.config.sparse_vectors.at(request.using_vector);
    const size_t threshold = params.full_scan_threshold.value_or(kDefaultSparseFullScanThreshold);
    if (request.exact || candidates.cardinality() < threshold) {
      std::vector<uint32_t> matching;
      for (uint32_t id : candidates) {
        if (ticker.Expired()) break;
        if (matches(id)) matching.push_back(id);
      }
      if (!ticker.expired()) hits = index.SearchAmong(query, need, matching);
    } else {
      hits = index.Search(query, need, [&](uint32_t id) {
        return !ticker.Expired() && candidates.contains(id) && matches(id);
      });
    }
  }
  if (ticker.expired()) return deadline.TimeoutError("Search");
  for (size_t i = request.offset; i < hits.size() && out.size() < request.limit; ++i) {
    if (request.score_threshold && hits[i].score < *request.score_threshold) break;
    PointView view = View(hits[i].id, request.with_payload, request.with_vector);
    view.score = hits[i].score;
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace vj

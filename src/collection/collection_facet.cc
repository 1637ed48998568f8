// Collection::Facet and Collection::SearchMatrix: aggregations over every matching point of every
// shard, read with paged scrolls (so that they work the same on local and remote shards).
#include <algorithm>

#include "collection/collection.h"

namespace vj {

namespace {
constexpr size_t kScanPage = 1024;  // points per scroll page of a scan
}  // namespace

StatusOr<std::vector<FacetHit>> Collection::Facet(const FacetRequest& request) const {
  ScrollRequest scan;
  scan.limit = kScanPage;
  scan.filter = request.filter;
  scan.with_payload = PayloadSelector{PayloadSelector::Mode::kInclude, {request.key}};
  scan.deadline = request.deadline;
  std::vector<FacetCounts> per_shard(shards_.size());
  VJ_RETURN_IF_ERROR(ScanShards(scan, [&](size_t shard, std::vector<PointView>&& page) {
    for (const PointView& p : page) {
      if (p.payload) CountFacetValues(*p.payload, request.path, request.type, &per_shard[shard]);
    }
    return absl::OkStatus();
  }));
  FacetCounts total;
  for (const FacetCounts& counts : per_shard) total.Merge(counts);
  return total.Top(request.limit);
}

StatusOr<MatrixResult> Collection::SearchMatrix(const MatrixRequest& request) const {
  const CollectionConfig cfg = config();
  auto vector = cfg.vectors.find(request.using_vector);
  if (vector == cfg.vectors.end()) {
    return absl::InvalidArgumentError(request.using_vector.empty()
                                          ? "using: this collection has only named vectors: say which one"
                                          : "using: vector \"" + request.using_vector + "\" is not configured in this collection");
  }
  ScrollRequest scan;
  scan.limit = kScanPage;
  scan.filter = request.filter;
  scan.with_payload = PayloadSelector{};
  scan.deadline = request.deadline;
  // Each shard keeps its `sample` smallest-hash ids: the collection's sample is among them.
  std::vector<std::vector<PointId>> kept(shards_.size());
  VJ_RETURN_IF_ERROR(ScanShards(scan, [&](size_t shard, std::vector<PointView>&& page) {
    for (const PointView& p : page) kept[shard].push_back(p.id);
    if (kept[shard].size() > 2 * request.sample + kScanPage) kept[shard] = SampleIds(std::move(kept[shard]), request.sample);
    return absl::OkStatus();
  }));
  std::vector<PointId> all;
  for (auto& ids : kept) all.insert(all.end(), ids.begin(), ids.end());
  std::vector<PointId> sample = SampleIds(std::move(all), request.sample);
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> points,
                      Retrieve(sample, PayloadSelector{}, VectorSelector{false, {request.using_vector}}));
  MatrixResult result;
  std::vector<std::vector<float>> vectors;
  for (PointView& p : points) {  // a point deleted since the scan drops out
    auto it = p.vectors.find(request.using_vector);
    if (it == p.vectors.end()) continue;
    result.ids.push_back(p.id);
    vectors.push_back(std::move(it->second));
  }
  result.entries = NearestPairs(vector->second.distance, vectors, request.limit);
  return result;
}

}  // namespace vj

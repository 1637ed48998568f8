// Shard::ScrollOrdered: a page of scroll in the order of a payload key's values, read from the key's
// range-capable payload index.
#include <algorithm>
#include <utility>

#include "collection/order_by.h"
#include "collection/shard.h"
#include "collection/shard_state.h"

namespace vj {

StatusOr<ScrollResult> Shard::ScrollOrdered(const ScrollRequest& request) const {
  VJ_RETURN_IF_ERROR(request.deadline.Check("Scroll"));
  const OrderBy& order = *request.order_by;
  std::shared_lock lock(state_->mu);
  const ShardState& s = *state_;
  auto index = s.payload_indexes.find(order.key);
  if (index == s.payload_indexes.end() || !OrdersBy(index->second->type())) {
    return CheckOrderByIndex(CollectionConfig{}, order);  // the same refusal as the collection's
  }
  DeadlineTicker ticker(request.deadline);
  std::optional<roaring::Roaring> matching;
  if (request.filter && !request.filter->empty()) {
    matching = s.MatchingIds(*request.filter, &ticker);
    if (ticker.expired()) return request.deadline.TimeoutError("Scroll");
  }
  ScrollResult result;
  if (request.limit == 0) return result;
  std::vector<std::pair<PointId, uint32_t>> bucket;  // the points of one value, by id
  index->second->ForEachNumber(order.descending, order.start_from, [&](double value, const roaring::Roaring& ids) {
    bucket.clear();
    for (uint32_t id : ids) {
      if (ticker.Expired()) return false;
      if (!s.live.contains(id) || (matching && !matching->contains(id))) continue;
      bucket.emplace_back(s.external_of[id], id);
    }
    std::sort(bucket.begin(), bucket.end());
    for (const auto& [external, internal] : bucket) {
      PointView view = View(internal, request.with_payload, request.with_vector);
      view.order_value = value;
      result.points.push_back(std::move(view));
      if (result.points.size() == request.limit) return false;
    }
    return true;
  });
  if (ticker.expired()) return request.deadline.TimeoutError("Scroll");
  return result;
}

}  // namespace vj

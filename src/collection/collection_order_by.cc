// Collection::ScrollOrdered and ScanShards: reads that page through the shards' points.
#include "collection/collection.h"
#include "collection/fan_out.h"
#include "collection/order_by.h"

namespace vj {

StatusOr<ScrollResult> Collection::ScrollOrdered(const ScrollRequest& request) const {
  VJ_RETURN_IF_ERROR(CheckOrderByIndex(config(), *request.order_by));
  // Each shard's first `limit` in order holds every point of the global first `limit` it owns.
  auto answers = FanOut<ScrollResult>(shards_.size(), [&](size_t i) { return shards_[i]->Scroll(request); });
  std::vector<std::vector<PointView>> pages;
  for (auto& answer : answers) {
    VJ_ASSIGN_OR_RETURN(ScrollResult part, std::move(answer));
    pages.push_back(std::move(part.points));
  }
  ScrollResult merged;
  merged.points = MergeOrderedPages(*request.order_by, std::move(pages), request.limit);
  return merged;  // no next_page_offset with order_by, as Qdrant: the next page starts from a value
}

Status Collection::ScanShards(const ScrollRequest& request,
                              const std::function<Status(size_t, std::vector<PointView>&&)>& fn) const {
  std::vector<Status> done(shards_.size());
  RunOnShardPool(shards_.size(), [&](size_t i) {
    ScrollRequest page = request;
    while (true) {
      StatusOr<ScrollResult> part = shards_[i]->Scroll(page);
      if (!part.ok()) {
        done[i] = part.status();
        return;
      }
      const std::optional<PointId> next = part->next_page_offset;
      if (Status s = fn(i, std::move(part->points)); !s.ok()) {
        done[i] = s;
        return;
      }
      if (!next) return;
      if (Status s = request.deadline.Check("Scroll"); !s.ok()) {
        done[i] = s;
        return;
      }
      page.offset = next;
    }
  });
  for (const Status& s : done) VJ_RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

}  // namespace vj

#include "collection/order_by.h"

#include <algorithm>

namespace vj {

bool OrdersBy(PayloadSchemaType type) {
  return type == PayloadSchemaType::kInteger || type == PayloadSchemaType::kFloat ||
         type == PayloadSchemaType::kDatetime;
}

Status CheckOrderByIndex(const CollectionConfig& config, const OrderBy& order_by) {
  auto it = config.payload_schema.find(order_by.key);
  if (it == config.payload_schema.end() || !OrdersBy(it->second.type)) {
    return absl::InvalidArgumentError("order_by.key: no range index for \"" + order_by.key +
                                      "\": create an integer, float or datetime payload index on it to order by it");
  }
  return absl::OkStatus();
}

bool OrderedBefore(const OrderBy& order_by, const PointView& a, const PointView& b) {
  const double x = a.order_value.value_or(0);
  const double y = b.order_value.value_or(0);
  if (x != y) return order_by.descending ? x > y : x < y;
  return a.id < b.id;
}

std::vector<PointView> MergeOrderedPages(const OrderBy& order_by, std::vector<std::vector<PointView>> pages,
                                         size_t limit) {
  std::vector<PointView> all;
  for (auto& page : pages) {
    for (PointView& v : page) all.push_back(std::move(v));
  }
  std::stable_sort(all.begin(), all.end(),
                   [&](const PointView& a, const PointView& b) { return OrderedBefore(order_by, a, b); });
  if (all.size() > limit) all.resize(limit);
  return all;
}

}  // namespace vj

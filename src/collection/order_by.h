// order_by of scroll (Qdrant's): the checks and the merge that shards and collections share.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "collection/collection_config.h"
#include "collection/requests.h"
#include "core/status.h"

namespace vj {

// Whether an index of this type keeps numbers in order: integer, float, and datetime (microseconds since
// the epoch).
bool OrdersBy(PayloadSchemaType type);

// OkStatus when `config` holds a range-capable payload index (integer, float, datetime) on order_by's key;
// otherwise InvalidArgument naming the key, as Qdrant refuses an order_by without such an index.
[[nodiscard]] Status CheckOrderByIndex(const CollectionConfig& config, const OrderBy& order_by);

// True when a comes before b: by order_value in the direction asked, ties by id ascending.
bool OrderedBefore(const OrderBy& order_by, const PointView& a, const PointView& b);

// The first `limit` of several shards' ordered pages (each in OrderedBefore order), in that order.
std::vector<PointView> MergeOrderedPages(const OrderBy& order_by, std::vector<std::vector<PointView>> pages,
                                         size_t limit);

}  // namespace vj

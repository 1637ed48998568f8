// Qdrant-shaped JSON of order_by, search groups, facet and the search matrix: decoders of the request
// parts (strict: unknown fields and bad values are InvalidArgument naming the field) and encoders of
// the results. Thread-safety: pure functions.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "collection/aggregations.h"
#include "collection/requests.h"
#include "core/status.h"

namespace vj {

// order_by: "key" | {"key", "direction": "asc"|"desc", "start_from": number | RFC 3339 date-time}.
[[nodiscard]] StatusOr<OrderBy> ParseOrderBy(const boost::json::value& v);
// The object form that ParseOrderBy reads back.
boost::json::object OrderByToJson(const OrderBy& order_by);
// A point's order_value: an integer when it is one (as Qdrant answers for integer indexes), else a float.
boost::json::value OrderValueToJson(double value);

// {"groups": [{"id", "hits": [...], "lookup"?}]}; lookups[i] (null = none) goes with groups[i].
boost::json::object GroupsToJson(const std::vector<PointGroup>& groups,
                                 const std::vector<boost::json::value>& lookups);
// {"hits": [{"value", "count"}]}.
boost::json::object FacetHitsToJson(const std::vector<FacetHit>& hits);
// {"pairs": [{"a", "b", "score"}]} and {"offsets_row", "offsets_col", "scores", "ids"}.
boost::json::object MatrixPairsToJson(const MatrixResult& result);
boost::json::object MatrixOffsetsToJson(const MatrixResult& result);

}  // namespace vj

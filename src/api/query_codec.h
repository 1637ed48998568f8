// Decoding of Qdrant's Query API bodies into query plans (collection/query_plan.h): /points/query
// (prefetch, nearest, recommend, discover, context, fusion, rrf, mmr), the older /points/recommend and
// /points/discover, and
// the search fields that /points/search shares with them. Operators VJVector does not run (formula,
// order_by, sample) are refused with InvalidArgument naming the operator; a plan over the request
// limits (prefetch depth, prefetch count, candidate points, recommend examples) is refused naming the
// limit's setting, before any work.
// Thread-safety: pure functions.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "api/request_limits.h"
#include "collection/query_plan.h"
#include "collection/requests.h"
#include "core/status.h"

namespace vj {

// The fields of the top level of /points/search and /points/query bodies: filter, limit, offset,
// score_threshold, with_payload, with_vector and params.
[[nodiscard]] Status ParseSearchCommon(const boost::json::object& body, const RequestLimits& limits,
                                       QueryRequest* request);

// A /points/query body. `where` prefixes messages about the body itself ("searches[2]" in a batch).
[[nodiscard]] StatusOr<QueryPlan> ParseQueryPlan(const boost::json::object& body, const RequestLimits& limits,
                                                 const std::string& where);

// A /points/recommend body: positive / negative examples (ids or vectors), strategy, using, filter,
// limit, offset, score_threshold, params, with_payload, with_vector.
[[nodiscard]] StatusOr<QueryPlan> ParseRecommendPlan(const boost::json::object& body,
                                                     const RequestLimits& limits, const std::string& where);

// A /points/discover body: target (id or vector; absent: a context search), context pairs, using,
// filter, limit, offset, params, with_payload, with_vector.
[[nodiscard]] StatusOr<QueryPlan> ParseDiscoverPlan(const boost::json::object& body,
                                                    const RequestLimits& limits, const std::string& where);

}  // namespace vj

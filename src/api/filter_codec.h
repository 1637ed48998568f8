// Decodes Qdrant's filter JSON into index/filter.h's Filter. Strict: unknown fields, wrong types and
// malformed keys are InvalidArgument naming the offending part (e.g. "filter.must[1].range.gt: expected
// a number"). A filter over one of `limits` is InvalidArgument naming the field, its size and the limit,
// refused before its elements are decoded. Thread-safety: pure functions.
#pragma once

#include <string>

#include <boost/json.hpp>

#include "api/request_limits.h"
#include "core/status.h"
#include "index/filter.h"

namespace vj {

// `where` prefixes error messages ("filter").
StatusOr<Filter> ParseFilter(const boost::json::value& json, const std::string& where = "filter",
                             const FilterLimits& limits = FilterLimits());

}  // namespace vj

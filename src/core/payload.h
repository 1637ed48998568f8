// Payload: a point's JSON object, and path look-ups into it as Qdrant's JSON paths address them:
// "a.b" walks objects, "a[].b" walks every element of array "a", "a[0]" one element, and a quoted
// segment names a key with special characters: a."b.c" is key "b.c" inside "a". A path that meets an
// array where a value is expected yields every element (Qdrant matches any array element).
// Thread-safety: functions are pure; a Payload is a plain value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/status.h"

namespace vj {

using Payload = boost::json::object;

// One step of a parsed payload path.
struct PathStep {
  std::string key;
  enum class Index { kNone, kAll, kOne } index = Index::kNone;  // none, "[]", "[n]"
  size_t position = 0;                                          // for kOne
};
using PayloadPath = std::vector<PathStep>;

// The one grammar for payload key paths (filters, payload indexes, set/delete payload, with_payload):
//   path    := segment ("." segment)*      segment := key ("[]" | "[" digits "]")?
//   key     := unquoted | '"' any bytes but '"' and '\\' '"'
// where an unquoted key is one or more bytes other than . [ ] and ". Paths are limited to
// kMaxPayloadPathBytes, kMaxPayloadPathSegments segments and indexes up to kMaxPayloadPathIndex
// (core/payload_limits.h). InvalidArgument naming the path when malformed, empty or over a limit.
StatusOr<PayloadPath> ParsePayloadPath(std::string_view path);
// The text of a path that ParsePayloadPath reads back as the same path (keys quoted where needed).
std::string FormatPayloadPath(const PayloadPath& path);

// Appends to `out` every value the path reaches; array values are expanded into their elements when
// `expand_arrays` (what match/range conditions want). Values are borrowed from `payload`.
void CollectValues(const Payload& payload, const PayloadPath& path, bool expand_arrays,
                   std::vector<const boost::json::value*>* out);

// Parses text as one JSON value with Boost.JSON, never throwing. InvalidArgument with the parser's
// message and position on malformed input; rejects nesting deeper than `max_depth`.
StatusOr<boost::json::value> ParseJson(std::string_view text, size_t max_depth = 64);

}  // namespace vj

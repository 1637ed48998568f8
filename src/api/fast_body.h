// Fast body decoding for the hot read routes (/points/query, /points/search): the dense query vector is
// read from the body text straight into floats, without a JSON tree of one value per component.
//
// Design. One pass of Boost.JSON's basic_parser with a handler derived from ParseJson's own
// (core/json_parse_handler.h, so every number is read exactly as ParseJson reads it). The handler
// builds the body as a normal boost::json::object, except for the one array at the request's vector
// slot ("query" or "query.nearest" for a query; "vector" or "vector.vector" for a search): its
// numbers go into a std::vector<float> as they are read, and the tree gets the stand-in [0.0] there.
// The ordinary decoder (query_codec / the search handler) then runs on that tree unchanged, and
// RestoreVector() swaps the real floats in where the stand-in landed (a query plan's root nearest
// target; a search request's vector).
//
// Same behaviour as the ordinary path, by construction: the fast path takes only bodies where the
// stand-in cannot change a decision. Anything else makes TryDecodeFastBody return nullopt and the
// caller decodes the body the ordinary way (ParseJson through Call::Body), which gives the ordinary
// answer, errors included: malformed JSON, too deep, a number out of the double range, a body that is
// not an object, an empty body; at the vector slot an empty array, an element that is not a number
// (a multi-vector's nested arrays, strings, null), a number outside the float range (the ordinary
// decoder's "NaN or infinite" error names its index); a vector slot seen twice, and a repeated "query",
// "vector" or "nearest" key in the objects on the way to it (duplicate keys would make it unclear
// which array the stand-in is). Bodies without a vector slot parse to the very tree ParseJson gives.
// An ordinary-path re-parse costs one more parse of a body the server accepted anyway (bounded by the
// body limit); a huge vector that is valid never exists as a tree, only as floats.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "collection/query_plan.h"
#include "collection/requests.h"
#include "core/json_memory.h"
#include "core/status.h"

namespace vj {

struct Call;

// Where the body's dense vector may be: a /points/query body ("query": [...] or
// "query": {"nearest": [...]}) or a /points/search body ("vector": [...] or
// "vector": {"name": ..., "vector": [...]}).
enum class BodyVectorSlot { kQuery, kSearch };

struct FastBody {
  boost::json::object json;  // the body; the extracted array is the stand-in [0.0] in it
  std::optional<std::vector<float>> vector;  // the extracted vector, when there was one
};

// The fast decode of `text`, or nullopt where the ordinary path must decode it (see above).
// With `memory`, the tree is counted there as ParseJson counts it (core/json_memory.h); over the budget
// it returns nullopt, and the ordinary path gives the refusal.
[[nodiscard]] std::optional<FastBody> TryDecodeFastBody(std::string_view text, size_t max_depth,
                                                        BodyVectorSlot slot, JsonBodyMemory* memory = nullptr);

// The call's body: fast where it can be, else Call::Body() (Call::OptionalBody() when `optional`),
// with exactly its errors.
[[nodiscard]] StatusOr<FastBody> DecodeBody(const Call& call, BodyVectorSlot slot, bool optional);

// Moves body->vector (if any) to where the ordinary decoder put the stand-in: the root nearest target of
// a query plan, or a search request's vector. Internal error if the stand-in is not there (a bug).
[[nodiscard]] Status RestoreVector(FastBody* body, QueryPlan* plan);
[[nodiscard]] Status RestoreVector(FastBody* body, QueryRequest* request);

}  // namespace vj

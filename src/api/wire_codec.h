// The other direction of the public Qdrant JSON codecs: encoders of request structs into the request
// bodies that the REST handlers accept, and decoders of the results the handlers return. In cluster
// mode a node forwards shard operations to a peer as ordinary public requests, so the peer decodes them
// with the same strict decoders as a client's (point_codec.h, filter_codec.h, handlers_*.cc), and this
// node decodes the peer's answer back into structs.
//
// Contract: for every struct these encoders accept, the handler's decoder gives back an equivalent
// struct (same conditions, same ids, same floats bit for bit: float32 values are written as the double
// they convert to exactly, which JSON carries without loss). Preconditions the decoders enforce and the
// encoders do not check: filters nest at most 32 levels, match.any/except lists hold only strings or
// only integers, limits and offsets are at most 100000, oversampling lies in [1, 100].
// Result decoders take the envelope's "result" value, and return InvalidArgument naming the field on
// anything malformed; they never throw.
// Thread-safety: pure functions.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "collection/requests.h"
#include "core/payload.h"
#include "core/point_id.h"
#include "core/status.h"
#include "index/filter.h"

namespace vj {

// A filter in Qdrant's JSON: ParseFilter(FilterToJson(f)) is equivalent to f. A condition's key is
// written as stored; a condition built without one gets its path rendered ("a[].b").
boost::json::value FilterToJson(const Filter& filter);

// with_payload / with_vector values that ParsePayloadSelector / ParseVectorSelector read back.
boost::json::value PayloadSelectorToJson(const PayloadSelector& selector);
boost::json::value VectorSelectorToJson(const VectorSelector& selector);

// PUT /collections/{c}/points: {"points": [{"id", "vector", "payload"}]}.
boost::json::object UpsertBody(const std::vector<PointInput>& points);

// PUT /collections/{c}/points/vectors: {"points": [{"id", "vector"}]}.
boost::json::object UpdateVectorsBody(const std::vector<PointInput>& points);
// POST /collections/{c}/points/vectors/delete: {"vector": [names]} and the selector as SelectorBody.
boost::json::object DeleteVectorsBody(const PointSelector& selector, const std::vector<std::string>& names);

// {"filter": ...} when the selector has a filter (which then decides, as in Collection), else
// {"points": [ids]}: the body of POST /points/delete.
boost::json::object SelectorBody(const PointSelector& selector);

// The bodies of POST /points/payload (kSet), PUT /points/payload (kOverwrite), POST
// /points/payload/delete (kDeleteKeys, with `keys`) and POST /points/payload/clear (kClear). `payload`
// and `key` go with kSet/kOverwrite only, `keys` with kDeleteKeys only.
boost::json::object PayloadBody(PayloadUpdate op, const PointSelector& selector, const Payload& payload,
                                const std::vector<std::string>& keys, const std::optional<std::string>& key);

// POST /points (retrieve by ids).
boost::json::object RetrieveBody(const std::vector<PointId>& ids, const PayloadSelector& with_payload,
                                 const VectorSelector& with_vector);

// POST /points/scroll.
boost::json::object ScrollBody(const ScrollRequest& request);

// POST /points/count.
boost::json::object CountBody(const std::optional<Filter>& filter, bool exact);

// POST /points/query with a query vector (the nearest-neighbour form), or with a recommend query of
// raw example vectors when request.examples is set.
boost::json::object QueryBody(const QueryRequest& request);

// Inverse of PointViewToJson: {"id", "payload"?, "vector"? (array = the unnamed vector, object = named
// ones), "score"?, "version"?}; null counts as absent. Vectors must be finite float32 values.
[[nodiscard]] StatusOr<PointView> ParsePointView(const boost::json::value& v);
// A JSON array of points (the result of query, search and retrieve).
[[nodiscard]] StatusOr<std::vector<PointView>> ParsePointViews(const boost::json::value& v);
// The result of scroll: {"points": [...], "next_page_offset": id | null}.
[[nodiscard]] StatusOr<ScrollResult> ParseScrollResult(const boost::json::value& v);

}  // namespace vj

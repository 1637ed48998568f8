// Decoding of points, ids, vectors and selectors from Qdrant-shaped JSON, and encoding of points for
// responses. Decoders are strict (see core/json_fields.h for the message convention).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "api/inference.h"
#include "collection/collection.h"
#include "core/point_id.h"
#include "core/status.h"

namespace vj {

// An unsigned integer or a UUID string.
StatusOr<PointId> ParsePointId(const boost::json::value& v, const std::string& where);
// `max_count`: a longer list is refused (limits.points_per_request) before any element is decoded.
StatusOr<std::vector<PointId>> ParsePointIds(const boost::json::value& v, const std::string& where,
                                             size_t max_count = SIZE_MAX);
boost::json::value PointIdToJson(const PointId& id);

// A JSON array of finite numbers as float32. Numbers outside float's range are rejected too.
StatusOr<std::vector<float>> ParseFloatVector(const boost::json::value& v, const std::string& where);
// A sparse vector {"indices": [u32, ...], "values": [numbers]}: validated (unique indices, one value each,
// finite float32 values, at most max_nnz entries; InvalidArgument naming the field otherwise) and
// canonicalized (sorted by index). Where a caller holds a SparseVector from elsewhere (a text encoder),
// it passes the struct itself: ValidateSparseVector and CanonicalizeSparseVector are the same checks.
// A Document ({"text", "model": "qdrant/bm25", "options"?}) in its place is encoded by the server
// (api/inference.h) as `side` says: a point's vector is a document, a search's or query's a query.
StatusOr<SparseVector> ParseSparseVector(const boost::json::value& v, const std::string& where, size_t max_nnz,
                                         InferenceSide side = InferenceSide::kDocument);
boost::json::object SparseVectorToJson(const SparseVector& v);
// A point's vectors: `[...]` (the unnamed vector) or `{"name": [...] | {"indices", "values"}, ...}`; dense
// ones into *dense, sparse ones into *sparse.
Status ParsePointVectors(const boost::json::value& v, const std::string& where, size_t max_nnz,
                         NamedVectors* dense, NamedSparseVectors* sparse);
// The "vector" of a point in Qdrant's shape: an array for the unnamed dense vector alone, else an object
// of named dense arrays and sparse {"indices", "values"} objects.
boost::json::value PointVectorsToJson(const NamedVectors& dense, const NamedSparseVectors& sparse);

// The body of PUT /collections/{c}/points: {"points": [...]} or {"batch": {ids, vectors, payloads}}.
// More than `max_points` points are refused (limits.points_per_request) before any is decoded.
// Sparse vectors over `max_nnz` entries are refused (limits.sparse_vector_nnz).
StatusOr<std::vector<PointInput>> ParseUpsertBody(const boost::json::object& body,
                                                  size_t max_points = SIZE_MAX,
                                                  size_t max_nnz = kMaxSparseNnzHardLimit);

// with_payload: bool | [keys] | {"include": [...]} | {"exclude": [...]}; absent -> `fallback`.
// More than `max_keys` keys are refused (limits.payload_keys) before any is decoded.
StatusOr<PayloadSelector> ParsePayloadSelector(const boost::json::value* v, PayloadSelector fallback,
                                               size_t max_keys = SIZE_MAX);
// with_vector: bool | [names]; absent -> none.
StatusOr<VectorSelector> ParseVectorSelector(const boost::json::value* v);

// {"id", "payload"?, "vector"?} plus "score" and "version" for scored points. The unnamed vector is
// encoded as an array, named ones as an object.
boost::json::object PointViewToJson(const PointView& point);

}  // namespace vj

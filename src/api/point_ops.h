// Point writes parsed from Qdrant-shaped bodies into operations ready to apply: the single-write routes
// (upsert, delete, payload and vector updates) and the batch route share them, so a batch operation is
// read and checked exactly as the route of the same write reads it. Parsing checks everything that can
// be known before the write (fields, limits, vector names and dimensions, strict mode), so a batch
// refuses a bad operation before any of it is applied. Thread-safety: pure functions; a PointWrite is
// applied once, from one thread.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "api/handlers.h"
#include "collection/collection.h"

namespace vj {

// Applies a parsed write to the collection on behalf of the request `context`; Collection's errors
// (NotFound for a missing point, ...).
using PointWrite = std::function<Status(Collection& collection, bool wait, const RequestContext& context)>;

// {"filter": ...} when present.
StatusOr<std::optional<Filter>> ParseOptionalFilter(const boost::json::object& body, const RequestLimits& limits);
// {"points": [ids]} or {"filter": {...}}: exactly one.
StatusOr<PointSelector> ParseSelector(const boost::json::object& body, const RequestLimits& limits);

// The bodies of PUT /points, POST /points/delete, the four payload routes, PUT /points/vectors and POST
// /points/vectors/delete. InvalidArgument naming the field, or strict mode's refusal.
// `upserted` (batches): the points earlier operations of the same request upsert, counted against the
// tenant's max_points quota with this one's, and increased by them.
StatusOr<PointWrite> ParseUpsertWrite(const Call& call, const Collection& collection,
                                      const boost::json::object& body, uint64_t* upserted = nullptr);
StatusOr<PointWrite> ParseDeleteWrite(const Call& call, const Collection& collection,
                                      const boost::json::object& body);
StatusOr<PointWrite> ParsePayloadWrite(const Call& call, const Collection& collection, PayloadUpdate op,
                                       const boost::json::object& body);
StatusOr<PointWrite> ParseUpdateVectorsWrite(const Call& call, const Collection& collection,
                                             const boost::json::object& body);
StatusOr<PointWrite> ParseDeleteVectorsWrite(const Call& call, const Collection& collection,
                                             const boost::json::object& body);

// A single-write route: reads the collection, ?wait and the body, parses the write with `parse`, applies
// it and answers Qdrant's UpdateResult.
using PointWriteParser = std::function<StatusOr<PointWrite>(const Collection&, const boost::json::object&)>;
StatusOr<boost::json::value> ApplyPointWrite(const Call& call, const PointWriteParser& parse);

}  // namespace vj

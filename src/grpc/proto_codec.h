// Decoding of VJVector's Qdrant-compatible protobuf messages (proto/*.proto) into the typed requests of
// api/service.h, and encoding of results back. The same limits as the JSON decoders (api/
// request_limits.h, core/payload_limits.h): a message over one is InvalidArgument naming the field and
// the limit, and so is a value the JSON path refuses (a non-finite float, a malformed UUID or payload
// key, an empty vector). Messages name fields as Qdrant's JSON does ("filter.must[1].match").
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/request_limits.h"
#include "collection/query_plan.h"
#include "collection/requests.h"
#include "common.pb.h"
#include "points.pb.h"

namespace vj {

using ProtoPayload = google::protobuf::Map<std::string, qdrant::Value>;

[[nodiscard]] StatusOr<PointId> PointIdFromProto(const qdrant::PointId& id, const std::string& where);
void PointIdToProto(const PointId& id, qdrant::PointId* out);
// At most `max_count` ids (limits.points_per_request).
[[nodiscard]] StatusOr<std::vector<PointId>> PointIdsFromProto(
    const google::protobuf::RepeatedPtrField<qdrant::PointId>& ids, const std::string& where, size_t max_count);

[[nodiscard]] StatusOr<Payload> PayloadFromProto(const ProtoPayload& payload, const std::string& where);
void PayloadToProto(const Payload& payload, ProtoPayload* out);

[[nodiscard]] StatusOr<Filter> FilterFromProto(const qdrant::Filter& filter, const FilterLimits& limits,
                                               const std::string& where = "filter");

[[nodiscard]] StatusOr<PayloadSelector> PayloadSelectorFromProto(const qdrant::WithPayloadSelector* selector,
                                                                 PayloadSelector fallback, size_t max_keys);
[[nodiscard]] VectorSelector VectorSelectorFromProto(const qdrant::WithVectorsSelector* selector);

// A point's vectors: one unnamed vector, or named dense and sparse ones.
[[nodiscard]] Status PointVectorsFromProto(const qdrant::Vectors& vectors, const std::string& where, size_t max_nnz,
                                           NamedVectors* dense, NamedSparseVectors* sparse);
[[nodiscard]] StatusOr<std::vector<PointInput>> PointsFromProto(
    const google::protobuf::RepeatedPtrField<qdrant::PointStruct>& points, const RequestLimits& limits);

// SearchPoints (the older /points/search): everything but the collection and timeout.
[[nodiscard]] StatusOr<QueryRequest> SearchFromProto(const qdrant::SearchPoints& search, const RequestLimits& limits,
                                                     const std::string& where);
// QueryPoints (the Query API): nearest (dense, sparse or a point id), fusion, rrf, prefetches; the plan
// limits (prefetch depth and count, candidate points) as the JSON decoder applies them.
[[nodiscard]] StatusOr<QueryPlan> QueryPlanFromProto(const qdrant::QueryPoints& query, const RequestLimits& limits,
                                                     const std::string& where);

void PointViewToProto(const PointView& view, qdrant::ScoredPoint* out);
void PointViewToProto(const PointView& view, qdrant::RetrievedPoint* out);

}  // namespace vj

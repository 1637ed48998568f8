// The typed service layer of api/: the work behind the public routes, on typed requests (collection/
// requests.h, collection/query_plan.h) rather than JSON. The REST handlers (handlers_*.cc) decode
// Qdrant's JSON into these requests and encode the results; the gRPC adapter (grpc/) decodes protobuf
// into the same requests and calls the same functions with the same Call (RestApi::Run), so both
// transports apply the same limits, strict mode, tenant quotas and collection calls.
// Each function expects a request its adapter already decoded within the request limits (call.limits()).
// Thread-safety: as the collection calls they make (any thread).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/handlers.h"
#include "api/point_ops.h"
#include "collection/query_plan.h"
#include "collection/requests.h"

namespace vj {

// Collections -------------------------------------------------------------------------------------

// The names of the collections the principal may read (deny by default: no principal sees none).
std::vector<std::string> VisibleCollections(const Call& call);
// Creates `name` with `config` after the name, shard, replica and collection-count limits.
[[nodiscard]] Status CreateCollection(const Call& call, const std::string& name, const CollectionConfig& config);
// False when there was no such collection (as Qdrant: not an error).
[[nodiscard]] StatusOr<bool> DeleteCollection(const Call& call, const std::string& name);

// Point writes ------------------------------------------------------------------------------------

// Upserts `points` (decoded; vectors checked here against the collection's config), after strict mode
// and the tenant's point quota. `upserted`: as ParseUpsertWrite's.
[[nodiscard]] StatusOr<PointWrite> PrepareUpsert(const Call& call, const Collection& collection,
                                                 std::vector<PointInput> points, uint64_t* upserted = nullptr);
// Deletes the points `selector` picks, after strict mode.
[[nodiscard]] StatusOr<PointWrite> PrepareDelete(const Call& call, const Collection& collection,
                                                 PointSelector selector);
struct WriteOutcome {
  uint64_t operation_id = 0;  // the collection's last sequence number after the write
  bool completed = false;     // wait=true: durable; else acknowledged
};
// Applies `write` on behalf of `context` (the request's: its deadline and request id go down with it).
[[nodiscard]] StatusOr<WriteOutcome> RunPointWrite(Collection& collection, const PointWrite& write, bool wait,
                                                   const RequestContext& context);

// Point reads -------------------------------------------------------------------------------------

struct RetrieveRequest {
  std::vector<PointId> ids;
  PayloadSelector with_payload{PayloadSelector::Mode::kAll, {}};
  VectorSelector with_vector;
};
[[nodiscard]] StatusOr<std::vector<PointView>> RetrievePoints(const Call& call, const Collection& collection,
                                                              const RetrieveRequest& request);
// Scroll; `request.deadline` is set from the call. An order_by needs its payload index.
[[nodiscard]] StatusOr<ScrollResult> ScrollPoints(const Call& call, const Collection& collection,
                                                  ScrollRequest request);
[[nodiscard]] StatusOr<uint64_t> CountPoints(const Call& call, const Collection& collection,
                                             const std::optional<Filter>& filter, bool exact);
// One /points/search request (a vector or a sparse vector, no plan).
[[nodiscard]] StatusOr<std::vector<PointView>> SearchPoints(const Call& call, const Collection& collection,
                                                            QueryRequest request);
// One /points/query plan.
[[nodiscard]] StatusOr<std::vector<PointView>> QueryPoints(const Call& call, const Collection& collection,
                                                           QueryPlan plan);
// A batch of searches or plans (`field`: "searches" on REST, "search_points"/"query_points" on gRPC):
// strict mode checks every query's shape and takes one read per query before the first runs, so a
// refused batch ran nothing; then they run in order, the request's deadline checked before each.
[[nodiscard]] StatusOr<std::vector<std::vector<PointView>>> SearchPointsBatch(const Call& call,
                                                                              const Collection& collection,
                                                                              std::vector<QueryRequest> requests,
                                                                              const std::string& field);
[[nodiscard]] StatusOr<std::vector<std::vector<PointView>>> QueryPointsBatch(const Call& call,
                                                                             const Collection& collection,
                                                                             std::vector<QueryPlan> plans,
                                                                             const std::string& field);
// Strict mode's checks of the whole request (its timeout) and of a batch's size, before any query.
[[nodiscard]] Status AdmitReadBatch(const Call& call, const Collection& collection, size_t queries);

}  // namespace vj

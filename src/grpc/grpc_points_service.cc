// The Points service: each method decodes its protobuf request (grpc/proto_codec.h) and calls the
// function of api/service.h that the REST handler of the same operation calls.
#include "api/service.h"
#include "grpc/grpc_services.h"
#include "grpc/proto_codec.h"

namespace vj {
namespace {


void SetUpdateResult(const WriteOutcome& outcome, qdrant::UpdateResult* out) {
  out->set_operation_id(outcome.operation_id);
  out->set_status(outcome.completed ? qdrant::Completed : qdrant::Acknowledged);
}

template <typename Out>
void ViewsToProto(const std::vector<PointView>& views, Out* out) {
  out->Reserve(static_cast<int>(views.size()));
  for (const PointView& v : views) PointViewToProto(v, out->Add());
}

class PointsService final : public qdrant::Points::Service {
 public:
  explicit PointsService(GrpcCalls& calls) : calls_(calls) {}

  grpc::Status Upsert(grpc::ServerContext* ctx, const qdrant::UpsertPoints* request,
                      qdrant::PointsOperationResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Points/Upsert", &request->collection_name(), *request,
                        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
                          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
                          VJ_ASSIGN_OR_RETURN(std::vector<PointInput> points,
                                              PointsFromProto(request->points(), call.limits()));
                          VJ_ASSIGN_OR_RETURN(PointWrite write, PrepareUpsert(call, *collection, std::move(points)));
                          VJ_ASSIGN_OR_RETURN(WriteOutcome outcome,
                                              RunPointWrite(*collection, write, request->wait(), call.context));
                          SetUpdateResult(outcome, response->mutable_result());
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const qdrant::DeletePoints* request,
                      qdrant::PointsOperationResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(
        ctx, "/qdrant.Points/Delete", &request->collection_name(), *request,
        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
          PointSelector selector;
          const qdrant::PointsSelector& points = request->points();
          if (points.has_points()) {
            VJ_ASSIGN_OR_RETURN(selector.ids, PointIdsFromProto(points.points().ids(), "points.points.ids",
                                                                call.limits().max_points_per_request));
          } else if (points.has_filter()) {
            VJ_ASSIGN_OR_RETURN(selector.filter, FilterFromProto(points.filter(), call.limits().filter, "points.filter"));
          } else {
            return absl::InvalidArgumentError("points: expected a list of ids or a filter");
          }
          VJ_ASSIGN_OR_RETURN(PointWrite write, PrepareDelete(call, *collection, std::move(selector)));
          VJ_ASSIGN_OR_RETURN(WriteOutcome outcome, RunPointWrite(*collection, write, request->wait(), call.context));
          SetUpdateResult(outcome, response->mutable_result());
          response->set_time(SecondsSince(start));
          return absl::OkStatus();
        });
  }

  grpc::Status Get(grpc::ServerContext* ctx, const qdrant::GetPoints* request, qdrant::GetResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Points/Get", &request->collection_name(), *request,
                        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
                          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
                          RetrieveRequest r;
                          VJ_ASSIGN_OR_RETURN(r.ids, PointIdsFromProto(request->ids(), "ids",
                                                                       call.limits().max_points_per_request));
                          // As Qdrant's gRPC: without with_payload, no payload.
                          VJ_ASSIGN_OR_RETURN(r.with_payload,
                                              PayloadSelectorFromProto(
                                                  request->has_with_payload() ? &request->with_payload() : nullptr,
                                                  PayloadSelector{}, call.limits().max_payload_keys));
                          r.with_vector = VectorSelectorFromProto(
                              request->has_with_vectors() ? &request->with_vectors() : nullptr);
                          VJ_ASSIGN_OR_RETURN(std::vector<PointView> views, RetrievePoints(call, *collection, r));
                          ViewsToProto(views, response->mutable_result());
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

  grpc::Status Search(grpc::ServerContext* ctx, const qdrant::SearchPoints* request,
                      qdrant::SearchResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Points/Search", &request->collection_name(), *request,
                        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
                          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
                          VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, 1));
                          VJ_ASSIGN_OR_RETURN(QueryRequest search, SearchFromProto(*request, call.limits(), ""));
                          VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                                              SearchPoints(call, *collection, std::move(search)));
                          ViewsToProto(views, response->mutable_result());
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

  grpc::Status SearchBatch(grpc::ServerContext* ctx, const qdrant::SearchBatchPoints* request,
                           qdrant::SearchBatchResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(
        ctx, "/qdrant.Points/SearchBatch", &request->collection_name(), *request,
        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
          const size_t n = request->search_points_size();
          if (n > call.limits().max_batch_queries) {
            return OverLimit("search_points", n, "queries", call.limits().max_batch_queries, "batch_queries");
          }
          VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, n));
          std::vector<QueryRequest> searches;
          searches.reserve(n);
          for (size_t i = 0; i < n; ++i) {
            const std::string where = "search_points[" + std::to_string(i) + "]";
            const qdrant::SearchPoints& s = request->search_points(static_cast<int>(i));
            if (!s.collection_name().empty() && s.collection_name() != request->collection_name()) {
              return absl::InvalidArgumentError(where + ".collection_name: must be the batch's collection");
            }
            VJ_ASSIGN_OR_RETURN(QueryRequest search, SearchFromProto(s, call.limits(), where));
            searches.push_back(std::move(search));
          }
          VJ_ASSIGN_OR_RETURN(std::vector<std::vector<PointView>> answers,
                              SearchPointsBatch(call, *collection, std::move(searches), "search_points"));
          for (const std::vector<PointView>& views : answers) {
            ViewsToProto(views, response->add_result()->mutable_result());
          }
          response->set_time(SecondsSince(start));
          return absl::OkStatus();
        });
  }

  grpc::Status Scroll(grpc::ServerContext* ctx, const qdrant::ScrollPoints* request,
                      qdrant::ScrollResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(
        ctx, "/qdrant.Points/Scroll", &request->collection_name(), *request,
        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
          ScrollRequest scroll;
          if (request->has_offset()) {
            VJ_ASSIGN_OR_RETURN(scroll.offset, PointIdFromProto(request->offset(), "offset"));
          }
          if (request->has_limit()) {
            if (request->limit() > call.limits().max_limit) {
              return OverLimit("limit", request->limit(), "points", call.limits().max_limit, "limit");
            }
            scroll.limit = request->limit();
          }
          if (request->has_filter()) {
            VJ_ASSIGN_OR_RETURN(scroll.filter, FilterFromProto(request->filter(), call.limits().filter));
          }
          // As Qdrant's gRPC: without with_payload, no payload.
          VJ_ASSIGN_OR_RETURN(scroll.with_payload,
                              PayloadSelectorFromProto(request->has_with_payload() ? &request->with_payload() : nullptr,
                                                       PayloadSelector{}, call.limits().max_payload_keys));
          scroll.with_vector = VectorSelectorFromProto(request->has_with_vectors() ? &request->with_vectors() : nullptr);
          VJ_ASSIGN_OR_RETURN(ScrollResult result, ScrollPoints(call, *collection, std::move(scroll)));
          ViewsToProto(result.points, response->mutable_result());
          if (result.next_page_offset) PointIdToProto(*result.next_page_offset, response->mutable_next_page_offset());
          response->set_time(SecondsSince(start));
          return absl::OkStatus();
        });
  }

  grpc::Status Count(grpc::ServerContext* ctx, const qdrant::CountPoints* request,
                     qdrant::CountResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Points/Count", &request->collection_name(), *request,
                        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
                          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
                          std::optional<Filter> filter;
                          if (request->has_filter()) {
                            VJ_ASSIGN_OR_RETURN(filter, FilterFromProto(request->filter(), call.limits().filter));
                          }
                          const bool exact = !request->has_exact() || request->exact();
                          VJ_ASSIGN_OR_RETURN(uint64_t count, CountPoints(call, *collection, filter, exact));
                          response->mutable_result()->set_count(count);
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

  grpc::Status Query(grpc::ServerContext* ctx, const qdrant::QueryPoints* request,
                     qdrant::QueryResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Points/Query", &request->collection_name(), *request,
                        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
                          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
                          VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, 1));
                          VJ_ASSIGN_OR_RETURN(QueryPlan plan, QueryPlanFromProto(*request, call.limits(), ""));
                          VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                                              QueryPoints(call, *collection, std::move(plan)));
                          ViewsToProto(views, response->mutable_result());
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

  grpc::Status QueryBatch(grpc::ServerContext* ctx, const qdrant::QueryBatchPoints* request,
                          qdrant::QueryBatchResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(
        ctx, "/qdrant.Points/QueryBatch", &request->collection_name(), *request,
        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
          const size_t n = request->query_points_size();
          if (n > call.limits().max_batch_queries) {
            return OverLimit("query_points", n, "queries", call.limits().max_batch_queries, "batch_queries");
          }
          VJ_RETURN_IF_ERROR(AdmitReadBatch(call, *collection, n));
          std::vector<QueryPlan> plans;
          plans.reserve(n);
          for (size_t i = 0; i < n; ++i) {
            const std::string where = "query_points[" + std::to_string(i) + "]";
            const qdrant::QueryPoints& q = request->query_points(static_cast<int>(i));
            if (!q.collection_name().empty() && q.collection_name() != request->collection_name()) {
              return absl::InvalidArgumentError(where + ".collection_name: must be the batch's collection");
            }
            VJ_ASSIGN_OR_RETURN(QueryPlan plan, QueryPlanFromProto(q, call.limits(), where));
            plans.push_back(std::move(plan));
          }
          VJ_ASSIGN_OR_RETURN(std::vector<std::vector<PointView>> answers,
                              QueryPointsBatch(call, *collection, std::move(plans), "query_points"));
          for (const std::vector<PointView>& views : answers) {
            ViewsToProto(views, response->add_result()->mutable_result());
          }
          response->set_time(SecondsSince(start));
          return absl::OkStatus();
        });
  }

 private:
  GrpcCalls& calls_;
};

}  // namespace

std::unique_ptr<qdrant::Points::Service> NewPointsService(GrpcCalls& calls) {
  return std::make_unique<PointsService>(calls);
}

}  // namespace vj

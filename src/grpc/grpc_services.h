// The gRPC services of GrpcServer (internal to grpc/): Qdrant (health), Collections and Points, each
// method an adapter from its protobuf request to api/service.h and back. Thread-safety: methods run
// concurrently on gRPC's threads; the pipeline and the RestApi allow that.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "api/handlers.h"
#include "api/rest_api.h"
#include "collections.grpc.pb.h"
#include "grpc/grpc_server.h"
#include "points.grpc.pb.h"
#include "qdrant.grpc.pb.h"
#include "server/metrics.h"
#include "server/request_pipeline.h"

namespace vj {

// A request's optional `timeout` field (seconds), as the service layer takes it.
inline std::optional<uint64_t> Timeout(bool has, uint64_t seconds) {
  return has ? std::optional<uint64_t>(seconds) : std::nullopt;
}

// The seconds a call may run: the nearer of the request's `timeout` field and the client's gRPC
// deadline (`client_deadline`, time_point::max() when the client set none), as the REST port's
// ?timeout= takes it; nullopt when neither is set. A deadline already past gives 0; under a
// millisecond left, the call is answered DEADLINE_EXCEEDED without running.
std::optional<double> CallTimeoutSeconds(std::optional<uint64_t> timeout_field,
                                         std::chrono::system_clock::time_point client_deadline,
                                         std::chrono::system_clock::time_point now);

// What every method does around its own work: admission through the pipeline (credentials from the
// call's metadata, the method's permission on `collection`), the refusal of unsupported fields, the
// Call (RestApi::Run, with `timeout` seconds as the REST port's ?timeout=), the audit record, and the
// mapping of the result to a gRPC status.
class GrpcCalls {
 public:
  GrpcCalls(RequestPipeline& pipeline, std::function<RestApi*()> api, Metrics& metrics);
  grpc::Status Serve(grpc::ServerContext* server_context, std::string_view method, const std::string* collection,
                     const google::protobuf::Message& request, std::optional<uint64_t> timeout,
                     const std::function<Status(const Call&)>& work);

 private:
  RequestPipeline& pipeline_;
  const std::function<RestApi*()> api_;
  Metrics& metrics_;
};

class GrpcServer::Services {
 public:
  Services(RequestPipeline& pipeline, std::function<RestApi*()> api, Metrics& metrics, std::string version);
  ~Services();
  std::vector<grpc::Service*> all();

 private:
  GrpcCalls calls_;
  std::unique_ptr<qdrant::Qdrant::Service> qdrant_;
  std::unique_ptr<qdrant::Collections::Service> collections_;
  std::unique_ptr<qdrant::Points::Service> points_;
};

// Seconds since `start`, for the responses' `time`.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::unique_ptr<qdrant::Points::Service> NewPointsService(GrpcCalls& calls);  // grpc_points_service.cc

}  // namespace vj

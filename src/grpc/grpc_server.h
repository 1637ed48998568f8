// GrpcServer: VJVector's Qdrant-compatible gRPC port (proto/*.proto; docs/api.md "gRPC"). Each call goes
// through the public port's request pipeline (server/request_pipeline.h Admit: the `api-key` or
// `authorization: Bearer` metadata, tenant, the method's permission from grpc/grpc_method_table.h,
// rate limits, audit), then its protobuf request is decoded (grpc/proto_codec.h) into the typed request
// of api/service.h and served by the same functions, with the same Call, as the REST handler of the
// same operation (RestApi::Run). Errors are vj::Status codes, which are gRPC's codes; a refusal for
// load carries `retry-after` metadata.
// TLS: the REST port's certificate, key and CA (tls.*), with the same client_auth; files are read at
// Start (a SIGHUP reload applies to the REST port only).
// Thread-safety: Start and Stop from one thread; calls are served on gRPC's own threads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/rest_api.h"
#include "core/status.h"
#include "server/metrics.h"
#include "server/request_pipeline.h"
#include "server/tls_context.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace vj {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6334;
  // TLS: all empty = plaintext.
  std::string tls_cert_file, tls_key_file, tls_ca_file;
  TlsClientAuth client_auth = TlsClientAuth::kNone;
  size_t max_message_bytes = 32ull << 20;  // http.max_body_bytes: the same bound on one request
  std::string version;                     // HealthCheck's version
  // Threads serving calls at once; a call beyond them is refused with RESOURCE_EXHAUSTED (gRPC's
  // resource quota) rather than queued without bound.
  int max_threads = 64;
};

class GrpcServer {
 public:
  // `api` returns the node's RestApi, or null while the node loads (calls answer UNAVAILABLE).
  // Calls are counted in `metrics` (vjvector_grpc_requests_total{method,code},
  // vjvector_grpc_request_duration_seconds{method}).
  GrpcServer(GrpcServerOptions options, RequestPipeline& pipeline, std::function<RestApi*()> api, Metrics& metrics);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving; Unavailable when the address cannot be bound, InvalidArgument when the
  // TLS files cannot be read.
  [[nodiscard]] Status Start();
  int bound_port() const { return bound_port_; }
  // Stops taking calls and waits for those in flight (at most a few seconds).
  void Stop();

  class Services;  // grpc_services.cc

 private:
  const GrpcServerOptions options_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  int bound_port_ = 0;
};

}  // namespace vj

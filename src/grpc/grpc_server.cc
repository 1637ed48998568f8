#include "grpc/grpc_server.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include "grpc/grpc_services.h"

namespace vj {
namespace {

StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(std::string("cannot read the TLS ") + what + " file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const GrpcServerOptions& o) {
  if (o.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  VJ_ASSIGN_OR_RETURN(std::string cert, ReadPem(o.tls_cert_file, "certificate"));
  VJ_ASSIGN_OR_RETURN(std::string key, ReadPem(o.tls_key_file, "key"));
  ssl.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
  if (!o.tls_ca_file.empty()) {
    VJ_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(o.tls_ca_file, "CA"));
  }
  switch (o.client_auth) {
    case TlsClientAuth::kNone:
      ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
      break;
    case TlsClientAuth::kOptional:
      ssl.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
      break;
    case TlsClientAuth::kRequire:
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
      break;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

GrpcServer::GrpcServer(GrpcServerOptions options, RequestPipeline& pipeline, std::function<RestApi*()> api,
                       Metrics& metrics)
    : options_(std::move(options)),
      services_(std::make_unique<Services>(pipeline, std::move(api), metrics, options_.version)) {}

GrpcServer::~GrpcServer() { Stop(); }

Status GrpcServer::Start() {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, Credentials(options_));
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second node would share the port with this one, the kernel
  // splitting connections between them. A port in use must fail the start instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  const bool v6 = options_.host.find(':') != std::string::npos && options_.host.front() != '[';
  const std::string address = (v6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(options_.port);
  builder.AddListeningPort(address, credentials, &bound_port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(options_.max_message_bytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(INT32_MAX);
  grpc::ResourceQuota quota("vjvector-grpc");
  quota.SetMaxThreads(options_.max_threads);
  builder.SetResourceQuota(quota);
  for (grpc::Service* service : services_->all()) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || bound_port_ == 0) {
    server_.reset();
    return absl::UnavailableError("cannot listen for gRPC on " + address);
  }
  return absl::OkStatus();
}

void GrpcServer::Stop() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
  server_.reset();
}

}  // namespace vj

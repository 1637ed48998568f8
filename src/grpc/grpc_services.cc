#include "grpc/grpc_services.h"

#include <algorithm>

#include "api/error_mapping.h"
#include "api/service.h"
#include "core/retry_after.h"
#include "grpc/grpc_method_table.h"
#include "grpc/unsupported_fields.h"
#include "tracing/tracer.h"

namespace vj {
namespace {

constexpr char kRequestsTotal[] = "vjvector_grpc_requests_total";
constexpr char kRequestDuration[] = "vjvector_grpc_request_duration_seconds";
constexpr std::string_view kIpv4 = "ipv4:";
constexpr std::string_view kIpv6 = "ipv6:";

// "ipv4:127.0.0.1:5000" -> "127.0.0.1:5000", as the REST port writes client addresses.
std::string ClientAddress(const std::string& peer) {
  std::string_view p = peer;
  if (p.substr(0, kIpv4.size()) == kIpv4) p.remove_prefix(kIpv4.size());
  else if (p.substr(0, kIpv6.size()) == kIpv6) p.remove_prefix(kIpv6.size());
  return std::string(p.substr(0, 128));
}

grpc::Status ToGrpc(const Status& status, grpc::ServerContext* server_context) {
  if (status.ok()) return grpc::Status::OK;
  if (std::optional<int64_t> seconds = RetryAfterSeconds(status)) {
    server_context->AddTrailingMetadata("retry-after", std::to_string(*seconds));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), RedactFilePaths(std::string(status.message())));
}

class QdrantService final : public qdrant::Qdrant::Service {
 public:
  QdrantService(GrpcCalls& calls, std::string version) : calls_(calls), version_(std::move(version)) {}
  grpc::Status HealthCheck(grpc::ServerContext* ctx, const qdrant::HealthCheckRequest* request,
                           qdrant::HealthCheckReply* reply) override {
    return calls_.Serve(ctx, "/qdrant.Qdrant/HealthCheck", nullptr, *request, std::nullopt, [&](const Call&) {
      reply->set_title("vjvector - vector search engine");
      reply->set_version(kQdrantApiVersion);
      reply->set_commit(version_);
      return absl::OkStatus();
    });
  }

 private:
  GrpcCalls& calls_;
  const std::string version_;
};

qdrant::Distance DistanceToProto(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return qdrant::Cosine;
    case Metric::kEuclid: return qdrant::Euclid;
    case Metric::kDot: return qdrant::Dot;
    case Metric::kManhattan: return qdrant::Manhattan;
  }
  return qdrant::UnknownDistance;
}

StatusOr<Metric> DistanceFromProto(qdrant::Distance d, const std::string& where) {
  switch (d) {
    case qdrant::Cosine: return Metric::kCosine;
    case qdrant::Euclid: return Metric::kEuclid;
    case qdrant::Dot: return Metric::kDot;
    case qdrant::Manhattan: return Metric::kManhattan;
    default: break;
  }
  return absl::InvalidArgumentError(where + ": expected Cosine, Euclid, Dot or Manhattan");
}

Status HnswFromProto(const qdrant::HnswConfigDiff& h, const std::string& where, HnswParams* out) {
  if (h.has_m()) {
    if (h.m() < 2 || h.m() > 128) return absl::InvalidArgumentError(where + ".m: must be between 2 and 128");
    out->m = h.m();
  }
  if (h.has_ef_construct()) {
    if (h.ef_construct() < 4 || h.ef_construct() > 4096) {
      return absl::InvalidArgumentError(where + ".ef_construct: must be between 4 and 4096");
    }
    out->ef_construct = h.ef_construct();
  }
  if (h.has_full_scan_threshold()) out->full_scan_threshold_kb = h.full_scan_threshold();
  return absl::OkStatus();
}

constexpr size_t kMaxDimension = 65536;  // as collection/collection_config.cc

StatusOr<VectorParams> VectorParamsFromProto(const qdrant::VectorParams& p, const std::string& where,
                                             const HnswParams& base) {
  VectorParams params;
  if (p.size() == 0 || p.size() > kMaxDimension) {
    return absl::InvalidArgumentError(where + ".size: must be between 1 and " + std::to_string(kMaxDimension));
  }
  params.size = p.size();
  VJ_ASSIGN_OR_RETURN(params.distance, DistanceFromProto(p.distance(), where + ".distance"));
  if (p.has_hnsw_config()) {
    HnswParams hnsw = base;
    VJ_RETURN_IF_ERROR(HnswFromProto(p.hnsw_config(), where + ".hnsw_config", &hnsw));
    params.hnsw = hnsw;
  }
  params.on_disk = p.has_on_disk() && p.on_disk();
  return params;
}

Status CheckVectorName(const std::string& name, const std::string& where) {
  if (name.empty() || name.size() > 255) {
    return absl::InvalidArgumentError(where + ": vector names must have 1 to 255 characters");
  }
  return absl::OkStatus();
}

StatusOr<CollectionConfig> ConfigFromProto(const qdrant::CreateCollection& c) {
  CollectionConfig config;
  if (c.has_on_disk_payload() && c.on_disk_payload()) {  // as the REST port: no on-disk-only payloads
    return absl::InvalidArgumentError("on_disk_payload: true is not supported (payloads are kept in memory for "
                                      "filtering, and stored durably either way); leave it out or set false");
  }
  if (c.has_hnsw_config()) VJ_RETURN_IF_ERROR(HnswFromProto(c.hnsw_config(), "hnsw_config", &config.hnsw));
  if (c.has_shard_number()) {
    if (c.shard_number() == 0) return absl::InvalidArgumentError("shard_number: must be at least 1");
    config.shard_number = c.shard_number();
  }
  if (c.has_replication_factor()) {
    if (c.replication_factor() == 0) return absl::InvalidArgumentError("replication_factor: must be at least 1");
    config.replication_factor = c.replication_factor();
  }
  if (c.has_write_consistency_factor()) {
    if (c.write_consistency_factor() == 0 || c.write_consistency_factor() > config.replication_factor) {
      return absl::InvalidArgumentError("write_consistency_factor: must be between 1 and replication_factor");
    }
    config.write_consistency_factor = c.write_consistency_factor();
  }
  if (c.has_vectors_config()) {
    const qdrant::VectorsConfig& v = c.vectors_config();
    if (v.has_params()) {
      VJ_ASSIGN_OR_RETURN(config.vectors[""], VectorParamsFromProto(v.params(), "vectors_config.params", config.hnsw));
    } else if (v.has_params_map()) {
      for (const auto& [name, p] : v.params_map().map()) {
        const std::string where = "vectors_config.params_map." + name;
        VJ_RETURN_IF_ERROR(CheckVectorName(name, where));
        VJ_ASSIGN_OR_RETURN(config.vectors[name], VectorParamsFromProto(p, where, config.hnsw));
      }
    }
  }
  if (c.has_sparse_vectors_config()) {
    for (const auto& [name, p] : c.sparse_vectors_config().map()) {
      const std::string where = "sparse_vectors_config." + name;
      VJ_RETURN_IF_ERROR(CheckVectorName(name, where));
      if (config.vectors.count(name) != 0) {
        return absl::InvalidArgumentError(where + ": a dense vector has the same name");
      }
      SparseVectorParams sparse;
      sparse.idf = p.has_modifier() && p.modifier() == qdrant::Idf;
      config.sparse_vectors[name] = sparse;
    }
  }
  if (config.vectors.empty() && config.sparse_vectors.empty()) {
    return absl::InvalidArgumentError("vectors_config: missing (give vectors_config, sparse_vectors_config, or both)");
  }
  // Never store what cannot be read back: the stored config.json is read with the collection layer's
  // own parser at start-up, which has rules of its own (shard and replica counts, a vector named "size"
  // or "distance" reads as the unnamed vector's params). A config that does not come back the same is
  // refused here, before anything is created.
  StatusOr<CollectionConfig> back = ParseCollectionConfig(CollectionConfigToJson(config));
  if (!back.ok()) return back.status();
  auto shape = [](const CollectionConfig& c) {
    std::vector<std::pair<std::string, size_t>> out;
    for (const auto& [name, p] : c.vectors) out.emplace_back(name, p.size);
    for (const auto& [name, p] : c.sparse_vectors) out.emplace_back(name, 0);
    return out;
  };
  if (shape(*back) != shape(config) || back->shard_number != config.shard_number ||
      back->replication_factor != config.replication_factor) {
    return absl::InvalidArgumentError("vectors_config: vector names \"size\" and \"distance\" are reserved");
  }
  return config;
}

void HnswToProto(const HnswParams& h, qdrant::HnswConfigDiff* out) {
  out->set_m(h.m);
  out->set_ef_construct(h.ef_construct);
  out->set_full_scan_threshold(h.full_scan_threshold_kb);
}

void VectorParamsToProto(const VectorParams& p, qdrant::VectorParams* out) {
  out->set_size(p.size);
  out->set_distance(DistanceToProto(p.distance));
  if (p.hnsw) HnswToProto(*p.hnsw, out->mutable_hnsw_config());
  if (p.on_disk) out->set_on_disk(true);
}

qdrant::PayloadSchemaType SchemaTypeToProto(std::string_view name) {
  if (name == "keyword") return qdrant::Keyword;
  if (name == "integer") return qdrant::Integer;
  if (name == "float") return qdrant::Float;
  if (name == "geo") return qdrant::Geo;
  if (name == "text") return qdrant::Text;
  if (name == "bool") return qdrant::Bool;
  if (name == "datetime") return qdrant::Datetime;
  if (name == "uuid") return qdrant::Uuid;
  return qdrant::UnknownType;
}

void InfoToProto(const CollectionInfo& info, qdrant::CollectionInfo* out) {
  out->set_status(info.status == "green" ? qdrant::Green : info.status == "yellow" ? qdrant::Yellow : qdrant::Red);
  out->mutable_optimizer_status()->set_ok(true);
  out->set_segments_count(1);
  out->set_points_count(info.points_count);
  out->set_indexed_vectors_count(info.indexed_vectors_count);
  const CollectionConfig& c = info.config;
  qdrant::CollectionParams* params = out->mutable_config()->mutable_params();
  params->set_shard_number(c.shard_number);
  params->set_replication_factor(c.replication_factor);
  params->set_write_consistency_factor(c.write_consistency_factor);
  if (c.has_unnamed_vector()) {
    VectorParamsToProto(c.vectors.begin()->second, params->mutable_vectors_config()->mutable_params());
  } else if (!c.vectors.empty()) {
    auto* map = params->mutable_vectors_config()->mutable_params_map()->mutable_map();
    for (const auto& [name, p] : c.vectors) VectorParamsToProto(p, &(*map)[name]);
  }
  if (!c.sparse_vectors.empty()) {
    auto* map = params->mutable_sparse_vectors_config()->mutable_map();
    for (const auto& [name, p] : c.sparse_vectors) (*map)[name].set_modifier(p.idf ? qdrant::Idf : qdrant::None);
  }
  HnswToProto(c.hnsw, out->mutable_config()->mutable_hnsw_config());
  for (const auto& [key, type] : c.payload_schema) {
    qdrant::PayloadSchemaInfo& schema = (*out->mutable_payload_schema())[key];
    schema.set_data_type(SchemaTypeToProto(PayloadSchemaTypeName(type.type)));
    auto it = info.payload_index_points.find(key);
    schema.set_points(it == info.payload_index_points.end() ? 0 : it->second);
  }
}


class CollectionsService final : public qdrant::Collections::Service {
 public:
  explicit CollectionsService(GrpcCalls& calls) : calls_(calls) {}

  grpc::Status Get(grpc::ServerContext* ctx, const qdrant::GetCollectionInfoRequest* request,
                   qdrant::GetCollectionInfoResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Collections/Get", &request->collection_name(), *request, std::nullopt,
                        [&](const Call& call) -> Status {
                          VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
                          InfoToProto(collection->Info(), response->mutable_result());
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

  grpc::Status List(grpc::ServerContext* ctx, const qdrant::ListCollectionsRequest* request,
                    qdrant::ListCollectionsResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Collections/List", nullptr, *request, std::nullopt, [&](const Call& call) {
      for (const std::string& name : VisibleCollections(call)) response->add_collections()->set_name(name);
      response->set_time(SecondsSince(start));
      return absl::OkStatus();
    });
  }

  grpc::Status Create(grpc::ServerContext* ctx, const qdrant::CreateCollection* request,
                      qdrant::CollectionOperationResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Collections/Create", &request->collection_name(), *request,
                        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
                          VJ_ASSIGN_OR_RETURN(CollectionConfig config, ConfigFromProto(*request));
                          VJ_RETURN_IF_ERROR(CreateCollection(call, call.params[0], config));
                          response->set_result(true);
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const qdrant::DeleteCollection* request,
                      qdrant::CollectionOperationResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Collections/Delete", &request->collection_name(), *request,
                        Timeout(request->has_timeout(), request->timeout()), [&](const Call& call) -> Status {
                          VJ_ASSIGN_OR_RETURN(bool deleted, DeleteCollection(call, call.params[0]));
                          response->set_result(deleted);
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

  grpc::Status CollectionExists(grpc::ServerContext* ctx, const qdrant::CollectionExistsRequest* request,
                                qdrant::CollectionExistsResponse* response) override {
    const auto start = std::chrono::steady_clock::now();
    return calls_.Serve(ctx, "/qdrant.Collections/CollectionExists", &request->collection_name(), *request,
                        std::nullopt, [&](const Call& call) {
                          response->mutable_result()->set_exists(call.catalog.Exists(call.params[0]));
                          response->set_time(SecondsSince(start));
                          return absl::OkStatus();
                        });
  }

 private:
  GrpcCalls& calls_;
};

// Names the call's server span and sets OpenTelemetry's RPC and database attributes. `method` is
// "/qdrant.Points/Upsert".
void FinishRpcSpan(Span& span, std::string_view method, const std::string* collection, const Status& status) {
  if (!span.recording()) return;
  span.SetName(std::string(method.substr(1)));
  const size_t slash = method.rfind('/');
  span.SetAttribute("rpc.system", "grpc");
  span.SetAttribute("rpc.service", method.substr(1, slash - 1));
  span.SetAttribute("rpc.method", method.substr(slash + 1));
  span.SetAttribute("rpc.grpc.status_code", static_cast<int64_t>(status.code()));
  span.SetAttribute("db.system.name", "vjvector");
  if (collection != nullptr && !collection->empty()) span.SetAttribute("db.collection.name", *collection);
  if (!status.ok()) span.SetError(status);
}

}  // namespace

GrpcCalls::GrpcCalls(RequestPipeline& pipeline, std::function<RestApi*()> api, Metrics& metrics)
    : pipeline_(pipeline), api_(std::move(api)), metrics_(metrics) {
  metrics_.DeclareCounter(kRequestsTotal, "gRPC calls answered, by method and status code.");
  metrics_.DeclareHistogram(kRequestDuration, "gRPC call latency inside the server, by method.",
                            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

std::optional<double> CallTimeoutSeconds(std::optional<uint64_t> timeout_field,
                                         std::chrono::system_clock::time_point client_deadline,
                                         std::chrono::system_clock::time_point now) {
  std::optional<double> seconds;
  if (timeout_field) seconds = static_cast<double>(*timeout_field);
  if (client_deadline != std::chrono::system_clock::time_point::max()) {
    const double left = std::max(0.0, std::chrono::duration<double>(client_deadline - now).count());
    seconds = seconds ? std::min(*seconds, left) : left;
  }
  return seconds;
}

grpc::Status GrpcCalls::Serve(grpc::ServerContext* server_context, std::string_view method,
                              const std::string* collection, const google::protobuf::Message& message,
                              std::optional<uint64_t> timeout, const std::function<Status(const Call&)>& work) {
  const auto start = std::chrono::steady_clock::now();
  const std::string method_label(method.substr(0, 64));  // only the table's methods reach here
  Span span;  // the call's server span (Begin below), ended when the call is answered
  auto answer = [&](const Status& status) {
    metrics_.Increment(kRequestsTotal, {{"method", method_label}, {"code", absl::StatusCodeToString(status.code())}});
    metrics_.Observe(kRequestDuration, {{"method", method_label}}, SecondsSince(start));
    FinishRpcSpan(span, method_label, collection, status);
    return ToGrpc(status, server_context);
  };
  Request request;
  request.method = "POST";
  request.path = std::string(method);
  for (const char* name : kRequestHeaders) {
    auto it = server_context->client_metadata().find(name);
    if (it != server_context->client_metadata().end()) {
      request.headers[name] = std::string(it->second.data(), it->second.size());
    }
  }
  request.client_address = ClientAddress(server_context->peer());
  const GrpcMethod* entry = FindGrpcMethod(method);
  RouteMatch match;
  if (entry != nullptr) {
    match.route = &entry->route;
    if (collection != nullptr) match.params.push_back(*collection);
  }
  std::string refusal;
  RequestContext context = pipeline_.Begin(request, span);
  // What lower layers, peers and log lines see of this call (tracing/tracer.h).
  ScopedTraceContext scope(context.trace, &context.request_id, &context.tracestate);
  if (Status admitted = pipeline_.Admit(request, match, entry != nullptr && entry->accepts_alias, context, refusal);
      !admitted.ok()) {
    return answer(admitted);
  }

  Status status = RejectUnknownFields(message);
  if (status.ok() && collection != nullptr && collection->empty()) {
    status = absl::InvalidArgumentError("collection_name: missing");
  }
  if (status.ok()) {
    RestApi* api = api_();
    if (api == nullptr) {
      status = absl::UnavailableError("the node is still loading its collections");
    } else {
      // The client's deadline bounds the work as the `timeout` field does (the nearer one wins).
      const std::optional<double> seconds =
          CallTimeoutSeconds(timeout, server_context->deadline(), std::chrono::system_clock::now());
      if (seconds && *seconds < 1e-3) {
        status = absl::DeadlineExceededError("the call's deadline passed before its work started");
      } else {
        if (seconds) request.query["timeout"] = std::to_string(*seconds);
        status = api->Run(context, match, request, work);
      }
    }
  }
  pipeline_.Audit(context, request, match, status.ok() ? 200 : HttpStatusFor(status));
  return answer(status);
}

GrpcServer::Services::Services(RequestPipeline& pipeline, std::function<RestApi*()> api, Metrics& metrics,
                               std::string version)
    : calls_(pipeline, std::move(api), metrics),
      qdrant_(std::make_unique<QdrantService>(calls_, std::move(version))),
      collections_(std::make_unique<CollectionsService>(calls_)),
      points_(NewPointsService(calls_)) {}

GrpcServer::Services::~Services() = default;

std::vector<grpc::Service*> GrpcServer::Services::all() { return {qdrant_.get(), collections_.get(), points_.get()}; }

}  // namespace vj

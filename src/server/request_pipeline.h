// RequestPipeline: the middleware chain every request of one port goes through, in this order:
//   trace (request id, traceparent) -> authenticate (and the principal's tenant: it must exist) ->
//   route (api/route_table.h) -> resolve a collection alias, in the principal's namespace -> authorize
//   (the route's declared permission and scope, on the resolved collection; a tenant principal never
//   passes a node-wide route) -> rate limit (the principal's, then its tenant's) -> handler -> audit hook.
//   The audit hook sees every request the pipeline answers, refusals (401, 403, 429) and unknown routes
//   included.
// The transport (HttpServer) hands it every request it does not serve itself (/livez, /readyz,
// /healthz), and it hands each authorized request, with its RequestContext, to the server of its route:
// RestApi, the cluster node (replication), or the transport's own /metrics.
//
// Refusals, in Qdrant's error envelope: 401 (no or invalid credentials, with WWW-Authenticate), 403 (a
// principal without the route's permission), 429 with Retry-After (rate limit), each counted in
// vjvector_auth_failures_total{reason}; and 404/405 for unknown routes (answered only after
// authentication, so that probing paths needs credentials; not counted there).
//
// Thread-safety: Handle may be called concurrently; the authenticator and hooks must allow that.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/request.h"
#include "api/route_table.h"
#include "core/request_context.h"
#include "core/status.h"
#include "security/peer_identity.h"
#include "security/permission.h"
#include "security/secret_digest.h"
#include "server/metrics.h"
#include "tracing/span.h"

namespace vj {

// Who sent a request, from its credentials. Two implementations: the public port's (API keys, JWT,
// OIDC; server/front_door_auth.h) and the peer port's (the cluster token or a verified client
// certificate; PeerAuthenticator below).
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The principal the request's credentials prove; null when it carries none (a public route may still
  // be served); an AuthFailure (security/auth_failure.h) when they are invalid.
  virtual StatusOr<std::shared_ptr<const Principal>> Authenticate(const Request& request) const = 0;
};

// The public port while no authentication is configured (a loopback node, or
// security.allow_unauthenticated): everyone is an admin, as before the front door existed.
class OpenDoor final : public Authenticator {
 public:
  OpenDoor() : admin_(std::make_shared<const Principal>(UnauthenticatedAdmin())) {}
  StatusOr<std::shared_ptr<const Principal>> Authenticate(const Request&) const override { return admin_; }

 private:
  const std::shared_ptr<const Principal> admin_;
};

// The peer port: a request is a peer's when it carries the cluster's internal token (compared in
// constant time) and, with mutual TLS, came with a client certificate the CA verified that names a
// cluster node (`identities`, security/peer_identity.h; refused with reason "peer_identity"). With
// neither configured the port is open (the node refuses to start that way on a non-loopback address).
class PeerAuthenticator final : public Authenticator {
 public:
  // `identities` (may be null: any certificate the CA signed) outlives this.
  PeerAuthenticator(std::string token, bool mutual_tls, const PeerIdentityPolicy* identities = nullptr);
  StatusOr<std::shared_ptr<const Principal>> Authenticate(const Request& request) const override;

 private:
  const std::string token_;
  const Sha256Digest token_digest_;  // compared with the presented token's, in constant time
  const bool mutual_tls_;
  const PeerIdentityPolicy* const identities_;
  const std::shared_ptr<const Principal> peer_;
};

// What the audit hook learns of one answered request: never its body, nor its credentials.
struct AuditedRequest {
  const RequestContext& context;  // principal null: none was proven (a 401, or a public route without one)
  const Request& request;
  const RouteMatch& match;        // route null: no route matched (404/405), or none was needed to refuse
  int status;                     // the HTTP status answered
  std::string_view refusal;       // the reason of a refusal, as in vjvector_auth_failures_total; else empty
};

struct RequestPipelineHooks {
  // Served by the route's server (RouteServer::kApi / kCluster); unset ones answer 404.
  std::function<Response(const RequestContext&, const RouteMatch&, const Request&)> api;
  std::function<Response(const RequestContext&, const RouteMatch&, const Request&)> cluster;
  // Replaces an alias in the matched route's collection parameter by the collection it names
  // (api/rest_api.h ResolveCollectionAlias), before authorization: a grant is checked against the
  // collection a request reaches, whatever name it used. Names are those the context's principal sees
  // (its tenant's namespace; api/tenant_scope.h). Returns the alias it replaced, nullopt when it
  // changed nothing. Unset: names are taken as they are.
  std::function<std::optional<std::string>(const RequestContext&, RouteMatch&)> resolve_collection;
  // Checks a principal whose token carries Qdrant's value_exists claim (api/value_exists.h), in the
  // context's namespace: OK, or the refusal. Unset: such principals are refused (a claim that cannot be
  // checked never grants access).
  std::function<Status(const RequestContext&, const ValueExistsCondition&)> value_exists;
  // Whether a tenant exists (docs/tenancy.md). A principal of an unknown tenant is refused (401).
  // Unset: every tenant principal is refused.
  std::function<bool(const std::string& tenant)> tenant_exists;
  // The tenant's request-rate quota: OK, or the refusal (RetryAfterError naming the quota; 429).
  // Unset: no quota.
  std::function<Status(const std::string& tenant, const RouteSpec&)> tenant_rate_limit;
  // Rate limit: seconds to wait before retrying (429), or nullopt to go on. Unset: no limit.
  std::function<std::optional<int>(const Principal&, const RouteSpec&)> rate_limit;
  // Called with every answer, after the handler or the refusal (the audit log hangs here; issue 12).
  // Runs on the request's thread: it must be quick.
  std::function<void(const AuditedRequest&)> audit;
  // /metrics text (RouteServer::kTransport); unset answers 404.
  std::function<std::string()> metrics_text;
  // /metrics without credentials (security.metrics_public).
  bool metrics_public = false;
};

class RequestPipeline {
 public:
  // `node_nonce` prefixes generated request ids so that ids of different nodes (and restarts) differ.
  RequestPipeline(Port port, const Authenticator& authenticator, RequestPipelineHooks hooks, Metrics& metrics,
                  std::string node_nonce);
  Response Handle(const Request& request);
  // The refusal Handle would answer for `request`'s credentials (401/403, counted and audited as
  // Handle's), or nullopt when they are good. For a transport that would otherwise refuse the request
  // for its form first (a wrong Content-Type): a caller without credentials learns nothing more.
  std::optional<Response> RefuseUnauthenticated(const Request& request);

  // For a transport with its own method table (gRPC; grpc/grpc_method_table.h): the same steps up to
  // the handler (authenticate, tenant, value_exists, alias, authorize with `match`'s route, rate
  // limits) for a request that carries only headers. Returns the request's context, or the refusal
  // (Unauthenticated, PermissionDenied, or ResourceExhausted with RetryAfterSeconds), counted in
  // vjvector_auth_failures_total and audited; `refusal` names its reason. A null route is refused.
  // `accepts_alias`: whether the collection parameter may name an alias (resolve_collection).
  StatusOr<RequestContext> Admit(const Request& request, RouteMatch& match, bool accepts_alias,
                                 std::string& refusal);
  // The same for a context the transport made with Begin (so that its server span covers the checks).
  Status Admit(const Request& request, RouteMatch& match, bool accepts_alias, RequestContext& context,
               std::string& refusal);
  // A new request's context (its id, client, deadline) and its server span, started in `span` (the
  // caller's traceparent continued, else a new trace; invalid while tracing is off). The transport keeps
  // `span` until it answers and makes context.trace the thread's current context meanwhile
  // (tracing/tracer.h ScopedTraceContext).
  RequestContext Begin(const Request& request, Span& span);
  // The audit hook for an admitted request of such a transport, with the HTTP status its answer
  // stands for (api/error_mapping.h HttpStatusFor).
  void Audit(const RequestContext& context, const Request& request, const RouteMatch& match, int status) const;

 private:
  // The chain up to the answer; `match` and `refusal` tell the audit hook what was asked and why it
  // was refused.
  Response Serve(const Request& request, RequestContext& context, RouteMatch& match, std::string& refusal);
  // Credentials, the principal's tenant and its value_exists claim; a refusal sets `reason`.
  Status Authenticate(const Request& request, RequestContext& context, std::string& reason) const;
  // The route's permission and scope, then the principal's and its tenant's rate limits.
  Status Authorize(const RequestContext& context, const RouteMatch& match,
                   const std::optional<std::string>& alias, std::string& reason) const;
  Response Refuse(const Status& status, const std::string& request_id, std::string_view reason,
                  std::string& refusal);
  RequestContext NewContext(const Request& request);

  const Port port_;
  const Authenticator& authenticator_;
  const RequestPipelineHooks hooks_;
  Metrics& metrics_;
  const std::string nonce_;
  std::atomic<uint64_t> next_id_{1};
};

// Metric families the pipeline writes; declared once per registry.
void DeclarePipelineMetrics(Metrics& metrics);

}  // namespace vj

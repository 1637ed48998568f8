#include "server/request_pipeline.h"

#include <algorithm>
#include <array>
#include <chrono>

#include <spdlog/spdlog.h>

#include "api/error_mapping.h"
#include "api/rest_api.h"
#include "cluster/peer_protocol.h"
#include "core/retry_after.h"
#include "security/auth_failure.h"
#include "security/secret_digest.h"
#include "tracing/tracer.h"

namespace vj {
namespace {

constexpr char kAuthFailures[] = "vjvector_auth_failures_total";

// A request id or traceparent a client sent is echoed and logged: only short, plain tokens are kept.
bool SafeToken(std::string_view v, size_t max) {
  if (v.empty() || v.size() > max) return false;
  for (char c : v) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

std::string Header(const Request& request, const char* name) {
  auto it = request.headers.find(name);
  return it == request.headers.end() ? std::string() : it->second;
}

// db.operation.name of a route: its last literal segment ("query", "search", "count", ...); a PUT of
// points is an "upsert". Bounded: it comes from the route table, not from the request.
std::string_view OperationName(const RouteSpec& route) {
  std::string_view pattern = route.pattern;
  while (!pattern.empty()) {
    size_t slash = pattern.rfind('/');
    std::string_view segment = pattern.substr(slash + 1);
    if (!segment.empty() && segment.front() != '{') {
      if (segment == "points" && route.method == "PUT") return "upsert";
      return segment;
    }
    if (slash == std::string_view::npos) break;
    pattern = pattern.substr(0, slash);
  }
  return route.method;
}

// The request's server span: the caller's traceparent continued, else a new trace (an invalid header
// is ignored, never refused). Names and attributes follow OpenTelemetry's HTTP and database
// semantic conventions; they are set in FinishServerSpan once the route and status are known.
Span StartServerSpan(const Request& request, RequestContext& context) {
  if (ActiveTracer() == nullptr) return Span();
  std::optional<TraceContext> parent;
  if (auto it = request.headers.find("traceparent"); it != request.headers.end()) parent = ParseTraceparent(it->second);
  if (parent) {
    if (auto it = request.headers.find("tracestate"); it != request.headers.end()) {
      context.tracestate = SanitizeTracestate(it->second);
    }
  }
  Span span = StartSpan(request.method, SpanKind::kServer, parent.value_or(TraceContext{}), parent.has_value(),
                        context.tracestate);
  context.trace = span.context();
  return span;
}

void FinishServerSpan(Span& span, const Request& request, const RouteMatch& match, const Response& response) {
  if (!span.recording()) return;
  span.SetAttribute("http.request.method", request.method);
  span.SetAttribute("url.path", request.path);
  span.SetAttribute("http.response.status_code", response.status);
  if (match.route != nullptr) {
    span.SetName(request.method + " " + std::string(match.route->pattern));
    span.SetAttribute("http.route", match.route->pattern);
    span.SetAttribute("db.system.name", "vjvector");
    span.SetAttribute("db.operation.name", OperationName(*match.route));
    if (std::optional<std::string_view> collection = match.collection()) {
      span.SetAttribute("db.collection.name", *collection);
    }
  }
  if (response.status >= 500) span.SetError("HTTP " + std::to_string(response.status));
}

Status MissingCredentials() {
  return AuthFailure("missing", "missing credentials: send an api-key header or Authorization: Bearer");
}

}  // namespace

void DeclarePipelineMetrics(Metrics& metrics) {
  metrics.DeclareCounter(kAuthFailures,
                         "Requests refused by the front door, by reason (missing, unknown_key, expired, "
                         "bad_signature, ..., forbidden, rate_limited).");
}

PeerAuthenticator::PeerAuthenticator(std::string token, bool mutual_tls, const PeerIdentityPolicy* identities)
    : token_(std::move(token)), token_digest_(Sha256(token_)), mutual_tls_(mutual_tls), identities_(identities),
      peer_([] {
        auto p = std::make_shared<Principal>();
        p->id = "peer";
        p->is_peer = true;
        return std::shared_ptr<const Principal>(std::move(p));
      }()) {}

StatusOr<std::shared_ptr<const Principal>> PeerAuthenticator::Authenticate(const Request& request) const {
  // With mutual TLS the handshake already required a certificate the CA signed; the token, when set,
  // is asked as well (a client certificate of the same CA may belong to a user, not a node).
  if (mutual_tls_ && request.tls_client_cn.empty() && request.tls_client_names == nullptr) {
    return AuthFailure("missing", "peer port: a client certificate is required");
  }
  if (mutual_tls_ && identities_ != nullptr) {
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& names = request.tls_client_names ? *request.tls_client_names : kNone;
    if (Status st = identities_->Check(names); !st.ok()) {
      // Names only (never a credential): the operator needs them to tell a misissued node certificate
      // from a user's certificate tried on the peer port. At most one line a second (every refusal is
      // counted in vjvector_auth_failures_total{reason="peer_identity"}).
      static std::atomic<int64_t> last_logged_s{0};
      const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now().time_since_epoch()).count();
      if (int64_t last = last_logged_s.load(); now_s != last && last_logged_s.compare_exchange_strong(last, now_s)) {
        spdlog::warn("peer port: refused a client certificate from {}: {}", request.client_address,
                     std::string(st.message()));
      }
      return AuthFailure("peer_identity", "peer port: the client certificate is not a cluster node's");
    }
  }
  if (token_.empty()) return peer_;  // mutual TLS alone, or an open peer port (loopback only)
  auto it = request.headers.find(kInternalTokenHeader);
  if (it == request.headers.end()) {
    return AuthFailure("missing", std::string("peer port: missing ") + kInternalTokenHeader + " header");
  }
  // Digests of equal length: the comparison leaks neither the token nor its length.
  if (!DigestsEqual(Sha256(it->second), token_digest_)) {
    return AuthFailure("unknown_key", std::string("peer port: wrong ") + kInternalTokenHeader + " header");
  }
  return peer_;
}

RequestPipeline::RequestPipeline(Port port, const Authenticator& authenticator, RequestPipelineHooks hooks,
                                 Metrics& metrics, std::string node_nonce)
    : port_(port), authenticator_(authenticator), hooks_(std::move(hooks)), metrics_(metrics),
      nonce_(std::move(node_nonce)) {}

RequestContext RequestPipeline::NewContext(const Request& request) {
  RequestContext context;
  const std::string sent = Header(request, "x-request-id");
  context.request_id = SafeToken(sent, 128) ? sent : nonce_ + "-" + std::to_string(next_id_.fetch_add(1));
  const std::string traceparent = Header(request, "traceparent");
  if (SafeToken(traceparent, 128)) context.traceparent = traceparent;
  context.client_address = request.client_address;
  return context;
}

Response RequestPipeline::Refuse(const Status& status, const std::string& request_id, std::string_view reason,
                                 std::string& refusal) {
  refusal = reason;
  metrics_.Increment(kAuthFailures, {{"reason", std::string(reason)}});
  Response response = port_ == Port::kPeer ? PeerErrorResponse(status) : ErrorResponse(status, 0);
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  response.headers.emplace_back("X-Request-Id", request_id);
  return response;
}

Response RequestPipeline::Handle(const Request& request) {
  RequestContext context = NewContext(request);
  Span span = StartServerSpan(request, context);
  // What lower layers and log lines see of this request (tracing/tracer.h).
  ScopedTraceContext scope(context.trace, &context.request_id, &context.tracestate);
  RouteMatch match;
  std::string refusal;
  Response response = Serve(request, context, match, refusal);
  FinishServerSpan(span, request, match, response);
  if (hooks_.audit) hooks_.audit(AuditedRequest{context, request, match, response.status, refusal});
  return response;
}

std::optional<Response> RequestPipeline::RefuseUnauthenticated(const Request& request) {
  RequestContext context = NewContext(request);
  std::string reason;
  Status status = Authenticate(request, context, reason);
  if (status.ok()) return std::nullopt;
  std::string refusal;
  Response response = Refuse(status, context.request_id, reason, refusal);
  if (hooks_.audit) {
    hooks_.audit(AuditedRequest{context, request, MatchRoute(port_, request.method, request.path), response.status,
                                refusal});
  }
  return response;
}

Status RequestPipeline::Authenticate(const Request& request, RequestContext& context, std::string& reason) const {
  // Invalid credentials are refused even on public routes.
  StatusOr<std::shared_ptr<const Principal>> principal = [&] {
    Span span = StartSpan("authenticate");
    StatusOr<std::shared_ptr<const Principal>> who = authenticator_.Authenticate(request);
    if (!who.ok()) span.SetError(AuthFailureReason(who.status()));
    return who;
  }();
  if (!principal.ok()) {
    reason = AuthFailureReason(principal.status());
    return principal.status();
  }
  context.principal = std::move(*principal);
  if (context.principal != nullptr && !context.principal->tenant.empty()) {
    // A key's tenant exists (deleting a tenant revokes its keys); a token may name any.
    const std::string& tenant = context.principal->tenant;
    if (!hooks_.tenant_exists || !hooks_.tenant_exists(tenant)) {
      reason = "unknown_tenant";
      return AuthFailure("unknown_tenant", "the credential's tenant \"" + tenant + "\" does not exist");
    }
    context.tenant = tenant;
  }
  if (context.principal != nullptr && context.principal->value_exists) {
    Status valid = hooks_.value_exists
                       ? hooks_.value_exists(context, *context.principal->value_exists)
                       : AuthFailure("unsupported_claim", "tokens with a value_exists claim are not accepted here");
    if (!valid.ok()) {
      const bool refused = valid.code() == absl::StatusCode::kUnauthenticated;
      reason = refused ? AuthFailureReason(valid) : "unavailable";
      return valid;
    }
  }
  return absl::OkStatus();
}

Status RequestPipeline::Authorize(const RequestContext& context, const RouteMatch& match,
                                  const std::optional<std::string>& alias, std::string& reason) const {
  const RouteSpec& route = *match.route;
  const bool open = route.permission == Permission::kPublic ||
                    (hooks_.metrics_public && route.server == RouteServer::kTransport);
  if (open) return absl::OkStatus();
  if (context.principal == nullptr) {
    reason = "missing";
    return MissingCredentials();
  }
  const Principal& who = *context.principal;
  reason = "forbidden";
  // A tenant principal acts inside its tenant only: node-wide routes (keys, roles, tenants, cluster,
  // full snapshots, metrics) are refused whatever its grants, so an "admin" key of a tenant is the
  // admin of its tenant's collections and nothing more.
  if (!context.tenant.empty() && !TenantMayUse(route)) {
    return absl::PermissionDeniedError(who.id + " acts for tenant " + context.tenant +
                                       " and may not use node-wide routes");
  }
  const bool allowed = route.scope == RouteScope::kAnyCollection
                           ? std::any_of(who.grants.begin(), who.grants.end(),
                                         [&](const Grant& g) { return g.level >= route.permission &&
                                                                      g.level != Permission::kInternal; })
                           : who.Allows(route.permission, match.collection());
  if (!allowed) {
    std::string what = std::string(PermissionName(route.permission));
    what += match.collection() ? " access to collection " + (alias ? *alias : std::string(*match.collection()))
                               : " access to this node";
    return absl::PermissionDeniedError(who.id + " lacks " + what);
  }
  if (hooks_.rate_limit) {
    if (std::optional<int> wait = hooks_.rate_limit(who, route)) {
      reason = "rate_limited";
      return RetryAfterError("rate limit of " + who.id + " reached: retry in " + std::to_string(*wait) + " s", *wait);
    }
  }
  if (!context.tenant.empty() && hooks_.tenant_rate_limit) {
    if (Status quota = hooks_.tenant_rate_limit(context.tenant, route); !quota.ok()) {
      reason = "tenant_rate_limited";
      return quota;
    }
  }
  reason.clear();
  return absl::OkStatus();
}

StatusOr<RequestContext> RequestPipeline::Admit(const Request& request, RouteMatch& match, bool accepts_alias,
                                                std::string& refusal) {
  RequestContext context = NewContext(request);
  VJ_RETURN_IF_ERROR(Admit(request, match, accepts_alias, context, refusal));
  return context;
}

RequestContext RequestPipeline::Begin(const Request& request, Span& span) {
  RequestContext context = NewContext(request);
  span = StartServerSpan(request, context);
  return context;
}

Status RequestPipeline::Admit(const Request& request, RouteMatch& match, bool accepts_alias, RequestContext& context,
                              std::string& refusal) {
  std::string reason;
  Status status = Authenticate(request, context, reason);
  std::optional<std::string> alias;
  if (status.ok()) {
    if (accepts_alias && hooks_.resolve_collection && match.route != nullptr) {
      alias = hooks_.resolve_collection(context, match);
    }
    if (match.route == nullptr) {
      reason = "forbidden";
      status = absl::PermissionDeniedError("no permission is declared for this method");
    } else {
      status = Authorize(context, match, alias, reason);
    }
  }
  if (status.ok()) return absl::OkStatus();
  refusal = reason;
  metrics_.Increment(kAuthFailures, {{"reason", reason}});
  if (hooks_.audit) {
    hooks_.audit(AuditedRequest{context, request, match, HttpStatusFor(status), refusal});
  }
  return status;
}

void RequestPipeline::Audit(const RequestContext& context, const Request& request, const RouteMatch& match,
                            int status) const {
  if (hooks_.audit) hooks_.audit(AuditedRequest{context, request, match, status, {}});
}

Response RequestPipeline::Serve(const Request& request, RequestContext& context, RouteMatch& match,
                                std::string& refusal) {
  // The route is matched first so that a refusal can be audited with what it refused; it is answered
  // only after authentication (probing paths needs credentials).
  match = MatchRoute(port_, request.method, request.path);
  std::string reason;
  if (Status status = Authenticate(request, context, reason); !status.ok()) {
    return Refuse(status, context.request_id, reason, refusal);
  }
  if (port_ == Port::kPeer) {
    if (Status version = CheckPeerProtocolVersion(request.headers); !version.ok()) {
      Response response = PeerErrorResponse(version);
      response.headers.emplace_back("X-Request-Id", context.request_id);
      return response;
    }
  }

  // The alias the client used, if any: a refusal names it, so that it tells nothing of its target.
  std::optional<std::string> alias;
  if (hooks_.resolve_collection && match.route != nullptr) alias = hooks_.resolve_collection(context, match);
  if (match.route == nullptr) {
    if (context.principal == nullptr) {
      return Refuse(MissingCredentials(), context.request_id, "missing", refusal);
    }
    Response response = NoRouteResponse(match, request);
    response.headers.emplace_back("X-Request-Id", context.request_id);
    return response;
  }
  const RouteSpec& route = *match.route;

  // Authorize with the route's declared permission, then the rate limits.
  if (Status status = Authorize(context, match, alias, reason); !status.ok()) {
    return Refuse(status, context.request_id, reason, refusal);
  }

  Response response;
  switch (route.server) {
    case RouteServer::kApi:
      response = hooks_.api ? hooks_.api(context, match, request) : NoRouteResponse(RouteMatch{}, request);
      break;
    case RouteServer::kCluster:
      response = hooks_.cluster ? hooks_.cluster(context, match, request) : NoRouteResponse(RouteMatch{}, request);
      break;
    case RouteServer::kTransport:
      if (route.pattern == "/metrics" && hooks_.metrics_text) {
        response.body = hooks_.metrics_text();
        response.content_type = "text/plain; version=0.0.4; charset=utf-8";
      } else {
        response = NoRouteResponse(RouteMatch{}, request);
      }
      break;
  }
  response.route = std::string(route.pattern);
  response.headers.emplace_back("X-Request-Id", context.request_id);
  return response;
}

}  // namespace vj

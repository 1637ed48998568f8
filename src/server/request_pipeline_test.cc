#include "server/request_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/retry_after.h"
#include "security/auth_failure.h"
#include "server/audit_hook.h"

namespace vj {
namespace {

using ::testing::HasSubstr;

// An authenticator with fixed answers: the credential "admin", "reader" or "logs" names a principal,
// any other credential fails, none gives no principal.
class FixedAuthenticator final : public Authenticator {
 public:
  StatusOr<std::shared_ptr<const Principal>> Authenticate(const Request& request) const override {
    auto it = request.headers.find("api-key");
    if (it == request.headers.end()) return std::shared_ptr<const Principal>();
    auto p = std::make_shared<Principal>();
    p->id = "key:" + it->second;
    if (it->second == "admin") {
      p->grants = {{"*", Permission::kAdmin}};
    } else if (it->second == "reader") {
      p->grants = {{"*", Permission::kRead}};
    } else if (it->second == "logs") {
      p->grants = {{"logs-*", Permission::kWrite}};
    } else if (it->second == "acme-admin" || it->second == "ghost-admin") {
      p->grants = {{"*", Permission::kAdmin}};
      p->tenant = it->second.substr(0, it->second.find('-'));
    } else {
      return AuthFailure("unknown_key", "invalid credentials");
    }
    return std::shared_ptr<const Principal>(std::move(p));
  }
};

Request Make(std::string method, std::string path, std::string key = "") {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  if (!key.empty()) r.headers["api-key"] = key;
  return r;
}

std::string HeaderOf(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class RequestPipelineTest : public ::testing::Test {
 protected:
  RequestPipeline Make(Port port, RequestPipelineHooks hooks = {}) {
    if (!hooks.api) {
      hooks.api = [this](const RequestContext& context, const RouteMatch& match, const Request&) {
        seen_ = context;
        Response r;
        r.body = std::string(match.route->pattern);
        return r;
      };
    }
    return RequestPipeline(port, auth_, std::move(hooks), metrics_, "test");
  }

  FixedAuthenticator auth_;
  Metrics metrics_;
  RequestContext seen_;
};

TEST_F(RequestPipelineTest, NoCredentialsIs401WithTheChallengeAndAnId) {
  DeclarePipelineMetrics(metrics_);
  RequestPipeline p = Make(Port::kPublic);
  Response r = p.Handle(vj::Make("POST", "/collections/a/points/query"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(HeaderOf(r, "WWW-Authenticate"), "Bearer");
  EXPECT_THAT(HeaderOf(r, "X-Request-Id"), HasSubstr("test-"));
  EXPECT_THAT(r.body, HasSubstr("\"status\":{\"error\""));
  EXPECT_THAT(metrics_.Render(), HasSubstr("vjvector_auth_failures_total{reason=\"missing\"} 1"));
  // Unknown paths need credentials too: probing the route table is not free.
  EXPECT_EQ(p.Handle(vj::Make("GET", "/no/such/thing")).status, 401);
  EXPECT_EQ(p.Handle(vj::Make("GET", "/no/such/thing", "reader")).status, 404);
}

TEST_F(RequestPipelineTest, WrongCredentialsAre401EvenOnPublicRoutes) {
  DeclarePipelineMetrics(metrics_);
  RequestPipeline p = Make(Port::kPublic);
  EXPECT_EQ(p.Handle(vj::Make("GET", "/", "nope")).status, 401);
  EXPECT_EQ(p.Handle(vj::Make("GET", "/")).status, 200);
  EXPECT_THAT(metrics_.Render(), HasSubstr("vjvector_auth_failures_total{reason=\"unknown_key\"} 1"));
}

TEST_F(RequestPipelineTest, TheRoutesPermissionDecides) {
  DeclarePipelineMetrics(metrics_);
  RequestPipeline p = Make(Port::kPublic);
  EXPECT_EQ(p.Handle(vj::Make("POST", "/collections/a/points/query", "reader")).status, 200);
  Response denied = p.Handle(vj::Make("PUT", "/collections/a/points", "reader"));
  EXPECT_EQ(denied.status, 403);
  EXPECT_THAT(denied.body, HasSubstr("key:reader lacks write access to collection a"));
  EXPECT_EQ(p.Handle(vj::Make("PUT", "/collections/logs-1/points", "logs")).status, 200);
  EXPECT_EQ(p.Handle(vj::Make("PUT", "/collections/other/points", "logs")).status, 403);
  EXPECT_EQ(p.Handle(vj::Make("PUT", "/collections/logs-1", "logs")).status, 403);  // manage
  // A collection-limited principal may list (the handler filters) but not see node-wide routes.
  EXPECT_EQ(p.Handle(vj::Make("GET", "/collections", "logs")).status, 200);
  EXPECT_EQ(p.Handle(vj::Make("GET", "/cluster", "logs")).status, 403);
  EXPECT_EQ(p.Handle(vj::Make("POST", "/vjvector/keys", "reader")).status, 403);
  EXPECT_EQ(p.Handle(vj::Make("POST", "/vjvector/keys", "admin")).status, 200);
  EXPECT_THAT(metrics_.Render(), HasSubstr("vjvector_auth_failures_total{reason=\"forbidden\"} 5"));
}

TEST_F(RequestPipelineTest, TheHandlerGetsTheContext) {
  RequestPipeline p = Make(Port::kPublic);
  Request r = vj::Make("POST", "/collections/a/points/query", "reader");
  r.headers["x-request-id"] = "client-chosen-1";
  r.headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  r.client_address = "10.0.0.1:5000";
  Response answer = p.Handle(r);
  EXPECT_EQ(HeaderOf(answer, "X-Request-Id"), "client-chosen-1");
  ASSERT_NE(seen_.principal, nullptr);
  EXPECT_EQ(seen_.principal->id, "key:reader");
  EXPECT_EQ(seen_.request_id, "client-chosen-1");
  EXPECT_EQ(seen_.client_address, "10.0.0.1:5000");
  EXPECT_EQ(seen_.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  // Ids that are not plain tokens are replaced, not echoed.
  r.headers["x-request-id"] = "evil\r\nSet-Cookie: x";
  EXPECT_THAT(HeaderOf(p.Handle(r), "X-Request-Id"), HasSubstr("test-"));
}

TEST_F(RequestPipelineTest, AnAliasIsResolvedBeforeAuthorization) {
  DeclarePipelineMetrics(metrics_);
  RequestPipelineHooks hooks;
  std::string handled;
  hooks.api = [&handled](const RequestContext&, const RouteMatch& match, const Request&) {
    handled = match.params.at(0);
    return Response{};
  };
  // "logs-view" is an alias of "secret"; "logs-2" one of "logs-1".
  hooks.resolve_collection = [](const RequestContext&, RouteMatch& match) -> std::optional<std::string> {
    if (match.params.empty()) return std::nullopt;
    std::string alias = match.params[0];
    if (alias == "logs-view") match.params[0] = "secret";
    else if (alias == "logs-2") match.params[0] = "logs-1";
    else return std::nullopt;
    return alias;
  };
  RequestPipeline p = Make(Port::kPublic, std::move(hooks));
  // The "logs-*" grant matches the alias's name, not the collection it names.
  Response denied = p.Handle(vj::Make("PUT", "/collections/logs-view/points", "logs"));
  EXPECT_EQ(denied.status, 403);
  EXPECT_THAT(denied.body, HasSubstr("collection logs-view"));
  EXPECT_THAT(denied.body, ::testing::Not(HasSubstr("secret")));
  EXPECT_EQ(handled, "");
  EXPECT_EQ(p.Handle(vj::Make("PUT", "/collections/logs-2/points", "logs")).status, 200);
  EXPECT_EQ(handled, "logs-1");  // the handler gets the collection's name
}

TEST_F(RequestPipelineTest, TheRateLimitAnswers429WithRetryAfter) {
  DeclarePipelineMetrics(metrics_);
  RequestPipelineHooks hooks;
  int calls = 0;
  hooks.rate_limit = [&](const Principal&, const RouteSpec&) -> std::optional<int> {
    return ++calls > 2 ? std::optional<int>(3) : std::nullopt;
  };
  RequestPipeline p = Make(Port::kPublic, std::move(hooks));
  EXPECT_EQ(p.Handle(vj::Make("POST", "/collections/a/points/query", "reader")).status, 200);
  EXPECT_EQ(p.Handle(vj::Make("POST", "/collections/a/points/query", "reader")).status, 200);
  Response limited = p.Handle(vj::Make("POST", "/collections/a/points/query", "reader"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(HeaderOf(limited, "Retry-After"), "3");
  // Public routes are not limited.
  EXPECT_EQ(p.Handle(vj::Make("GET", "/")).status, 200);
}

// What the audit hook was told of one request.
struct Audited {
  std::string request_id, principal, route, collection, refusal, client;
  int status;
};

TEST_F(RequestPipelineTest, TheAuditHookSeesEveryAnswerRefusalsIncluded) {
  DeclarePipelineMetrics(metrics_);
  RequestPipelineHooks hooks;
  std::vector<Audited> audited;
  hooks.audit = [&audited](const AuditedRequest& a) {
    audited.push_back({a.context.request_id, a.context.principal ? a.context.principal->id : "",
                       a.match.route ? std::string(a.match.route->pattern) : "",
                       std::string(a.match.collection().value_or("")), std::string(a.refusal),
                       a.context.client_address, a.status});
  };
  int calls = 0;
  hooks.rate_limit = [&](const Principal& who, const RouteSpec&) -> std::optional<int> {
    return who.id == "key:logs" && ++calls > 1 ? std::optional<int>(1) : std::nullopt;
  };
  RequestPipeline p = Make(Port::kPublic, std::move(hooks));
  auto handle = [&p](std::string method, std::string path, std::string key, std::string id) {
    Request r = vj::Make(std::move(method), std::move(path), std::move(key));
    r.headers["x-request-id"] = std::move(id);
    r.client_address = "10.0.0.9:4242";
    return p.Handle(r).status;
  };
  EXPECT_EQ(handle("POST", "/collections/a/points/query", "reader", "ok-1"), 200);
  EXPECT_EQ(handle("POST", "/collections/a/points/query", "wrong", "badkey-2"), 401);
  EXPECT_EQ(handle("PUT", "/collections/a/points", "", "nokey-3"), 401);
  EXPECT_EQ(handle("PUT", "/collections/a/points", "reader", "forbidden-4"), 403);
  EXPECT_EQ(handle("PUT", "/collections/logs-1/points", "logs", "served-5"), 200);
  EXPECT_EQ(handle("PUT", "/collections/logs-1/points", "logs", "limited-6"), 429);
  EXPECT_EQ(handle("GET", "/no/such/route", "reader", "unknown-7"), 404);
  EXPECT_EQ(handle("GET", "/no/such/route", "", "unknown-8"), 401);
  ASSERT_EQ(audited.size(), 8u);
  auto expect = [&](size_t i, std::string id, std::string principal, std::string route, std::string collection,
                    std::string refusal, int status) {
    SCOPED_TRACE(id);
    EXPECT_EQ(audited[i].request_id, id);
    EXPECT_EQ(audited[i].principal, principal);
    EXPECT_EQ(audited[i].route, route);
    EXPECT_EQ(audited[i].collection, collection);
    EXPECT_EQ(audited[i].refusal, refusal);
    EXPECT_EQ(audited[i].status, status);
    EXPECT_EQ(audited[i].client, "10.0.0.9:4242");
  };
  expect(0, "ok-1", "key:reader", "/collections/{name}/points/query", "a", "", 200);
  // A refusal before authentication still names the route asked for, without a principal.
  expect(1, "badkey-2", "", "/collections/{name}/points/query", "a", "unknown_key", 401);
  expect(2, "nokey-3", "", "/collections/{name}/points", "a", "missing", 401);
  expect(3, "forbidden-4", "key:reader", "/collections/{name}/points", "a", "forbidden", 403);
  expect(4, "served-5", "key:logs", "/collections/{name}/points", "logs-1", "", 200);
  expect(5, "limited-6", "key:logs", "/collections/{name}/points", "logs-1", "rate_limited", 429);
  expect(6, "unknown-7", "key:reader", "", "", "", 404);
  expect(7, "unknown-8", "", "", "", "missing", 401);
}

TEST_F(RequestPipelineTest, AuditRecordsCarryThePrincipalRouteAndAdminFlagButNoCredentials) {
  std::vector<AuditEvent> events;
  RequestPipelineHooks hooks;
  hooks.audit = [&events](const AuditedRequest& a) { events.push_back(AuditEventOf(a)); };
  RequestPipeline p = Make(Port::kPublic, std::move(hooks));
  Request r = vj::Make("POST", "/vjvector/keys", "admin");
  r.body = R"({"role":"reader"})";
  EXPECT_EQ(p.Handle(r).status, 200);
  EXPECT_EQ(p.Handle(vj::Make("POST", "/vjvector/keys", "wrong")).status, 401);
  EXPECT_EQ(p.Handle(vj::Make("GET", "/vjvector/keys", "admin")).status, 200);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].principal, "key:admin");
  EXPECT_EQ(events[0].action, "/vjvector/keys");
  EXPECT_EQ(events[0].method, "POST");
  EXPECT_TRUE(events[0].admin);
  EXPECT_EQ(events[1].principal, "");  // the presented credential is not a principal, and never recorded
  EXPECT_EQ(events[1].reason, "unknown_key");
  EXPECT_TRUE(events[1].admin);        // a refused admin action is one too
  EXPECT_FALSE(events[2].admin);       // reading the key list is not
  for (const AuditEvent& e : events) EXPECT_EQ(AuditEventJson(e, "n1").find("wrong"), std::string::npos);
}

TEST(AuditAdminActionTest, SnapshotActionsAndCollectionDeletesAreAlwaysKept) {
  auto admin = [](const char* method, const char* path) {
    RouteMatch m = MatchRoute(Port::kPublic, method, path);
    EXPECT_NE(m.route, nullptr) << method << " " << path;
    return m.route != nullptr && IsAdminAction(*m.route);
  };
  EXPECT_TRUE(admin("POST", "/vjvector/keys"));
  EXPECT_TRUE(admin("POST", "/collections/c/snapshots"));
  EXPECT_TRUE(admin("PUT", "/collections/c/snapshots/recover"));
  EXPECT_TRUE(admin("POST", "/collections/c/snapshots/upload"));
  EXPECT_TRUE(admin("DELETE", "/collections/c/snapshots/s.snapshot"));
  EXPECT_TRUE(admin("DELETE", "/collections/c"));
  EXPECT_FALSE(admin("GET", "/collections/c/snapshots"));
  EXPECT_FALSE(admin("PUT", "/collections/c/points"));
  EXPECT_FALSE(admin("PUT", "/collections/c"));
}

TEST_F(RequestPipelineTest, ThePublicPortHasNoPeerRoutesAndUsersNeverReachThem) {
  RequestPipeline pub = Make(Port::kPublic);
  for (const char* path : {"/internal/shards/a/0/points", "//internal/shards/a/0/points",
                           "/internal//shards/a/0/points/"}) {
    EXPECT_EQ(pub.Handle(vj::Make("PUT", path, "admin")).status, 404) << path;
  }
  RequestPipeline peer = Make(Port::kPeer);
  // The admin of the public port is no peer.
  EXPECT_EQ(peer.Handle(vj::Make("PUT", "/internal/shards/a/0/points", "admin")).status, 403);
}

TEST(PeerAuthenticatorTest, TokenAndCertificate) {
  PeerAuthenticator token("a-token-of-sixteen-chars", /*mutual_tls=*/false);
  Request r = Make("POST", "/internal/shards/a/0/points/count");
  EXPECT_EQ(token.Authenticate(r).status().code(), absl::StatusCode::kUnauthenticated);
  r.headers[kInternalTokenHeader] = "a-token-of-sixteen-chars-but-longer";
  EXPECT_EQ(token.Authenticate(r).status().code(), absl::StatusCode::kUnauthenticated);
  r.headers[kInternalTokenHeader] = "a-token-of-sixteen-chars";
  auto peer = token.Authenticate(r);
  ASSERT_TRUE(peer.ok());
  EXPECT_TRUE((*peer)->is_peer);

  PeerAuthenticator mtls("a-token-of-sixteen-chars", /*mutual_tls=*/true);
  EXPECT_EQ(mtls.Authenticate(r).status().code(), absl::StatusCode::kUnauthenticated);  // no certificate
  r.tls_client_cn = "node-2";
  EXPECT_TRUE(mtls.Authenticate(r).ok());
  r.headers.erase(kInternalTokenHeader);
  EXPECT_FALSE(mtls.Authenticate(r).ok());  // the token is still asked

  PeerAuthenticator open("", /*mutual_tls=*/false);
  EXPECT_TRUE(open.Authenticate(Make("POST", "/internal/shards/a/0/points/count")).ok());
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST_F(RequestPipelineTest, TenantPrincipalsActInTheirTenantOnly) {
  DeclarePipelineMetrics(metrics_);
  RequestPipelineHooks hooks;
  hooks.tenant_exists = [](const std::string& tenant) { return tenant == "acme"; };
  int rate_checks = 0;
  hooks.tenant_rate_limit = [&](const std::string& tenant, const RouteSpec& route) -> Status {
    ++rate_checks;
    EXPECT_EQ(tenant, "acme");
    if (route.pattern == "/collections/{name}/points/count") return RetryAfterError("tenant acme: quota read_per_s", 3);
    return absl::OkStatus();
  };
  RequestPipeline p = Make(Port::kPublic, hooks);
  Response r = p.Handle(vj::Make("GET", "/collections", "acme-admin"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(seen_.tenant, "acme");
  // An "admin" of a tenant is refused every node-wide route, but may change its namespace's aliases.
  for (const char* path : {"/vjvector/keys", "/metrics", "/cluster", "/snapshots", "/vjvector/tenants"}) {
    r = p.Handle(vj::Make("GET", path, "acme-admin"));
    EXPECT_EQ(r.status, 403) << path;
    EXPECT_THAT(r.body, HasSubstr("acts for tenant acme"));
  }
  EXPECT_EQ(p.Handle(vj::Make("POST", "/collections/aliases", "acme-admin")).status, 200);
  r = p.Handle(vj::Make("POST", "/collections/a/points/count", "acme-admin"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "3");
  EXPECT_THAT(metrics_.Render(), HasSubstr("vjvector_auth_failures_total{reason=\"tenant_rate_limited\"} 1"));
  // A principal of a tenant that does not exist: 401, before anything else.
  r = p.Handle(vj::Make("GET", "/collections", "ghost-admin"));
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("tenant \\\"ghost\\\" does not exist"));
  // Principals of no tenant are not charged to a tenant.
  const int before = rate_checks;
  EXPECT_EQ(p.Handle(vj::Make("GET", "/vjvector/keys", "admin")).status, 200);
  EXPECT_EQ(rate_checks, before);
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

// Admit: another transport's route (the gRPC method table's shape), authorized as REST routes are.
constexpr RouteSpec kForeignRead{Port::kPublic, "POST", "/qdrant.Points/Count", Permission::kRead,
                                 RouteScope::kCollection, RouteServer::kApi, nullptr, false, false};
constexpr RouteSpec kForeignWrite{Port::kPublic, "POST", "/qdrant.Points/Upsert", Permission::kWrite,
                                  RouteScope::kCollection, RouteServer::kApi, nullptr, true, false};

TEST_F(RequestPipelineTest, AdmitAuthorizesAForeignRouteAndAuditsRefusals) {
  DeclarePipelineMetrics(metrics_);
  std::vector<std::string> audited;
  RequestPipelineHooks hooks;
  hooks.audit = [&](const AuditedRequest& a) { audited.push_back(std::to_string(a.status) + " " + std::string(a.refusal)); };
  hooks.resolve_collection = [](const RequestContext&, RouteMatch& match) -> std::optional<std::string> {
    if (match.params.at(0) != "alias") return std::nullopt;
    match.params[0] = "logs-1";
    return std::string("alias");
  };
  RequestPipeline p = Make(Port::kPublic, hooks);
  auto match = [](const RouteSpec& route, std::string collection) {
    RouteMatch m;
    m.route = &route;
    m.params = {std::move(collection)};
    return m;
  };
  std::string refusal;
  RouteMatch m = match(kForeignRead, "a");
  StatusOr<RequestContext> none = p.Admit(vj::Make("POST", "/qdrant.Points/Count"), m, true, refusal);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(refusal, "missing");

  m = match(kForeignWrite, "a");
  StatusOr<RequestContext> reader = p.Admit(vj::Make("POST", "/qdrant.Points/Upsert", "reader"), m, true, refusal);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(reader.status().message()), HasSubstr("write access to collection a"));

  // An alias is resolved before the grant is checked, only where the method accepts one.
  m = match(kForeignWrite, "alias");
  StatusOr<RequestContext> logs = p.Admit(vj::Make("POST", "/qdrant.Points/Upsert", "logs"), m, true, refusal);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(logs->principal->id, "key:logs");
  EXPECT_EQ(m.params[0], "logs-1");
  m = match(kForeignWrite, "alias");
  EXPECT_EQ(p.Admit(vj::Make("POST", "/qdrant.Points/Upsert", "logs"), m, false, refusal).status().code(),
            absl::StatusCode::kPermissionDenied);

  // A method without a table entry is refused, whoever asks.
  RouteMatch unknown;
  EXPECT_EQ(p.Admit(vj::Make("POST", "/qdrant.Points/Nope", "admin"), unknown, true, refusal).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(audited, (std::vector<std::string>{"401 missing", "403 forbidden", "403 forbidden", "403 forbidden"}));
}

}  // namespace
}  // namespace vj

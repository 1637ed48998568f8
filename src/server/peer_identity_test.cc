// Peer identities (security/peer_identity.h) on real certificates from one CA: which are nodes', the
// peer port's authenticator refusing a user's certificate of the same CA, the client refusing a server
// whose certificate is not a node's, and a client certificate reloaded in place.
#include "security/peer_identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/http_client.h"
#include "security/auth_failure.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/request_pipeline.h"
#include "server/test_pki.h"
#include "server/tls_context.h"

namespace vj {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PeerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.Issue("n1", "n1", "IP:127.0.0.1,DNS:localhost");
    pki_.Issue("n2", "n2", "IP:127.0.0.1");
    pki_.Issue("shared", "vjvector", "IP:127.0.0.1,DNS:*.vjvector-headless.db.svc,URI:spiffe://db/vjvector");
    pki_.Issue("user", "alice", "IP:127.0.0.1");
  }
  std::vector<std::string> Names(const std::string& name) {
    auto names = CertificateFileNames(pki_.Path(name + ".crt"));
    EXPECT_TRUE(names.ok()) << names.status();
    return names.ok() ? *names : std::vector<std::string>{};
  }
  Pki pki_;
};

TEST_F(PeerIdentityTest, CertificateNamesAreCnDnsAndUriNotIp) {
  EXPECT_THAT(Names("n1"), ElementsAre("n1", "localhost"));
  EXPECT_THAT(Names("n2"), ElementsAre("n2"));
  EXPECT_THAT(Names("shared"), ElementsAre("vjvector", "*.vjvector-headless.db.svc", "spiffe://db/vjvector"));
  EXPECT_FALSE(CertificateFileNames(pki_.Path("missing.crt")).ok());
}

TEST_F(PeerIdentityTest, DefaultRuleIsOwnNamesOrMemberIds) {
  PeerIdentityPolicy policy({}, Names("n1"));
  EXPECT_TRUE(policy.Check(Names("n1")).ok());
  EXPECT_FALSE(policy.Check(Names("n2")).ok());  // not a member yet
  policy.SetMembers([] { return std::vector<std::string>{"n1", "n2", "n3"}; });
  EXPECT_TRUE(policy.Check(Names("n2")).ok());
  const Status user = policy.Check(Names("user"));
  EXPECT_EQ(user.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(user.message(), HasSubstr("[alice]"));
  EXPECT_FALSE(policy.Check({}).ok());

  // Nodes sharing one certificate (the Kubernetes manifests): the same names are a node's.
  PeerIdentityPolicy shared({}, Names("shared"));
  EXPECT_TRUE(shared.Check(Names("shared")).ok());
  EXPECT_FALSE(shared.Check(Names("user")).ok());
}

TEST_F(PeerIdentityTest, PatternsReplaceTheDefault) {
  PeerIdentityPolicy policy({"*.vjvector-headless.db.svc"}, Names("n1"));
  policy.SetMembers([] { return std::vector<std::string>{"n1", "n2"}; });
  EXPECT_TRUE(policy.Check(Names("shared")).ok());
  EXPECT_FALSE(policy.Check(Names("n2")).ok());  // a member's id no longer counts
  EXPECT_FALSE(policy.Check(Names("n1")).ok());  // nor this node's own names
  policy.SetPatterns({"n?"});
  EXPECT_TRUE(policy.Check(Names("n2")).ok());
  EXPECT_FALSE(policy.Check(Names("user")).ok());
  policy.SetPatterns({});
  EXPECT_TRUE(policy.Check(Names("n1")).ok());
}

TEST_F(PeerIdentityTest, DescribeNamesIsBoundedAndPrintable) {
  EXPECT_EQ(DescribeNames({"a", "b\x01"}), "[a, b?]");
  std::vector<std::string> many(100, std::string(50, 'x'));
  EXPECT_LT(DescribeNames(many).size(), 320u);
}

Request PeerRequest(std::shared_ptr<const std::vector<std::string>> names) {
  Request request;
  request.method = "GET";
  request.path = "/internal/ping";
  request.tls_client_cn = names && !names->empty() ? names->front() : "";
  request.tls_client_names = std::move(names);
  return request;
}

TEST_F(PeerIdentityTest, PeerAuthenticatorRefusesAUserCertificateOfTheSameCa) {
  PeerIdentityPolicy policy({}, Names("n1"));
  policy.SetMembers([] { return std::vector<std::string>{"n1", "n2"}; });
  PeerAuthenticator with_identities("", /*mutual_tls=*/true, &policy);
  auto node = with_identities.Authenticate(PeerRequest(std::make_shared<std::vector<std::string>>(Names("n2"))));
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_TRUE((*node)->is_peer);
  auto user = with_identities.Authenticate(PeerRequest(std::make_shared<std::vector<std::string>>(Names("user"))));
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AuthFailureReason(user.status()), "peer_identity");
  EXPECT_FALSE(with_identities.Authenticate(PeerRequest(nullptr)).ok());

  // Without identities (the old behaviour) the CA's signature was enough.
  PeerAuthenticator ca_only("", /*mutual_tls=*/true, nullptr);
  EXPECT_TRUE(ca_only.Authenticate(PeerRequest(std::make_shared<std::vector<std::string>>(Names("user")))).ok());
}

// The HTTPS server hands the verified client certificate's names to requests; the client checks the
// server's names; ReloadTls makes new connections present a new client certificate.
class PeerIdentityTlsTest : public PeerIdentityTest {
 protected:
  void StartServer(const std::string& cert) {
    auto loaded = TlsContext::Load(TlsServerFiles{pki_.Path(cert + ".crt"), pki_.Path(cert + ".key"),
                                                  pki_.Path("ca.crt"), TlsClientAuth::kRequire});
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    HttpServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.tls = std::move(*loaded);
    server_ = std::make_unique<HttpServer>(
        options,
        [](const Request& req) {
          Response r;
          r.content_type = "text/plain";
          for (const std::string& n : req.tls_client_names ? *req.tls_client_names : std::vector<std::string>{}) {
            r.body += n + ";";
          }
          return r;
        },
        [] { return true; }, metrics_);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  std::string Url() const { return "https://127.0.0.1:" + std::to_string(server_->bound_port()) + "/names"; }

  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(PeerIdentityTlsTest, ClientChecksTheServersNamesAndReloadsItsCertificate) {
  StartServer("user");  // a server whose certificate the CA signed, but not a node's
  PeerIdentityPolicy policy({}, Names("n1"));
  policy.SetMembers([] { return std::vector<std::string>{"n1", "n2"}; });
  // The client presents the files at `dir` (copied in so that they can be replaced in place).
  TestDir dir;
  auto copy = [&](const std::string& from, const std::string& to) {
    std::filesystem::copy_file(pki_.Path(from), dir.File(to), std::filesystem::copy_options::overwrite_existing);
  };
  copy("n1.crt", "client.crt");
  copy("n1.key", "client.key");
  HttpClientOptions options;
  options.tls = HttpClientTls{pki_.Path("ca.crt"), dir.File("client.crt"), dir.File("client.key")};
  options.check_server_names = [&policy](const std::vector<std::string>& names) { return policy.Check(names); };
  HttpClient checking(options);
  auto refused = checking.Send("GET", Url());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("[alice]"));

  options.check_server_names = nullptr;
  HttpClient client(options);
  auto first = client.Send("GET", Url());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->body, "n1;localhost;");
  copy("n2.crt", "client.crt");
  copy("n2.key", "client.key");
  ASSERT_TRUE(client.ReloadTls().ok());
  auto second = client.Send("GET", Url());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "n2;");
  // A reload that fails keeps the certificate in use.
  std::filesystem::remove(dir.File("client.key"));
  EXPECT_FALSE(client.ReloadTls().ok());
  auto third = client.Send("GET", Url());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->body, "n2;");
}

}  // namespace
}  // namespace vj

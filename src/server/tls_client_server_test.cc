// The cluster's HttpClient against the TLS HttpServer (the path of node-to-node traffic): verification
// of the server's certificate and name, client certificates, and connection reuse over TLS.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/http_client.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/test_pki.h"
#include "server/tls_context.h"

namespace vj {
namespace {

using ::testing::HasSubstr;

class TlsClientServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.Issue("server", "node-1", "IP:127.0.0.1");  // no DNS name: "localhost" must not verify
    pki_.Issue("client", "node-2");
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void StartServer(TlsClientAuth auth) {
    auto loaded = TlsContext::Load(
        TlsServerFiles{pki_.Path("server.crt"), pki_.Path("server.key"), pki_.Path("ca.crt"), auth});
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
          r.body = "cn=" + req.tls_client_cn;
          return r;
        },
        [] { return true; }, metrics_);
    ASSERT_TRUE(server_->Start().ok());
  }
  std::string Url(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(server_->bound_port()) + "/whoami";
  }
  HttpClientTls ClientFiles(bool with_cert) const {
    HttpClientTls tls{pki_.Path("ca.crt"), "", ""};
    if (with_cert) {
      tls.cert_file = pki_.Path("client.crt");
      tls.key_file = pki_.Path("client.key");
    }
    return tls;
  }

  Pki pki_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsClientServerTest, MutualTlsAndConnectionReuse) {
  StartServer(TlsClientAuth::kRequire);
  HttpClient client(HttpClientOptions{.tls = ClientFiles(true)});
  for (int i = 0; i < 3; ++i) {
    auto res = client.Send("GET", Url());
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "cn=node-2");
  }
  EXPECT_EQ(client.connections_opened(), 1u);  // the TLS connection was pooled and reused
  EXPECT_EQ(client.idle_connections(), 1u);
}

TEST_F(TlsClientServerTest, ServerRefusesClientWithoutCertificateWhenRequired) {
  StartServer(TlsClientAuth::kRequire);
  HttpClient client(HttpClientOptions{.tls = ClientFiles(false)});
  auto res = client.Send("GET", Url());
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(absl::IsUnavailable(res.status())) << res.status();
}

TEST_F(TlsClientServerTest, ClientRefusesUntrustedServer) {
  StartServer(TlsClientAuth::kNone);
  Pki other;
  HttpClient client(HttpClientOptions{.tls = HttpClientTls{other.Path("ca.crt"), "", ""}});
  auto res = client.Send("GET", Url());
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(absl::IsUnavailable(res.status()));
  EXPECT_THAT(std::string(res.status().message()), HasSubstr("certificate verify failed"));
}

TEST_F(TlsClientServerTest, ClientRefusesCertificateForAnotherName) {
  StartServer(TlsClientAuth::kNone);
  HttpClient client(HttpClientOptions{.tls = ClientFiles(false)});
  auto res = client.Send("GET", Url("localhost"));  // the certificate names 127.0.0.1 only
  ASSERT_FALSE(res.ok());
  EXPECT_THAT(std::string(res.status().message()), HasSubstr("hostname mismatch"));
  res = client.Send("GET", Url("127.0.0.1"));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->body, "cn=");
}

TEST_F(TlsClientServerTest, PlainClientIsRefusedByTlsServer) {
  StartServer(TlsClientAuth::kNone);
  HttpClient client;
  auto res = client.Send("GET", "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/whoami");
  ASSERT_FALSE(res.ok());  // the server closes the connection: no HTTP answer
  EXPECT_TRUE(absl::IsUnavailable(res.status())) << res.status();
}

TEST(HttpClientTlsFilesTest, BadFilesAreNamed) {
  Pki pki;
  pki.Issue("client", "node-2");
  EXPECT_TRUE(CheckHttpClientTls({pki.Path("ca.crt"), pki.Path("client.crt"), pki.Path("client.key")}).ok());
  Status missing = CheckHttpClientTls({pki.Path("nope.crt"), "", ""});
  EXPECT_THAT(std::string(missing.message()), HasSubstr(pki.Path("nope.crt")));
  Status mismatched = CheckHttpClientTls({pki.Path("ca.crt"), pki.Path("client.crt"), pki.Path("ca.key")});
  EXPECT_THAT(std::string(mismatched.message()), HasSubstr(pki.Path("ca.key")));
  EXPECT_FALSE(CheckHttpClientTls({"", pki.Path("client.crt"), ""}).ok());
}

}  // namespace
}  // namespace vj

#include "server/tls_context.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/http_server.h"
#include "server/metrics.h"
#include "server/test_pki.h"

namespace vj {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using ::testing::HasSubstr;

TlsServerFiles ServerFiles(const Pki& pki) {
  return TlsServerFiles{pki.Path("server.crt"), pki.Path("server.key"), pki.Path("ca.crt"), TlsClientAuth::kNone};
}

std::string Message(const StatusOr<std::unique_ptr<TlsContext>>& loaded) {
  return loaded.ok() ? "" : std::string(loaded.status().message());
}

TEST(TlsContextTest, LoadsMatchingCertificateAndKey) {
  Pki pki;
  pki.Issue("server", "node-1");
  auto loaded = TlsContext::Load(ServerFiles(pki));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_NE((*loaded)->Current(), nullptr);
}

TEST(TlsContextTest, MissingFileIsNamed) {
  Pki pki;
  pki.Issue("server", "node-1");
  TlsServerFiles files = ServerFiles(pki);
  files.cert_file = pki.Path("nope.crt");
  auto loaded = TlsContext::Load(files);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(Message(loaded), HasSubstr(files.cert_file));
  EXPECT_THAT(Message(loaded), HasSubstr("No such file"));
}

TEST(TlsContextTest, GarbageCertificateIsNamed) {
  Pki pki;
  pki.Issue("server", "node-1");
  pki.Write("garbage.crt", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
  TlsServerFiles files = ServerFiles(pki);
  files.cert_file = pki.Path("garbage.crt");
  auto loaded = TlsContext::Load(files);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(Message(loaded), HasSubstr("tls.cert_file"));
  EXPECT_THAT(Message(loaded), HasSubstr(files.cert_file));
}

TEST(TlsContextTest, KeyOfAnotherCertificateIsRefused) {
  Pki pki;
  pki.Issue("server", "node-1");
  pki.Issue("other", "node-2");
  TlsServerFiles files = ServerFiles(pki);
  files.key_file = pki.Path("other.key");
  auto loaded = TlsContext::Load(files);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(Message(loaded), HasSubstr(files.key_file));
  EXPECT_THAT(Message(loaded), HasSubstr("does not match"));
}

TEST(TlsContextTest, ClientAuthNeedsCaFile) {
  Pki pki;
  pki.Issue("server", "node-1");
  TlsServerFiles files = ServerFiles(pki);
  files.ca_file.clear();
  files.client_auth = TlsClientAuth::kRequire;
  auto loaded = TlsContext::Load(files);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(Message(loaded), HasSubstr("tls.ca_file"));
  EXPECT_FALSE(ParseTlsClientAuth("sometimes").ok());
  EXPECT_EQ(*ParseTlsClientAuth("optional"), TlsClientAuth::kOptional);
}

TEST(TlsContextTest, ReloadSwapsOnlyOnSuccess) {
  Pki pki;
  pki.Issue("server", "node-1");
  auto loaded = TlsContext::Load(ServerFiles(pki));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  TlsContext& tls = **loaded;
  std::shared_ptr<ssl::context> first = tls.Current();

  pki.Issue("server", "node-1b");  // a new key and certificate in the same files
  ASSERT_TRUE(tls.Reload().ok());
  std::shared_ptr<ssl::context> second = tls.Current();
  EXPECT_NE(first, second);

  pki.Write("server.key", "broken");
  Status failed = tls.Reload();
  EXPECT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.message()), HasSubstr(pki.Path("server.key")));
  EXPECT_EQ(tls.Current(), second);  // the old context stays in force
}

// One HTTPS request to the server; the response body, or "error: ..." when the exchange fails.
std::string HttpsGet(uint16_t port, const Pki& pki, const std::string& client_name) {
  try {
    asio::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(pki.Path("ca.crt"));
    ctx.set_verify_mode(ssl::verify_peer);
    if (!client_name.empty()) {
      ctx.use_certificate_chain_file(pki.Path(client_name + ".crt"));
      ctx.use_private_key_file(pki.Path(client_name + ".key"), ssl::context::pem);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    beast::get_lowest_layer(stream).connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream.handshake(ssl::stream_base::client);
    http::request<http::empty_body> req(http::verb::get, "/whoami", 11);
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return res.body();
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
}

TEST(TlsContextTest, ServerPassesVerifiedClientNameAndAddress) {
  Pki pki;
  pki.Issue("server", "node-1");
  pki.Issue("client", "reporting-app");
  TlsServerFiles files = ServerFiles(pki);
  files.client_auth = TlsClientAuth::kOptional;
  auto loaded = TlsContext::Load(files);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Metrics metrics;
  HttpServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.tls = std::move(*loaded);
  HttpServer server(
      options,
      [](const Request& req) {
        Response r;
        r.content_type = "text/plain";
        r.body = "cn=" + req.tls_client_cn + " from=" + req.client_address;
        return r;
      },
      [] { return true; }, metrics);
  ASSERT_TRUE(server.Start().ok());

  EXPECT_THAT(HttpsGet(server.bound_port(), pki, "client"), ::testing::StartsWith("cn=reporting-app from=127.0.0.1:"));
  EXPECT_THAT(HttpsGet(server.bound_port(), pki, ""), ::testing::StartsWith("cn= from=127.0.0.1:"));
  server.Stop();
}

}  // namespace
}  // namespace vj

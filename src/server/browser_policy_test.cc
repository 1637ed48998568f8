#include "server/browser_policy.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace vj {
namespace {

Request Make(std::string method, std::string path, std::map<std::string, std::string> headers,
             std::string body = "") {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

std::string HeaderOf(const BrowserDecision& d, const std::string& name) {
  for (const auto& [k, v] : d.response_headers) {
    if (k == name) return v;
  }
  return "";
}

int StatusOf(const BrowserDecision& d) { return d.answer ? d.answer->status : 0; }

BrowserPolicyOptions Hosts(std::vector<std::string> hosts) {
  BrowserPolicyOptions o;
  o.allowed_hosts = std::move(hosts);
  return o;
}

BrowserPolicyOptions Origins(std::vector<std::string> origins) {
  BrowserPolicyOptions o;
  o.cors_origins = std::move(origins);
  return o;
}

const BrowserPolicy kLoopback({}, /*loopback_listener=*/true);
const BrowserPolicy kPublic({}, /*loopback_listener=*/false);
const BrowserPolicy kPeerPort({.binary_body_prefix = "/internal/replication/"}, /*loopback_listener=*/true);

TEST(BrowserPolicyTest, JsonClientsWithoutOriginPass) {
  for (const char* type : {"application/json", "application/json; charset=utf-8", "Application/JSON ;x=y"}) {
    BrowserDecision d = kLoopback.Check(
        Make("POST", "/collections/a/points/query", {{"host", "localhost:6333"}, {"content-type", type}}, "{}"));
    EXPECT_FALSE(d.answer.has_value()) << type;
    EXPECT_TRUE(d.response_headers.empty());
  }
  // No body: no Content-Type needed (DELETE, GET, a bodiless POST /cluster/rebalance).
  EXPECT_FALSE(kLoopback.Check(Make("DELETE", "/collections/a", {{"host", "127.0.0.1:6333"}})).answer);
  EXPECT_FALSE(kLoopback.Check(Make("GET", "/collections", {})).answer);  // HTTP/1.0 without Host
}

TEST(BrowserPolicyTest, BodiesThatAreNotJsonAre415) {
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                           "application/jsonx", ""}) {
    BrowserDecision d = kLoopback.Check(
        Make("POST", "/collections/a/points/delete", {{"host", "localhost"}, {"content-type", type}}, "{}"));
    EXPECT_EQ(StatusOf(d), 415) << type;
    EXPECT_NE(d.answer->body.find("application/json"), std::string::npos) << d.answer->body;
  }
  EXPECT_EQ(StatusOf(kLoopback.Check(Make("PUT", "/collections/a", {{"host", "localhost"}}, "{}"))), 415);
  // Qdrant's snapshot upload is a form upload, and only it; a foreign page still cannot send one.
  const char* form = "multipart/form-data; boundary=x";
  EXPECT_FALSE(kLoopback.Check(Make("POST", "/collections/a/snapshots/upload", {{"content-type", form}}, "--x--"))
                   .answer);
  EXPECT_EQ(StatusOf(kLoopback.Check(
                Make("POST", "/collections/a/snapshots/upload", {{"content-type", "application/json"}}, "{}"))),
            415);
  EXPECT_EQ(StatusOf(kLoopback.Check(Make("PUT", "/collections/a/snapshots/upload", {{"content-type", form}}, "x"))),
            415);
  EXPECT_EQ(StatusOf(kLoopback.Check(Make("POST", "/collections/a/snapshots/upload",
                                          {{"host", "127.0.0.1:6333"}, {"origin", "https://evil.example"},
                                           {"content-type", form}},
                                          "--x--"))),
            403);
  // Replication batches (on the peer port) are binary; JSON there is as wrong as text. On the REST port
  // no path takes a binary body.
  EXPECT_FALSE(kPeerPort.Check(Make("POST", "/internal/replication/a/0/entries",
                                    {{"content-type", "application/octet-stream"}}, "\x01"))
                   .answer);
  EXPECT_EQ(StatusOf(kLoopback.Check(Make("POST", "/internal/replication/a/0/entries",
                                          {{"content-type", "application/octet-stream"}}, "\x01"))),
            415);
  EXPECT_EQ(StatusOf(kPeerPort.Check(
                Make("POST", "/internal/replication/a/0/entries", {{"content-type", "text/plain"}}, "x"))),
            415);
}

TEST(BrowserPolicyTest, ForeignOriginIsRefusedOwnOriginPasses) {
  BrowserDecision d = kLoopback.Check(Make("POST", "/collections/a/points/delete",
                                           {{"host", "127.0.0.1:6333"}, {"origin", "https://evil.example"},
                                            {"content-type", "text/plain"}},
                                           "{}"));
  EXPECT_EQ(StatusOf(d), 403);
  EXPECT_NE(d.answer->body.find("https://evil.example"), std::string::npos);
  EXPECT_NE(d.answer->body.find("cors_origins"), std::string::npos);
  EXPECT_EQ(StatusOf(kLoopback.Check(Make("GET", "/collections", {{"host", "localhost"}, {"origin", "null"}}))),
            403);
  EXPECT_FALSE(kLoopback.Check(Make("GET", "/collections",
                                    {{"host", "localhost:6333"}, {"origin", "http://LOCALHOST:6333"}}))
                   .answer);
  // Same host, another port: another origin.
  EXPECT_EQ(StatusOf(kLoopback.Check(
                Make("GET", "/collections", {{"host", "localhost:6333"}, {"origin", "http://localhost:8080"}}))),
            403);
}

TEST(BrowserPolicyTest, LoopbackListenerAcceptsOnlyLoopbackNamesAndAddresses) {
  for (const char* host : {"localhost", "LocalHost:6333", "127.0.0.1", "127.8.9.10:1", "[::1]:6333", "[::1]",
                           "10.1.2.3:6333"}) {
    EXPECT_FALSE(kLoopback.Check(Make("GET", "/collections", {{"host", host}})).answer) << host;
  }
  for (const char* host : {"evil.example", "evil.example:6333", "localhost.evil.example", "127.0.0.1.nip.io"}) {
    BrowserDecision d = kLoopback.Check(Make("GET", "/collections", {{"host", host}}));
    EXPECT_EQ(StatusOf(d), 403) << host;
    EXPECT_NE(d.answer->body.find("allowed_hosts"), std::string::npos);
  }
  for (const char* host : {"", "[::1", "a b", "host:port", "[::1]x", "a/b"}) {
    EXPECT_EQ(StatusOf(kLoopback.Check(Make("GET", "/", {{"host", host}}))), 400) << host;
  }
  // Public listeners accept any name unless allowed_hosts narrows them.
  EXPECT_FALSE(kPublic.Check(Make("GET", "/collections", {{"host", "vjvector.default.svc:6333"}})).answer);
  BrowserPolicy listed(Hosts({"db.example.com"}), false);
  EXPECT_FALSE(listed.Check(Make("GET", "/", {{"host", "DB.example.com:443"}})).answer);
  EXPECT_FALSE(listed.Check(Make("GET", "/", {{"host", "localhost"}})).answer);
  EXPECT_EQ(StatusOf(listed.Check(Make("GET", "/", {{"host", "other.example.com"}}))), 403);
  BrowserPolicy loopback_listed(Hosts({"db.example.com"}), true);
  EXPECT_FALSE(loopback_listed.Check(Make("GET", "/", {{"host", "db.example.com:6333"}})).answer);
  BrowserPolicy any(Hosts({"*"}), true);
  EXPECT_FALSE(any.Check(Make("GET", "/", {{"host", "whatever.example"}})).answer);
}

TEST(BrowserPolicyTest, CorsIsOffByDefault) {
  BrowserDecision d = kLoopback.Check(
      Make("OPTIONS", "/collections", {{"host", "localhost"}, {"origin", "https://app.example.com"},
                                       {"access-control-request-method", "POST"}}));
  EXPECT_EQ(StatusOf(d), 403);
  EXPECT_TRUE(d.response_headers.empty());
}

TEST(BrowserPolicyTest, ConfiguredOriginsGetPreflightAndHeaders) {
  BrowserPolicy cors(Origins({"https://app.example.com"}), true);
  BrowserDecision pre = cors.Check(
      Make("OPTIONS", "/collections/a/points/query",
           {{"host", "localhost:6333"}, {"origin", "https://app.example.com"},
            {"access-control-request-method", "POST"}, {"access-control-request-headers", "content-type,api-key"}}));
  EXPECT_EQ(StatusOf(pre), 204);
  EXPECT_EQ(HeaderOf(pre, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(HeaderOf(pre, "Vary"), "Origin");
  EXPECT_NE(HeaderOf(pre, "Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_NE(HeaderOf(pre, "Access-Control-Allow-Methods").find("DELETE"), std::string::npos);
  EXPECT_EQ(HeaderOf(pre, "Access-Control-Allow-Headers"), "content-type, api-key, authorization");

  BrowserDecision call = cors.Check(Make("POST", "/collections/a/points/query",
                                         {{"host", "localhost:6333"}, {"origin", "https://app.example.com"},
                                          {"content-type", "application/json"}},
                                         "{}"));
  EXPECT_FALSE(call.answer);
  EXPECT_EQ(HeaderOf(call, "Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(HeaderOf(call, "Access-Control-Allow-Methods"), "");

  // An allowed origin's page still cannot send text: 415, with the CORS headers so the page can read why.
  BrowserDecision text = cors.Check(Make("POST", "/collections/a/points/query",
                                         {{"host", "localhost"}, {"origin", "https://app.example.com"},
                                          {"content-type", "text/plain"}},
                                         "{}"));
  EXPECT_EQ(StatusOf(text), 415);
  EXPECT_EQ(HeaderOf(text, "Access-Control-Allow-Origin"), "https://app.example.com");

  BrowserDecision other = cors.Check(Make("GET", "/collections", {{"host", "localhost"}, {"origin", "https://b.example"}}));
  EXPECT_EQ(StatusOf(other), 403);
  EXPECT_EQ(HeaderOf(other, "Access-Control-Allow-Origin"), "");
  // Without an Origin (curl, SDKs) only Vary is added.
  BrowserDecision plain = cors.Check(Make("GET", "/collections", {{"host", "localhost"}}));
  EXPECT_FALSE(plain.answer);
  EXPECT_EQ(HeaderOf(plain, "Vary"), "Origin");
  EXPECT_EQ(HeaderOf(plain, "Access-Control-Allow-Origin"), "");

  BrowserPolicy star(Origins({"*"}), true);
  EXPECT_FALSE(star.Check(Make("GET", "/", {{"host", "localhost"}, {"origin", "https://x.example"}})).answer);
  EXPECT_EQ(StatusOf(star.Check(Make("GET", "/", {{"host", "localhost"}, {"origin", "null"}}))), 403);
}

TEST(BrowserPolicyTest, HelpersParseHostsMediaTypesAndSettings) {
  EXPECT_EQ(HostName("Example.COM:80"), "example.com");
  EXPECT_EQ(HostName("[::1]:6333"), "::1");
  EXPECT_EQ(HostName("[fe80::zz]"), "");
  EXPECT_EQ(HostName("example.com:"), "");
  EXPECT_TRUE(IsLoopbackName("localhost"));
  EXPECT_TRUE(IsLoopbackName("127.255.0.1"));
  EXPECT_TRUE(IsLoopbackName("::1"));
  EXPECT_FALSE(IsLoopbackName("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackName("localhost.example"));
  EXPECT_EQ(MediaType(" Application/Json ; charset=UTF-8"), "application/json");
  EXPECT_TRUE(ValidateCorsOrigin("https://app.example.com:8443").ok());
  EXPECT_TRUE(ValidateCorsOrigin("http://localhost:3000").ok());
  EXPECT_TRUE(ValidateCorsOrigin("*").ok());
  for (const char* bad : {"app.example.com", "https://app.example.com/", "ftp://x", "https://", "null"}) {
    EXPECT_FALSE(ValidateCorsOrigin(bad).ok()) << bad;
  }
  EXPECT_TRUE(ValidateAllowedHost("db.example.com").ok());
  EXPECT_TRUE(ValidateAllowedHost("::1").ok());
  EXPECT_FALSE(ValidateAllowedHost("db.example.com/x").ok());
  EXPECT_FALSE(ValidateAllowedHost("").ok());
}

}  // namespace
}  // namespace vj

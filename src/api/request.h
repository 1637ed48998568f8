// Request and Response: an HTTP exchange as the API layer sees it, without any transport type, so the
// API can be tested without sockets and served by any transport (server/ uses Boost.Beast).
// Thread-safety: plain values.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vj {

class JsonBodyMemory;  // core/json_memory.h

// The header that carries the cluster's shared secret on /internal/... requests between nodes.
inline constexpr char kInternalTokenHeader[] = "x-vjvector-internal-token";
// The answer header of an internal shard read asked with ?position=replica|primary: "<term>:<sequence>"
// of the replica that answered, taken before the read (collection/read_consistency.h).
inline constexpr char kReplicaPositionHeader[] = "x-vjvector-replica-position";

// Headers the request pipeline reads (server/request_pipeline.h): credentials, request id, trace context.
inline constexpr const char* kRequestHeaders[] = {"authorization", "api-key", "x-request-id", "traceparent",
                                                   "tracestate"};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path without the query string, e.g. "/collections/a/points"
  std::map<std::string, std::string> query;  // decoded query parameters
  std::string body;
  // Only the headers the server reads, by lower-case name (kRequestHeaders, kInternalTokenHeader and
  // the browser policy's).
  std::map<std::string, std::string> headers;
  // The client's address, "ip:port" ("[v6]:port"), set by the transport; "" when unknown.
  std::string client_address;
  // The subject CN of the client certificate the TLS handshake verified; "" when there was none.
  std::string tls_client_cn;
  // All the names of that certificate (security/peer_identity.h CertificateNames: CN, DNS and URI
  // subjectAltNames); null when there was none. Shared by the connection's requests.
  std::shared_ptr<const std::vector<std::string>> tls_client_names;
  // Where the body's decoded JSON is counted against the transport's memory budget (Call::Body); null
  // when the transport sets none.
  std::shared_ptr<JsonBodyMemory> json_memory;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // The matched route's template, e.g. "/collections/{name}/points/query", or "unmatched"; a metrics
  // label with bounded cardinality.
  std::string route = "unmatched";
  // Extra response headers, e.g. {"Retry-After", "1"} on a refusal for load.
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this file's content instead of `body`, streamed from disk by the transport
  // (a snapshot download): memory stays bounded whatever the file's size. A file gone by then is a 404.
  std::string body_file;
};

}  // namespace vj

// RestApi: the Qdrant-compatible REST API over a Database. Handle() routes a Request to its endpoint,
// decodes and validates the JSON body, calls the collection, and encodes the Qdrant envelope
// {"result": ..., "status": "ok", "time": seconds} or the error body
// {"status": {"error": "..."}, "time": seconds} with the HTTP status that api/error_mapping gives.
// Thread-safety: Handle may be called concurrently.
#pragma once

#include <functional>
#include <string>

#include <boost/json.hpp>

#include "api/request.h"
#include "collection/database.h"

namespace vj {

struct RestApiOptions {
  std::string version = "0.1.0";
  size_t max_json_depth = 64;
  // The "result" of GET /cluster (Qdrant's shape: status, peer_id, peers); unset on a standalone node,
  // which answers {"status": "disabled"}.
  std::function<boost::json::value()> cluster_status;
};

class RestApi {
 public:
  RestApi(Database& database, RestApiOptions options) : db_(database), options_(std::move(options)) {}
  Response Handle(const Request& request);
  // True for requests of routes that only read (queries, scroll, count, retrieve, listings): they never
  // wait for a write, so a transport may run them on its I/O thread.
  static bool NeverBlocks(const Request& request);

 private:
  Database& db_;
  const RestApiOptions options_;
};

}  // namespace vj

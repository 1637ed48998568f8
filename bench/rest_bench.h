// The server-level benchmark of ../shared/BENCHMARKS.md: REST ingest rate (batches, wait=true),
// restart-to-ready time, query latency (p50/p95/p99) and QPS at 1 client, throughput at N clients, each
// beside the same queries run in-process through vj::Collection, so the REST overhead is a ratio.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace vj::bench {

struct RestOptions {
  std::string base, queries, groundtruth;
  std::string binary = "build/vjvector";
  std::string url;  // a running server (http://127.0.0.1:PORT) instead of starting `binary`
  size_t k = 10;
  size_t batch = 256;
  std::vector<size_t> clients = {1, 8};
  size_t max_queries = 0;
  size_t max_base = 0;  // with a subset, recall is computed against brute force over the subset
  double call_timeout_s = 120;  // per HTTP call
  double time_limit_s = 3600;   // the whole run; past it the server is killed and the run fails
  bool json = false;
  // The 1-client REST pass polls for responses instead of sleeping (see LoopbackClient): a diagnostic.
  bool client_spin = false;
  // Extra fields of the create-collection body, e.g. "\"shard_number\": 3, \"replication_factor\": 3"
  // (a cluster run).
  std::string collection_fields;
  // Extra `vjvector serve` flags for the server this benchmark starts, e.g. {"--busy-poll-us", "200"}.
  std::vector<std::string> server_args;
};

[[nodiscard]] Status RunRest(const RestOptions& options);

}  // namespace vj::bench

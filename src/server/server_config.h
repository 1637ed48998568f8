// ServerConfig: the settings of `vjvector serve`, read from (lowest to highest precedence) defaults,
// a YAML file, VJVECTOR_* environment variables, and command-line flags.
//
// YAML keys (all optional):
//   data_dir: ./data
//   http: {host: 127.0.0.1, port: 6333, threads: 0, max_body_bytes: 33554432, busy_poll_us: 0}
//   log: {format: text|json, level: trace|debug|info|warn|error}
//   cluster: {etcd: "http://127.0.0.1:2379,...", node_id: n1, advertise_url: "http://10.0.0.5:6333",
//             prefix: /vjvector, lease_ttl: 5, internal_token: <secret>}
//   writes: {queue_max_mutations: 16384, queue_max_bytes: 67108864, queue_full_wait_ms: 500,
//            timeout_ms: 30000, compaction_threads: 1}
// Environment: VJVECTOR_DATA_DIR, VJVECTOR_HTTP_HOST, VJVECTOR_HTTP_PORT, VJVECTOR_HTTP_THREADS,
// VJVECTOR_HTTP_MAX_BODY_BYTES, VJVECTOR_HTTP_BUSY_POLL_US, VJVECTOR_LOG_FORMAT, VJVECTOR_LOG_LEVEL, VJVECTOR_CLUSTER_ETCD,
// VJVECTOR_CLUSTER_NODE_ID, VJVECTOR_CLUSTER_ADVERTISE_URL, VJVECTOR_CLUSTER_PREFIX,
// VJVECTOR_CLUSTER_LEASE_TTL, VJVECTOR_CLUSTER_INTERNAL_TOKEN, VJVECTOR_WRITES_QUEUE_MAX_MUTATIONS,
// VJVECTOR_WRITES_QUEUE_MAX_BYTES, VJVECTOR_WRITES_QUEUE_FULL_WAIT_MS, VJVECTOR_WRITES_TIMEOUT_MS,
// VJVECTOR_WRITES_COMPACTION_THREADS.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace vj {

struct ServerConfig {
  std::string data_dir = "./data";
  std::string host = "127.0.0.1";
  uint16_t port = 6333;
  size_t threads = 0;  // 0 = one per core, at least 2
  size_t max_body_bytes = 32ull << 20;
  // Microseconds the I/O threads keep polling after the last request before they sleep; 0 = off
  // (io_threads.h).
  size_t busy_poll_us = 0;
  std::string log_format = "text";
  std::string log_level = "info";
  std::string etcd;            // comma-separated etcd endpoints; empty = a standalone node
  std::string node_id;         // required with etcd
  std::string advertise_url;   // how peers reach this node; empty = http://host:port
  std::string cluster_prefix = "/vjvector";
  size_t lease_ttl_s = 5;
  // Shared secret that nodes send on /internal/... requests and require from each other; empty = those
  // routes are open (keep the nodes on a private network).
  std::string internal_token;
  // Each shard's bounded write queue, the wait=true deadline and background index rebuilds
  // (CollectionOptions in collection/requests.h; docs/operations.md).
  size_t write_queue_max_mutations = 16384;
  size_t write_queue_max_bytes = size_t{64} << 20;
  size_t write_queue_full_wait_ms = 500;
  size_t write_timeout_ms = 30000;  // 0 = none
  size_t compaction_threads = 1;
};

// Settings given on the command line, keyed by the env-variable suffix ("DATA_DIR", "HTTP_PORT", ...).
using ConfigOverrides = std::map<std::string, std::string>;
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Builds the config: defaults <- YAML file (when `yaml_path` is non-empty) <- env <- flags.
// InvalidArgument naming the source and key for a bad value or an unknown YAML key; NotFound when the
// file does not exist.
StatusOr<ServerConfig> LoadServerConfig(const std::string& yaml_path, const EnvLookup& env,
                                        const ConfigOverrides& flags);

// The endpoints of ServerConfig::etcd (comma-separated); empty for a standalone node.
std::vector<std::string> EtcdEndpoints(const std::string& etcd);

// Reads the real process environment.
std::optional<std::string> ProcessEnv(const std::string& name);

}  // namespace vj

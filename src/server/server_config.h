// ServerConfig: the settings of `vjvector serve`, read from (lowest to highest precedence) defaults,
// a YAML file, VJVECTOR_* environment variables, and command-line flags.
//
// YAML keys (all optional):
//   data_dir: ./data
//   http: {host: 127.0.0.1, port: 6333, threads: 0, max_body_bytes: 33554432, busy_poll_us: 0,
//          max_connections: 1024, max_queued_requests: 256, max_buffered_body_bytes: 268435456,
//          max_pending_response_bytes: 536870912,
//          cors_origins: [https://app.example.com], allowed_hosts: [vjvector.example.com]}  (lists)
//   grpc: {port: 6334, host: <http.host>}  (0 = no gRPC port; docs/api.md "gRPC")
//   log: {format: text|json, level: trace|debug|info|warn|error}
//   cluster: {etcd: "http://127.0.0.1:2379,...", node_id: n1, p2p_port: 6335, advertise_url: "http://10.0.0.5:6335",
//             prefix: /vjvector, lease_ttl: 5, internal_token: <secret>,
//             etcd_ca_file: <pem>, etcd_cert_file: <pem>, etcd_key_file: <pem>,  (default: the tls.* files)
//             peer_names: ["vjvector-*.vjvector-headless.db.svc"]}  (list; security/peer_identity.h)
//   tls: {cert_file: <pem>, key_file: <pem>, ca_file: <pem>, client_auth: none|optional|require}
//   snapshots: {max_bytes: 1073741824}  (docs/backup.md)
//   backup: {s3: {endpoint: "https://s3.eu-west-1.amazonaws.com", region: us-east-1, access_key_id: <id>,
//            secret_access_key: <secret>}}  (docs/backup.md; also VJVECTOR_BACKUP_S3_*)
//   limits: {filter_match_values: 10000, filter_has_id: 10000, filter_clause_conditions: 1000,
//            filter_conditions: 5000, filter_depth: 32, batch_queries: 256, points_per_request: 10000,
//            limit: 10000, offset: 10000, payload_keys: 256, shard_number: 64, replication_factor: 8,
//            collections: 1000, default_timeout_s: 30, max_timeout_s: 300, sparse_vector_nnz: 16384}
//            (api/request_limits.h)
//   security: {rate_limits: {read_per_s: 0, read_burst: 0, write_per_s: 0, write_burst: 0,
//              roles: {reader: {read_per_s: .., ...}}, keys: {"<principal id>": {...}}}}
//             (security/rate_limiter.h; roles and keys are YAML only)
//   writes: {queue_max_mutations: 16384, queue_max_bytes: 67108864, queue_full_wait_ms: 500,
//            timeout_ms: 30000, compaction_threads: 1, max_concurrent_rebuilds: 2, min_free_disk_mb: 64}
//   storage: {index_snapshot_every_mutations: 50000, index_snapshot_interval_s: 300}
//   security: {api_key: <secret>, alt_api_key: <secret>, read_only_api_key: <secret>}
//   audit: {enabled: false, path: <file>, stdout: false, max_file_bytes: 104857600, max_files: 0,
//           fsync: true, hmac_key_file: <file>, queue_records: 65536, queue_full: drop|block}
//          (audit/audit_log.h; docs/compliance.md)
//   encryption: {enabled: false, master_key_file: <path>, master_key_command: <shell command>}
// Environment: VJVECTOR_DATA_DIR, VJVECTOR_HTTP_HOST, VJVECTOR_HTTP_PORT, VJVECTOR_HTTP_THREADS,
// VJVECTOR_HTTP_MAX_BODY_BYTES, VJVECTOR_HTTP_BUSY_POLL_US, VJVECTOR_HTTP_MAX_CONNECTIONS,
// VJVECTOR_HTTP_MAX_QUEUED_REQUESTS, VJVECTOR_HTTP_MAX_BUFFERED_BODY_BYTES,
// VJVECTOR_HTTP_MAX_PENDING_RESPONSE_BYTES, VJVECTOR_LOG_FORMAT, VJVECTOR_LOG_LEVEL, VJVECTOR_CLUSTER_ETCD,
// VJVECTOR_CLUSTER_NODE_ID, VJVECTOR_CLUSTER_P2P_PORT, VJVECTOR_CLUSTER_ADVERTISE_URL, VJVECTOR_CLUSTER_PREFIX,
// VJVECTOR_CLUSTER_LEASE_TTL, VJVECTOR_CLUSTER_INTERNAL_TOKEN, VJVECTOR_LIMITS_<KEY> for each limits
// key in upper case (VJVECTOR_LIMITS_BATCH_QUERIES, ...), VJVECTOR_WRITES_QUEUE_MAX_MUTATIONS,
// VJVECTOR_WRITES_QUEUE_MAX_BYTES, VJVECTOR_WRITES_QUEUE_FULL_WAIT_MS, VJVECTOR_WRITES_TIMEOUT_MS,
// VJVECTOR_WRITES_COMPACTION_THREADS, VJVECTOR_WRITES_MIN_FREE_DISK_MB,
// VJVECTOR_STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS, VJVECTOR_STORAGE_INDEX_SNAPSHOT_INTERVAL_S, VJVECTOR_SECURITY_API_KEY,
// VJVECTOR_SECURITY_ALT_API_KEY, VJVECTOR_SECURITY_READ_ONLY_API_KEY (secrets have no flags),
// VJVECTOR_SECURITY_RATE_LIMITS_{READ_PER_S,READ_BURST,WRITE_PER_S,WRITE_BURST},
// VJVECTOR_TLS_CERT_FILE, VJVECTOR_TLS_KEY_FILE, VJVECTOR_TLS_CA_FILE, VJVECTOR_TLS_CLIENT_AUTH,
// VJVECTOR_CLUSTER_ETCD_CA_FILE, VJVECTOR_CLUSTER_ETCD_CERT_FILE, VJVECTOR_CLUSTER_ETCD_KEY_FILE,
// VJVECTOR_AUDIT_<KEY> for each audit key in upper case (VJVECTOR_AUDIT_ENABLED, ...).
// List settings take a YAML list or comma-separated text (env, flags): VJVECTOR_HTTP_CORS_ORIGINS,
// VJVECTOR_HTTP_ALLOWED_HOSTS, VJVECTOR_CLUSTER_PEER_NAMES.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/request_limits.h"
#include "security/permission.h"
#include "core/status.h"
#include "security/rate_limiter.h"

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
  // Admission control of the HTTP server (http_server.h); each refuses with 503 and Retry-After.
  size_t max_connections = 1024;
  size_t max_queued_requests = 256;
  size_t max_buffered_body_bytes = 256ull << 20;
  size_t max_pending_response_bytes = 512ull << 20;
  // The Qdrant-compatible gRPC port (grpc/grpc_server.h): 0 = off. Its host: empty = `host`.
  uint16_t grpc_port = 6334;
  std::string grpc_host;
  std::string log_format = "text";
  std::string log_level = "info";
  std::string etcd;            // comma-separated etcd endpoints; empty = a standalone node
  std::string node_id;         // required with etcd
  // The peer port: node-to-node requests (/internal/...) are served there only, never on the REST port.
  // 0 = any free port (tests).
  uint16_t p2p_port = 6335;
  std::string advertise_url;   // how peers reach this node's peer port; empty = http(s)://host:p2p_port
  std::string cluster_prefix = "/vjvector";
  size_t lease_ttl_s = 5;
  // A write this node forwards to a shard's primary must be ordered there within this many ms of being
  // sent, else the primary refuses it; an unanswered one is answered after it plus max_clock_skew_ms,
  // the most the nodes' wall clocks may differ (cluster/routed_shard.h).
  size_t forward_deadline_ms = 3000;
  size_t max_clock_skew_ms = 500;
  // Shared secret that nodes send on /internal/... requests and require from each other; empty = those
  // routes are open (keep the nodes on a private network).
  std::string internal_token;
  // Which certificates are nodes on the peer port (mutual TLS): shell-glob patterns matched against a
  // certificate's CN, DNS and URI names; empty = this node's own certificate names and the members'
  // node ids (security/peer_identity.h). Reloaded on SIGHUP.
  std::vector<std::string> peer_names;
  // TLS of etcd connections (https:// endpoints); empty = the tls.* file of the same role.
  std::string etcd_ca_file;
  std::string etcd_cert_file;
  std::string etcd_key_file;
  // TLS on the REST port (server/tls_context.h), and for requests to peers in a cluster: empty
  // cert_file = plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_file;         // CAs of client certificates and of peers' certificates
  std::string tls_client_auth = "none";  // none | optional | require (needs tls_ca_file)
  // Browser policy (server/browser_policy.h): origins whose pages may call the node (CORS; empty = off)
  // and Host names accepted besides loopback names and addresses.
  std::vector<std::string> cors_origins;
  std::vector<std::string> allowed_hosts;
  // What one request may ask of the node (limits: in YAML, VJVECTOR_LIMITS_*).
  RequestLimits limits;
  // Each shard's bounded write queue, the wait=true deadline and background index rebuilds
  // (CollectionOptions in collection/requests.h; docs/operations.md).
  size_t write_queue_max_mutations = 16384;
  size_t write_queue_max_bytes = 64ull << 20;
  size_t write_queue_full_wait_ms = 500;
  size_t write_timeout_ms = 30000;  // 0 = none
  size_t compaction_threads = 1;
  size_t max_concurrent_rebuilds = 2;  // writes.max_concurrent_rebuilds: node-wide
  // Writes are refused (507) while the data directory's filesystem has less free than this (MiB).
  size_t min_free_disk_mb = 64;
  // The largest snapshot a recovery accepts (download, upload or file) and the most it may unpack to.
  uint64_t snapshot_max_bytes = 1ull << 30;
  // Background index snapshots of each shard (collection/index_snapshotter.h): after this many
  // mutations, or this many seconds after the last one when anything changed; 0 = that trigger off.
  size_t index_snapshot_every_mutations = 50000;
  size_t index_snapshot_interval_s = 300;
  // backup.s3.*: the S3-compatible storage that backups to s3:// URIs use (docs/backup.md). The secret is
  // never logged or echoed.
  std::string backup_s3_endpoint;
  std::string backup_s3_region = "us-east-1";
  std::string backup_s3_access_key_id;
  std::string backup_s3_secret_access_key;
  // Static API keys (security/static_keys.h); empty = none. api_key and alt_api_key (a second one, to
  // rotate without downtime) give everything; read_only_api_key reads every collection.
  std::string api_key;
  std::string alt_api_key;
  std::string read_only_api_key;
  // The front door (docs/security.md). A node bound to a non-loopback address with no authentication
  // configured refuses to start unless allow_unauthenticated.
  bool allow_unauthenticated = false;
  // Encryption at rest (storage/keyring.h, docs/compliance.md): with encryption_enabled, the master key
  // comes from exactly one of master_key_file (0600) or master_key_command (its stdout).
  bool encryption_enabled = false;
  std::string encryption_master_key_file;
  std::string encryption_master_key_command;
  bool metrics_public = false;  // /metrics without credentials (Prometheus without a key)
  bool jwt_rbac = false;        // Qdrant's JWT RBAC: HS256 tokens signed with api_key / alt_api_key
  // OIDC (security/oidc.h): enabled when issuer is set; jwks_url or jwks_file gives the provider's keys;
  // role_grants (YAML only) maps the token's roles to grants.
  struct Oidc {
    std::string issuer;
    std::string audience;
    std::string jwks_url;
    std::string jwks_file;
    std::string roles_claim = "realm_access.roles";
    std::string tenant_claim = "tenant";
    size_t leeway_s = 30;
    size_t jwks_min_refresh_s = 30;  // at most one JWKS fetch per this many seconds on unknown kids
    std::map<std::string, std::vector<Grant>> role_grants;
  } oidc;
  // Per-principal read and write rates (security.rate_limits; docs/security.md). All 0: unlimited.
  RateLimitSettings rate_limits;
  // The audit log (audit/audit_log.h, docs/compliance.md). audit_path empty: <data_dir>/audit/audit.log,
  // unless audit_stdout is set (then standard output only).
  bool audit_enabled = false;
  std::string audit_path;
  bool audit_stdout = false;
  uint64_t audit_max_file_bytes = 100ull << 20;
  size_t audit_max_files = 0;  // rotated files kept; 0 = all
  bool audit_fsync = true;     // fdatasync after each batch of records
  std::string audit_hmac_key_file;  // records chained with HMAC-SHA256 under the key in this file
  size_t audit_queue_records = 65536;
  std::string audit_queue_full = "drop";  // drop (counted) | block (requests wait for room)
  // Tracing (tracing/tracer.h; docs/operations.md "Tracing"): spans go to this OTLP/HTTP collector
  // (<endpoint>/v1/traces); empty = off. sample_ratio: share of new traces recorded.
  std::string tracing_otlp_endpoint;
  double tracing_sample_ratio = 1.0;
  std::string tracing_service_name = "vjvector";
};

// Settings given on the command line, keyed by the env-variable suffix ("DATA_DIR", "HTTP_PORT", ...).
using ConfigOverrides = std::map<std::string, std::string>;
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Builds the config: defaults <- YAML file (when `yaml_path` is non-empty) <- env <- flags.
// InvalidArgument naming the source and key for a bad value or an unknown YAML key; NotFound when the
// file does not exist.
StatusOr<ServerConfig> LoadServerConfig(const std::string& yaml_path, const EnvLookup& env,
                                        const ConfigOverrides& flags);

// The rules between TLS settings (cert and key together, client_auth needs ca_file, ...); LoadServerConfig
// applies them. Whether the files load is checked when the node starts (TlsContext::Load).
[[nodiscard]] Status CheckTlsSettings(const ServerConfig& config);

// The endpoints of ServerConfig::etcd (comma-separated); empty for a standalone node.
std::vector<std::string> EtcdEndpoints(const std::string& etcd);

// Reads the real process environment.
std::optional<std::string> ProcessEnv(const std::string& name);

}  // namespace vj

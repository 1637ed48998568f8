#include "server/server_config.h"

#include <cctype>
#include <cmath>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <type_traits>

#include <absl/strings/numbers.h>
#include <yaml-cpp/yaml.h>

#include "server/browser_policy.h"
#include "server/tls_context.h"

namespace vj {
namespace {

// Every setting, by its env-variable suffix, with a setter that validates the text.
using Setter = Status (*)(ServerConfig&, const std::string&);

StatusOr<uint64_t> ParseNumber(const std::string& text, uint64_t min, uint64_t max) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < min || n > max) {
    return absl::InvalidArgumentError("expected an integer from " + std::to_string(min) + " to " +
                                      std::to_string(max) + ", got \"" + text + "\"");
  }
  return n;
}

Status SetPort(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(v, 0, 65535));
  c.port = static_cast<uint16_t>(n);
  return absl::OkStatus();
}
Status SetThreads(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.threads, ParseNumber(v, 0, 1024));
  return absl::OkStatus();
}
Status SetMaxBody(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.max_body_bytes, ParseNumber(v, 1024, 1ull << 32));
  return absl::OkStatus();
}
Status SetBusyPoll(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.busy_poll_us, ParseNumber(v, 0, 10000));
  return absl::OkStatus();
}
Status SetMaxConnections(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.max_connections, ParseNumber(v, 1, 1000000));
  return absl::OkStatus();
}
Status SetMaxQueuedRequests(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.max_queued_requests, ParseNumber(v, 1, 1000000));
  return absl::OkStatus();
}
Status SetMaxBufferedBodyBytes(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.max_buffered_body_bytes, ParseNumber(v, 1024, 1ull << 40));
  return absl::OkStatus();
}
Status SetMaxPendingResponseBytes(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.max_pending_response_bytes, ParseNumber(v, 1024, 1ull << 40));
  return absl::OkStatus();
}
Status SetLogFormat(ServerConfig& c, const std::string& v) {
  if (v != "text" && v != "json") return absl::InvalidArgumentError("expected text or json, got \"" + v + "\"");
  c.log_format = v;
  return absl::OkStatus();
}
Status SetLogLevel(ServerConfig& c, const std::string& v) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (v == level) {
      c.log_level = v;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("expected trace, debug, info, warn or error, got \"" + v + "\"");
}

bool IsHttpUrl(const std::string& v) { return v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0; }

Status SetEtcd(ServerConfig& c, const std::string& v) {
  constexpr char kExpected[] = "expected http://HOST:PORT or https://HOST:PORT endpoints, got \"";
  if (v.empty()) return absl::InvalidArgumentError(std::string(kExpected) + "\"");
  for (const std::string& endpoint : EtcdEndpoints(v)) {
    if (!IsHttpUrl(endpoint)) return absl::InvalidArgumentError(kExpected + endpoint + "\"");
  }
  c.etcd = v;
  return absl::OkStatus();
}
Status SetNodeId(ServerConfig& c, const std::string& v) {
  if (v.empty() || v.size() > 128) return absl::InvalidArgumentError("must have 1 to 128 characters");
  for (char ch : v) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') {
      return absl::InvalidArgumentError("may only contain letters, digits, '.', '_' and '-'");
    }
  }
  c.node_id = v;
  return absl::OkStatus();
}
Status SetAdvertiseUrl(ServerConfig& c, const std::string& v) {
  if (!IsHttpUrl(v)) return absl::InvalidArgumentError("expected http://HOST:PORT or https://HOST:PORT");
  c.advertise_url = v;
  return absl::OkStatus();
}
Status SetP2pPort(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(uint64_t port, ParseNumber(v, 0, 65535));
  c.p2p_port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}
Status SetClusterPrefix(ServerConfig& c, const std::string& v) {
  if (v.empty() || v[0] != '/') return absl::InvalidArgumentError("must start with '/'");
  c.cluster_prefix = v;
  return absl::OkStatus();
}
Status SetLeaseTtl(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.lease_ttl_s, ParseNumber(v, 1, 600));
  return absl::OkStatus();
}

Status SetForwardDeadline(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.forward_deadline_ms, ParseNumber(v, 100, 600000));
  return absl::OkStatus();
}

Status SetMaxClockSkew(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.max_clock_skew_ms, ParseNumber(v, 0, 600000));
  return absl::OkStatus();
}

Status SetInternalToken(ServerConfig& c, const std::string& v) {
  if (v.size() < 16) return absl::InvalidArgumentError("must have at least 16 characters");
  for (char ch : v) {
    if (ch < 0x21 || ch > 0x7e) return absl::InvalidArgumentError("must be printable ASCII without spaces");
  }
  c.internal_token = v;
  return absl::OkStatus();
}

// A path to a PEM file (checked when the node starts: tls_context.h).
template <std::string ServerConfig::*Field>
Status SetPath(ServerConfig& c, const std::string& v) {
  if (v.empty()) return absl::InvalidArgumentError("must not be empty");
  c.*Field = v;
  return absl::OkStatus();
}
Status SetTlsClientAuth(ServerConfig& c, const std::string& v) {
  VJ_RETURN_IF_ERROR(ParseTlsClientAuth(v).status());
  c.tls_client_auth = v;
  return absl::OkStatus();
}

// The items of a comma-separated list, each trimmed of spaces; empty items are dropped.
std::vector<std::string> ListItems(const std::string& text) {
  std::vector<std::string> items;
  for (std::string item : EtcdEndpoints(text)) {
    const size_t first = item.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    items.push_back(item.substr(first, item.find_last_not_of(" \t") - first + 1));
  }
  return items;
}
Status SetCorsOrigins(ServerConfig& c, const std::string& v) {
  std::vector<std::string> origins = ListItems(v);
  for (const std::string& origin : origins) VJ_RETURN_IF_ERROR(ValidateCorsOrigin(origin));
  c.cors_origins = std::move(origins);
  return absl::OkStatus();
}
Status SetPeerNames(ServerConfig& c, const std::string& v) {
  std::vector<std::string> names = ListItems(v);
  for (const std::string& name : names) {
    if (name.size() > 253) return absl::InvalidArgumentError("a pattern is longer than 253 characters");
    for (char ch : name) {
      if (ch < 0x21 || ch > 0x7e) return absl::InvalidArgumentError("patterns must be printable ASCII without spaces");
    }
  }
  c.peer_names = std::move(names);
  return absl::OkStatus();
}
Status SetAllowedHosts(ServerConfig& c, const std::string& v) {
  std::vector<std::string> hosts = ListItems(v);
  for (const std::string& host : hosts) VJ_RETURN_IF_ERROR(ValidateAllowedHost(host));
  c.allowed_hosts = std::move(hosts);
  return absl::OkStatus();
}

// limits.*: counts are at least 1; timeouts are seconds (0: no default timeout / no maximum).
template <auto Field, uint64_t kMax>
Status SetLimit(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(v, 1, kMax));
  c.limits.*Field = static_cast<std::remove_reference_t<decltype(c.limits.*Field)>>(n);
  return absl::OkStatus();
}
template <auto Field, uint64_t kMax>
Status SetFilterLimit(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(v, 1, kMax));
  c.limits.filter.*Field = static_cast<size_t>(n);
  return absl::OkStatus();
}
template <auto Field>
Status SetTimeoutLimit(ServerConfig& c, const std::string& v) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || end != v.data() + v.size() || !(seconds >= 0) || seconds > 86400) {
    return absl::InvalidArgumentError("expected seconds from 0 to 86400, got \"" + v + "\"");
  }
  c.limits.*Field = seconds;
  return absl::OkStatus();
}

Status SetWriteQueueMaxMutations(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.write_queue_max_mutations, ParseNumber(v, 1, 1ull << 30));
  return absl::OkStatus();
}
Status SetWriteQueueMaxBytes(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.write_queue_max_bytes, ParseNumber(v, 1ull << 16, 1ull << 40));
  return absl::OkStatus();
}
Status SetWriteQueueFullWait(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.write_queue_full_wait_ms, ParseNumber(v, 0, 60000));
  return absl::OkStatus();
}
Status SetWriteTimeout(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.write_timeout_ms, ParseNumber(v, 0, 3600000));
  return absl::OkStatus();
}
Status SetSnapshotMaxBytes(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.snapshot_max_bytes, ParseNumber(v, 1 << 20, 1ull << 44));
  return absl::OkStatus();
}
Status SetCompactionThreads(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.compaction_threads, ParseNumber(v, 1, 256));
  return absl::OkStatus();
}

Status SetMaxConcurrentRebuilds(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.max_concurrent_rebuilds, ParseNumber(v, 1, 1024));
  return absl::OkStatus();
}

Status SetMinFreeDiskMb(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.min_free_disk_mb, ParseNumber(v, 0, 1ull << 30));
  return absl::OkStatus();
}
Status SetIndexSnapshotEveryMutations(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.index_snapshot_every_mutations, ParseNumber(v, 0, 1ull << 40));
  return absl::OkStatus();
}
Status SetIndexSnapshotInterval(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.index_snapshot_interval_s, ParseNumber(v, 0, 365ull * 86400));
  return absl::OkStatus();
}

// security.*_api_key: secrets, so messages never quote them. A key starting with "vjk_" would be taken
// for a managed key (security/security_store.h) and never match.
template <std::string ServerConfig::*Field>
Status SetApiKey(ServerConfig& c, const std::string& v) {
  if (v.size() < 16 || v.size() > 4096) return absl::InvalidArgumentError("must have 16 to 4096 characters");
  for (char ch : v) {
    if (ch < 0x21 || ch > 0x7e) return absl::InvalidArgumentError("must be printable ASCII without spaces");
  }
  if (v.rfind("vjk_", 0) == 0) {
    return absl::InvalidArgumentError("must not start with vjk_ (the prefix of managed keys)");
  }
  c.*Field = v;
  return absl::OkStatus();
}

template <bool ServerConfig::*Field>
Status SetFlag(ServerConfig& c, const std::string& v) {
  if (v == "true" || v == "1") {
    c.*Field = true;
  } else if (v == "false" || v == "0") {
    c.*Field = false;
  } else {
    return absl::InvalidArgumentError("expected true or false, got \"" + v.substr(0, 16) + "\"");
  }
  return absl::OkStatus();
}

template <std::string ServerConfig::Oidc::*Field>
Status SetOidcText(ServerConfig& c, const std::string& v) {
  if (v.size() > 4096) return absl::InvalidArgumentError("longer than 4096 characters");
  c.oidc.*Field = v;
  return absl::OkStatus();
}

Status SetOidcUrl(ServerConfig& c, const std::string& v) {
  if (!v.empty() && !IsHttpUrl(v)) {
    return absl::InvalidArgumentError("expected an https:// (or http://) URL");
  }
  return SetOidcText<&ServerConfig::Oidc::jwks_url>(c, v);
}

Status SetOidcLeeway(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.oidc.leeway_s, ParseNumber(v, 0, 3600));
  return absl::OkStatus();
}

Status SetOidcMinRefresh(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.oidc.jwks_min_refresh_s, ParseNumber(v, 1, 3600));
  return absl::OkStatus();
}

// security.rate_limits.*: tokens a second and bucket sizes, 0 to 10^9 (0: unlimited / the rate). The
// roles and keys maps (YAML only) start from these defaults, so they are read after them (ApplyYaml).
template <RateLimit OperationLimits::*Op, double RateLimit::*Field>
Status SetRate(ServerConfig& c, const std::string& v) {
  double x = 0;
  if (!absl::SimpleAtod(v, &x) || !std::isfinite(x) || x < 0 || x > 1e9) {
    return absl::InvalidArgumentError("expected a number from 0 to 1000000000, got \"" + v + "\"");
  }
  c.rate_limits.defaults.*Op.*Field = x;
  return absl::OkStatus();
}

Status SetAuditMaxFileBytes(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.audit_max_file_bytes, ParseNumber(v, 4096, 1ull << 40));
  return absl::OkStatus();
}
Status SetAuditMaxFiles(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.audit_max_files, ParseNumber(v, 0, 1000000));
  return absl::OkStatus();
}
Status SetAuditQueueRecords(ServerConfig& c, const std::string& v) {
  VJ_ASSIGN_OR_RETURN(c.audit_queue_records, ParseNumber(v, 16, 1ull << 24));
  return absl::OkStatus();
}
Status SetAuditQueueFull(ServerConfig& c, const std::string& v) {
  if (v != "drop" && v != "block") return absl::InvalidArgumentError("expected drop or block, got \"" + v.substr(0, 16) + "\"");
  c.audit_queue_full = v;
  return absl::OkStatus();
}

Status SetTracingEndpoint(ServerConfig& c, const std::string& v) {
  if (!v.empty() && !IsHttpUrl(v)) {
    return absl::InvalidArgumentError("expected an http:// or https:// URL (the collector's OTLP/HTTP base), got \"" +
                                      v.substr(0, 64) + "\"");
  }
  std::string endpoint = v;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  c.tracing_otlp_endpoint = endpoint;
  return absl::OkStatus();
}
Status SetTracingSampleRatio(ServerConfig& c, const std::string& v) {
  double x = 0;
  if (!absl::SimpleAtod(v, &x) || !std::isfinite(x) || x < 0 || x > 1) {
    return absl::InvalidArgumentError("expected a number from 0 to 1, got \"" + v.substr(0, 32) + "\"");
  }
  c.tracing_sample_ratio = x;
  return absl::OkStatus();
}
Status SetTracingServiceName(ServerConfig& c, const std::string& v) {
  if (v.empty() || v.size() > 128) return absl::InvalidArgumentError("expected 1 to 128 characters");
  c.tracing_service_name = v;
  return absl::OkStatus();
}

struct Setting {
  const char* env;        // suffix after VJVECTOR_
  const char* yaml_path;  // dotted YAML key
  Setter set;
  bool list = false;      // a YAML list is accepted and passed to `set` comma-separated
};

constexpr Setting kSettings[] = {
    {"DATA_DIR", "data_dir", [](ServerConfig& c, const std::string& v) {
       if (v.empty()) return absl::InvalidArgumentError("must not be empty");
       c.data_dir = v;
       return absl::OkStatus();
     }},
    {"HTTP_HOST", "http.host", [](ServerConfig& c, const std::string& v) {
       if (v.empty()) return absl::InvalidArgumentError("must not be empty");
       c.host = v;
       return absl::OkStatus();
     }},
    {"HTTP_PORT", "http.port", SetPort},
    {"HTTP_THREADS", "http.threads", SetThreads},
    {"HTTP_MAX_BODY_BYTES", "http.max_body_bytes", SetMaxBody},
    {"HTTP_BUSY_POLL_US", "http.busy_poll_us", SetBusyPoll},
    {"HTTP_MAX_CONNECTIONS", "http.max_connections", SetMaxConnections},
    {"HTTP_MAX_QUEUED_REQUESTS", "http.max_queued_requests", SetMaxQueuedRequests},
    {"HTTP_MAX_BUFFERED_BODY_BYTES", "http.max_buffered_body_bytes", SetMaxBufferedBodyBytes},
    {"HTTP_MAX_PENDING_RESPONSE_BYTES", "http.max_pending_response_bytes", SetMaxPendingResponseBytes},
    {"GRPC_PORT", "grpc.port", [](ServerConfig& c, const std::string& v) {
       VJ_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(v, 0, 65535));
       c.grpc_port = static_cast<uint16_t>(n);
       return absl::OkStatus();
     }},
    {"GRPC_HOST", "grpc.host", [](ServerConfig& c, const std::string& v) {
       c.grpc_host = v;
       return absl::OkStatus();
     }},
    {"LOG_FORMAT", "log.format", SetLogFormat},
    {"LOG_LEVEL", "log.level", SetLogLevel},
    {"CLUSTER_ETCD", "cluster.etcd", SetEtcd},
    {"CLUSTER_NODE_ID", "cluster.node_id", SetNodeId},
    {"CLUSTER_ADVERTISE_URL", "cluster.advertise_url", SetAdvertiseUrl},
    {"CLUSTER_P2P_PORT", "cluster.p2p_port", SetP2pPort},
    {"CLUSTER_PREFIX", "cluster.prefix", SetClusterPrefix},
    {"CLUSTER_LEASE_TTL", "cluster.lease_ttl", SetLeaseTtl},
    {"CLUSTER_FORWARD_DEADLINE_MS", "cluster.forward_deadline_ms", SetForwardDeadline},
    {"CLUSTER_MAX_CLOCK_SKEW_MS", "cluster.max_clock_skew_ms", SetMaxClockSkew},
    {"CLUSTER_INTERNAL_TOKEN", "cluster.internal_token", SetInternalToken},
    {"CLUSTER_ETCD_CA_FILE", "cluster.etcd_ca_file", SetPath<&ServerConfig::etcd_ca_file>},
    {"CLUSTER_ETCD_CERT_FILE", "cluster.etcd_cert_file", SetPath<&ServerConfig::etcd_cert_file>},
    {"CLUSTER_ETCD_KEY_FILE", "cluster.etcd_key_file", SetPath<&ServerConfig::etcd_key_file>},
    {"TLS_CERT_FILE", "tls.cert_file", SetPath<&ServerConfig::tls_cert_file>},
    {"TLS_KEY_FILE", "tls.key_file", SetPath<&ServerConfig::tls_key_file>},
    {"TLS_CA_FILE", "tls.ca_file", SetPath<&ServerConfig::tls_ca_file>},
    {"TLS_CLIENT_AUTH", "tls.client_auth", SetTlsClientAuth},
    {"HTTP_CORS_ORIGINS", "http.cors_origins", SetCorsOrigins, true},
    {"HTTP_ALLOWED_HOSTS", "http.allowed_hosts", SetAllowedHosts, true},
    {"CLUSTER_PEER_NAMES", "cluster.peer_names", SetPeerNames, true},
    {"LIMITS_FILTER_MATCH_VALUES", "limits.filter_match_values",
     SetFilterLimit<&FilterLimits::max_match_values, 10000000>},
    {"LIMITS_FILTER_HAS_ID", "limits.filter_has_id", SetFilterLimit<&FilterLimits::max_has_id, 10000000>},
    {"LIMITS_FILTER_CLAUSE_CONDITIONS", "limits.filter_clause_conditions",
     SetFilterLimit<&FilterLimits::max_clause_conditions, 1000000>},
    {"LIMITS_FILTER_CONDITIONS", "limits.filter_conditions",
     SetFilterLimit<&FilterLimits::max_conditions, 1000000>},
    // The JSON parser nests at most 64 levels deep; a filter level is at least two of them.
    {"LIMITS_FILTER_DEPTH", "limits.filter_depth", SetFilterLimit<&FilterLimits::max_depth, 32>},
    {"LIMITS_BATCH_QUERIES", "limits.batch_queries", SetLimit<&RequestLimits::max_batch_queries, 100000>},
    {"LIMITS_POINTS_PER_REQUEST", "limits.points_per_request",
     SetLimit<&RequestLimits::max_points_per_request, 10000000>},
    {"LIMITS_LIMIT", "limits.limit", SetLimit<&RequestLimits::max_limit, 10000000>},
    {"LIMITS_OFFSET", "limits.offset", SetLimit<&RequestLimits::max_offset, 10000000>},
    {"LIMITS_PAYLOAD_KEYS", "limits.payload_keys", SetLimit<&RequestLimits::max_payload_keys, 100000>},
    // Stored records are checked against kMaxSparseNnzHardLimit (core/sparse_vector.h): never above it.
    {"LIMITS_SPARSE_VECTOR_NNZ", "limits.sparse_vector_nnz", SetLimit<&RequestLimits::max_sparse_nnz, 1048576>},
    // A prefetch level is at least two levels of the JSON parser's 64.
    {"LIMITS_PREFETCH_DEPTH", "limits.prefetch_depth", SetLimit<&RequestLimits::max_prefetch_depth, 16>},
    {"LIMITS_PREFETCHES", "limits.prefetches", SetLimit<&RequestLimits::max_prefetches, 100000>},
    {"LIMITS_QUERY_CANDIDATES", "limits.query_candidates",
     SetLimit<&RequestLimits::max_query_candidates, 10000000>},
    {"LIMITS_RECOMMEND_EXAMPLES", "limits.recommend_examples",
     SetLimit<&RequestLimits::max_recommend_examples, 100000>},
    // The collection config format's own bounds (collection/collection_config.cc).
    {"LIMITS_SHARD_NUMBER", "limits.shard_number", SetLimit<&RequestLimits::max_shard_number, 1024>},
    {"LIMITS_REPLICATION_FACTOR", "limits.replication_factor",
     SetLimit<&RequestLimits::max_replication_factor, 16>},
    {"LIMITS_COLLECTIONS", "limits.collections", SetLimit<&RequestLimits::max_collections, 1000000>},
    {"LIMITS_DEFAULT_TIMEOUT_S", "limits.default_timeout_s", SetTimeoutLimit<&RequestLimits::default_timeout_s>},
    {"LIMITS_MAX_TIMEOUT_S", "limits.max_timeout_s", SetTimeoutLimit<&RequestLimits::max_timeout_s>},
    {"WRITES_QUEUE_MAX_MUTATIONS", "writes.queue_max_mutations", SetWriteQueueMaxMutations},
    {"WRITES_QUEUE_MAX_BYTES", "writes.queue_max_bytes", SetWriteQueueMaxBytes},
    {"WRITES_QUEUE_FULL_WAIT_MS", "writes.queue_full_wait_ms", SetWriteQueueFullWait},
    {"WRITES_TIMEOUT_MS", "writes.timeout_ms", SetWriteTimeout},
    {"WRITES_COMPACTION_THREADS", "writes.compaction_threads", SetCompactionThreads},
    {"WRITES_MAX_CONCURRENT_REBUILDS", "writes.max_concurrent_rebuilds", SetMaxConcurrentRebuilds},
    {"WRITES_MIN_FREE_DISK_MB", "writes.min_free_disk_mb", SetMinFreeDiskMb},
    {"SNAPSHOTS_MAX_BYTES", "snapshots.max_bytes", SetSnapshotMaxBytes},
    {"BACKUP_S3_ENDPOINT", "backup.s3.endpoint", SetPath<&ServerConfig::backup_s3_endpoint>},
    {"BACKUP_S3_REGION", "backup.s3.region", SetPath<&ServerConfig::backup_s3_region>},
    {"BACKUP_S3_ACCESS_KEY_ID", "backup.s3.access_key_id", SetPath<&ServerConfig::backup_s3_access_key_id>},
    {"BACKUP_S3_SECRET_ACCESS_KEY", "backup.s3.secret_access_key", SetPath<&ServerConfig::backup_s3_secret_access_key>},
    {"STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS", "storage.index_snapshot_every_mutations",
     SetIndexSnapshotEveryMutations},
    {"STORAGE_INDEX_SNAPSHOT_INTERVAL_S", "storage.index_snapshot_interval_s", SetIndexSnapshotInterval},
    {"SECURITY_API_KEY", "security.api_key", SetApiKey<&ServerConfig::api_key>},
    {"SECURITY_ALT_API_KEY", "security.alt_api_key", SetApiKey<&ServerConfig::alt_api_key>},
    {"SECURITY_READ_ONLY_API_KEY", "security.read_only_api_key", SetApiKey<&ServerConfig::read_only_api_key>},
    {"SECURITY_ALLOW_UNAUTHENTICATED", "security.allow_unauthenticated", SetFlag<&ServerConfig::allow_unauthenticated>},
    {"ENCRYPTION_ENABLED", "encryption.enabled", SetFlag<&ServerConfig::encryption_enabled>},
    {"ENCRYPTION_MASTER_KEY_FILE", "encryption.master_key_file", SetPath<&ServerConfig::encryption_master_key_file>},
    {"ENCRYPTION_MASTER_KEY_COMMAND", "encryption.master_key_command",
     SetPath<&ServerConfig::encryption_master_key_command>},
    {"SECURITY_METRICS_PUBLIC", "security.metrics_public", SetFlag<&ServerConfig::metrics_public>},
    {"SECURITY_JWT_RBAC", "security.jwt_rbac", SetFlag<&ServerConfig::jwt_rbac>},
    {"SECURITY_OIDC_ISSUER", "security.oidc.issuer", SetOidcText<&ServerConfig::Oidc::issuer>},
    {"SECURITY_OIDC_AUDIENCE", "security.oidc.audience", SetOidcText<&ServerConfig::Oidc::audience>},
    {"SECURITY_OIDC_JWKS_URL", "security.oidc.jwks_url", SetOidcUrl},
    {"SECURITY_OIDC_JWKS_FILE", "security.oidc.jwks_file", SetOidcText<&ServerConfig::Oidc::jwks_file>},
    {"SECURITY_OIDC_ROLES_CLAIM", "security.oidc.roles_claim", SetOidcText<&ServerConfig::Oidc::roles_claim>},
    {"SECURITY_OIDC_TENANT_CLAIM", "security.oidc.tenant_claim", SetOidcText<&ServerConfig::Oidc::tenant_claim>},
    {"SECURITY_OIDC_LEEWAY_S", "security.oidc.leeway_s", SetOidcLeeway},
    {"SECURITY_OIDC_JWKS_MIN_REFRESH_S", "security.oidc.jwks_min_refresh_s", SetOidcMinRefresh},
    {"SECURITY_RATE_LIMITS_READ_PER_S", "security.rate_limits.read_per_s",
     SetRate<&OperationLimits::read, &RateLimit::per_s>},
    {"SECURITY_RATE_LIMITS_READ_BURST", "security.rate_limits.read_burst",
     SetRate<&OperationLimits::read, &RateLimit::burst>},
    {"SECURITY_RATE_LIMITS_WRITE_PER_S", "security.rate_limits.write_per_s",
     SetRate<&OperationLimits::write, &RateLimit::per_s>},
    {"SECURITY_RATE_LIMITS_WRITE_BURST", "security.rate_limits.write_burst",
     SetRate<&OperationLimits::write, &RateLimit::burst>},
    {"AUDIT_ENABLED", "audit.enabled", SetFlag<&ServerConfig::audit_enabled>},
    {"AUDIT_PATH", "audit.path", SetPath<&ServerConfig::audit_path>},
    {"AUDIT_STDOUT", "audit.stdout", SetFlag<&ServerConfig::audit_stdout>},
    {"AUDIT_MAX_FILE_BYTES", "audit.max_file_bytes", SetAuditMaxFileBytes},
    {"AUDIT_MAX_FILES", "audit.max_files", SetAuditMaxFiles},
    {"AUDIT_FSYNC", "audit.fsync", SetFlag<&ServerConfig::audit_fsync>},
    {"AUDIT_HMAC_KEY_FILE", "audit.hmac_key_file", SetPath<&ServerConfig::audit_hmac_key_file>},
    {"AUDIT_QUEUE_RECORDS", "audit.queue_records", SetAuditQueueRecords},
    {"AUDIT_QUEUE_FULL", "audit.queue_full", SetAuditQueueFull},
    {"TRACING_OTLP_ENDPOINT", "tracing.otlp_endpoint", SetTracingEndpoint},
    {"TRACING_SAMPLE_RATIO", "tracing.sample_ratio", SetTracingSampleRatio},
    {"TRACING_SERVICE_NAME", "tracing.service_name", SetTracingServiceName},
};

// The YAML-only maps of security.rate_limits: name -> {read_per_s, read_burst, write_per_s, write_burst},
// each entry starting from the defaults.
constexpr const char* kRateMaps[] = {"security.rate_limits.roles", "security.rate_limits.keys",
                                     "security.oidc.role_grants"};

// security.oidc.role_grants: role name -> [{collections: PATTERN, level: read|write|manage|admin}].
Status ApplyRoleGrants(const YAML::Node& node, const std::string& where, ServerConfig& config) {
  if (!node.IsMap()) return absl::InvalidArgumentError(where + ": expected a mapping");
  for (const auto& entry : node) {
    const std::string role = entry.first.as<std::string>();
    const std::string at = where + "." + role;
    if (role.empty() || role.size() > 256) return absl::InvalidArgumentError(at + ": names have 1 to 256 characters");
    if (!entry.second.IsSequence()) return absl::InvalidArgumentError(at + ": expected a list of grants");
    std::vector<Grant> grants;
    for (const auto& g : entry.second) {
      if (!g.IsMap()) return absl::InvalidArgumentError(at + ": a grant is {collections, level}");
      Grant grant;
      for (const auto& field : g) {
        const std::string key = field.first.as<std::string>();
        if (!field.second.IsScalar()) return absl::InvalidArgumentError(at + "." + key + ": expected a value");
        const std::string value = field.second.Scalar();
        if (key == "collections") {
          if (!ValidCollectionPattern(value)) return absl::InvalidArgumentError(at + ".collections: bad pattern");
          grant.collections = value;
        } else if (key == "level") {
          std::optional<Permission> level = ParsePermission(value);
          if (!level || *level == Permission::kPublic || *level == Permission::kInternal) {
            return absl::InvalidArgumentError(at + ".level: expected read, write, manage or admin");
          }
          grant.level = *level;
        } else {
          return absl::InvalidArgumentError(at + ": unknown key " + key);
        }
      }
      grants.push_back(std::move(grant));
    }
    config.oidc.role_grants[role] = std::move(grants);
  }
  return absl::OkStatus();
}

Status ApplyRateMap(const YAML::Node& node, const std::string& where, ServerConfig& config,
                    std::map<std::string, OperationLimits>* out) {
  if (!node.IsMap()) return absl::InvalidArgumentError(where + ": expected a mapping");
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    const std::string at = where + "." + name;
    if (name.empty() || name.size() > 256) return absl::InvalidArgumentError(at + ": names have 1 to 256 characters");
    if (!entry.second.IsMap()) return absl::InvalidArgumentError(at + ": expected a mapping");
    ServerConfig scratch;
    scratch.rate_limits.defaults = config.rate_limits.defaults;
    for (const auto& field : entry.second) {
      const std::string key = field.first.as<std::string>();
      const Setting* found = nullptr;
      for (const Setting& s : kSettings) {
        if (std::string(s.yaml_path) == "security.rate_limits." + key) found = &s;
      }
      if (found == nullptr) return absl::InvalidArgumentError(at + ": unknown key " + key);
      if (!field.second.IsScalar()) return absl::InvalidArgumentError(at + "." + key + ": expected a value");
      VJ_RETURN_IF_ERROR(WithContext(found->set(scratch, field.second.Scalar()), at + "." + key));
    }
    (*out)[name] = scratch.rate_limits.defaults;
  }
  return absl::OkStatus();
}

// The YAML node at a dotted path ("security.rate_limits.read_per_s"); undefined when absent.
YAML::Node NodeAt(const YAML::Node& root, const std::string& dotted) {
  YAML::Node node;
  node.reset(root);
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& current = node;
    YAML::Node next = current[part];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    node.reset(next);
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
}

// Rejects keys that name no setting, at any depth: a typo must not silently leave a default in force.
Status CheckKnownYamlKeys(const YAML::Node& node, const std::string& prefix, const std::string& path) {
  for (const auto& entry : node) {
    const std::string full = (prefix.empty() ? "" : prefix + ".") + entry.first.as<std::string>();
    bool setting = false, section = false, map = false;
    for (const Setting& s : kSettings) {
      setting = setting || full == s.yaml_path;
      section = section || std::string(s.yaml_path).rfind(full + ".", 0) == 0;
    }
    for (const char* m : kRateMaps) map = map || full == m;
    if (setting || map) continue;
    if (!section) return absl::InvalidArgumentError("config file " + path + ": unknown key " + full);
    if (!entry.second.IsMap()) {
      return absl::InvalidArgumentError("config file " + path + ": " + full + ": expected a mapping");
    }
    VJ_RETURN_IF_ERROR(CheckKnownYamlKeys(entry.second, full, path));
  }
  return absl::OkStatus();
}

Status ApplyYaml(const std::string& path, ServerConfig& config) {
  if (!std::filesystem::exists(path)) return absl::NotFoundError("config file " + path + " not found");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError("config file " + path + ": " + e.what());
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) return absl::InvalidArgumentError("config file " + path + ": expected a mapping");
  VJ_RETURN_IF_ERROR(CheckKnownYamlKeys(root, "", path));
  for (const Setting& s : kSettings) {
    std::string dotted = s.yaml_path;
    YAML::Node node = NodeAt(root, dotted);
    if (!node.IsDefined() || node.IsNull()) continue;
    if (s.list && node.IsSequence()) {
      std::string joined;
      for (const auto& item : node) {
        if (!item.IsScalar()) {
          return absl::InvalidArgumentError("config file " + path + ": " + dotted + ": expected a list of values");
        }
        joined += (joined.empty() ? "" : ",") + item.Scalar();
      }
      Status st = s.set(config, joined);
      if (!st.ok()) return WithContext(st, "config file " + path + ": " + dotted);
      continue;
    }
    if (!node.IsScalar()) {
      return absl::InvalidArgumentError("config file " + path + ": " + dotted + ": expected a value");
    }
    Status st = s.set(config, node.Scalar());
    if (!st.ok()) return WithContext(st, "config file " + path + ": " + dotted);
  }
  // After the defaults they start from (environment overrides of the defaults do not reach them).
  for (const char* m : kRateMaps) {
    YAML::Node node = NodeAt(root, m);
    if (!node.IsDefined() || node.IsNull()) continue;
    if (std::string(m) == "security.oidc.role_grants") {
      VJ_RETURN_IF_ERROR(WithContext(ApplyRoleGrants(node, m, config), "config file " + path));
      continue;
    }
    auto* out = std::string(m).ends_with(".roles") ? &config.rate_limits.roles : &config.rate_limits.keys;
    VJ_RETURN_IF_ERROR(WithContext(ApplyRateMap(node, m, config, out), "config file " + path));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> EtcdEndpoints(const std::string& etcd) {
  std::vector<std::string> out;
  if (etcd.empty()) return out;
  for (size_t start = 0;;) {
    const size_t comma = etcd.find(',', start);
    out.push_back(etcd.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

StatusOr<ServerConfig> LoadServerConfig(const std::string& yaml_path, const EnvLookup& env,
                                        const ConfigOverrides& flags) {
  ServerConfig config;
  if (!yaml_path.empty()) VJ_RETURN_IF_ERROR(ApplyYaml(yaml_path, config));
  for (const Setting& s : kSettings) {
    const std::string name = std::string("VJVECTOR_") + s.env;
    if (std::optional<std::string> v = env(name)) {
      VJ_RETURN_IF_ERROR(WithContext(s.set(config, *v), "environment " + name));
    }
  }
  for (const auto& [key, value] : flags) {
    const Setting* found = nullptr;
    for (const Setting& s : kSettings) {
      if (key == s.env) found = &s;
    }
    if (found == nullptr) return absl::InvalidArgumentError("unknown setting " + key);
    VJ_RETURN_IF_ERROR(WithContext(found->set(config, value), "flag for " + std::string(found->yaml_path)));
  }
  if (config.max_buffered_body_bytes < config.max_body_bytes) {
    // Every body of the largest allowed size would be refused for load.
    return absl::InvalidArgumentError(
        "http.max_buffered_body_bytes (" + std::to_string(config.max_buffered_body_bytes) +
        ") must be at least http.max_body_bytes (" + std::to_string(config.max_body_bytes) + ")");
  }
  // The read-only key must not also be a full key (which principal would it be?).
  if (!config.read_only_api_key.empty() &&
      (config.read_only_api_key == config.api_key || config.read_only_api_key == config.alt_api_key)) {
    return absl::InvalidArgumentError("security.read_only_api_key must differ from security.api_key and "
                                      "security.alt_api_key");
  }
  VJ_RETURN_IF_ERROR(CheckTlsSettings(config));
  return config;
}

Status CheckTlsSettings(const ServerConfig& config) {
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls.cert_file and tls.key_file must be set together");
  }
  if (config.tls_client_auth != "none" && config.tls_ca_file.empty()) {
    return absl::InvalidArgumentError("tls.client_auth " + config.tls_client_auth + " needs tls.ca_file");
  }
  if (config.tls_client_auth != "none" && config.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("tls.client_auth " + config.tls_client_auth +
                                      " needs TLS: set tls.cert_file and tls.key_file");
  }
  if (!config.etcd.empty() && !config.tls_cert_file.empty() && config.tls_ca_file.empty()) {
    // Peers' certificates are verified against tls.ca_file: without it no node could reach another.
    return absl::InvalidArgumentError("a cluster node with TLS (tls.cert_file) needs tls.ca_file to verify its peers");
  }
  if (config.etcd_cert_file.empty() != config.etcd_key_file.empty()) {
    return absl::InvalidArgumentError("cluster.etcd_cert_file and cluster.etcd_key_file must be set together");
  }
  if (!config.advertise_url.empty() && config.advertise_url.rfind("https://", 0) == 0 &&
      config.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("cluster.advertise_url is https:// but TLS is off (set tls.cert_file)");
  }
  return absl::OkStatus();
}

}  // namespace vj

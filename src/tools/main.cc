// vjvector: the server binary. `vjvector serve` runs a node; `vjvector version` prints the version.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <absl/strings/str_cat.h>

#include "api/error_mapping.h"
#include "api/replication_route.h"
#include "api/rest_api.h"
#include "api/tenant_scope.h"
#include "core/retry_after.h"
#include "api/value_exists.h"
#include "audit/audit_verify.h"
#include "cluster/cluster_node.h"
#include "cluster/etcd_client.h"
#include "cluster/etcd_security_backend.h"
#include "cluster/membership.h"
#include "cluster/http_client.h"
#include "collection/database.h"
#include "collection/rebuild_slots.h"
#include "collection/snapshot_store.h"
#include "core/crash_point.h"
#include "storage/keyring.h"
#include "storage/point_store.h"
#include "core/distance.h"
#include "security/local_state_file.h"
#include "security/peer_identity.h"
#include "security/security_store.h"
#include "server/audit_hook.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/browser_policy.h"
#include "server/config_reload.h"
#include "server/front_door_auth.h"
#include "server/request_pipeline.h"
#include "security/rate_limiter.h"
#include "server/server_config.h"
#include "server/tls_context.h"
#include "grpc/grpc_server.h"
#include "server/tracing_setup.h"
#include "storage/power_loss_fs.h"
#include "tools/backup_cli.h"

namespace {

constexpr const char* kVersion = "0.1.0";

// %* in a log pattern: the message escaped for a JSON string.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    for (char c : msg.payload) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

// %& in a log pattern: the request the logging thread serves (tracing/tracer.h's current context):
// its request id and, while tracing is on, its trace id. Empty outside a request. Both are plain
// tokens (the pipeline keeps only safe request ids), so neither needs escaping.
class RequestIds : public spdlog::custom_flag_formatter {
 public:
  explicit RequestIds(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string& request_id = vj::CurrentRequestId();
    const vj::TraceContext& trace = vj::CurrentTraceContext();
    if (!request_id.empty()) Append(dest, "request_id", request_id);
    if (trace.valid()) Append(dest, "trace_id", trace.TraceIdHex());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<RequestIds>(json_); }

 private:
  void Append(spdlog::memory_buf_t& dest, std::string_view key, std::string_view value) const {
    dest.append(std::string_view(json_ ? ",\"" : " "));
    dest.append(key);
    dest.append(std::string_view(json_ ? "\":\"" : "="));
    dest.append(value);
    if (json_) dest.push_back('"');
  }
  const bool json_;
};

void SetUpLogging(const vj::ServerConfig& config) {
  auto logger = spdlog::stderr_logger_mt("vjvector");
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (config.log_format == "json") {
    formatter->add_flag<JsonEscapedMessage>('*');
    formatter->add_flag<RequestIds>('&', true).set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%*"%&})");
  } else {
    formatter->add_flag<RequestIds>('&', false).set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v%&");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_default_logger(logger);
}

double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

void DeclareMetrics(vj::Metrics& metrics) {
  metrics.DeclareGauge("vjvector_collection_points", "Points stored per collection.");
  metrics.DeclareGauge("vjvector_collection_load_seconds",
                       "Time the last start-up spent loading each collection and building its indexes.");
  metrics.DeclareGauge("vjvector_recovery_seconds", "Time the last start-up spent loading all collections.");
  metrics.DeclareGauge("vjvector_collections", "Number of collections.");
  metrics.DeclareGauge("vjvector_resident_memory_bytes", "Resident set size of the process.");
  metrics.DeclareGauge("vjvector_ready", "1 once every collection is loaded.");
  metrics.DeclareGauge("vjvector_storage_write_blocked",
                       "Shard stores refusing writes because the disk is full (0 normally).");
  metrics.DeclareGauge("vjvector_quarantined_records",
                       "Point records held in quarantine because they did not decode at start-up.");
}

// Raises the soft limit on open files to the hard one: every connection, shard and RocksDB table file
// holds a descriptor, and the usual soft limit (1024) is below what http.max_connections allows.
void RaiseFileLimit(size_t max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) (void)getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 2 * max_connections + 1024) {
    spdlog::warn("the open-file limit ({}) is low for http.max_connections {}: accepts may fail with "
                 "'too many open files' before the connection limit refuses clients politely",
                 static_cast<uint64_t>(limit.rlim_cur), max_connections);
  }
}

// A per-start prefix of generated request ids: ids of different nodes and restarts differ.
std::string RequestIdNonce() {
  std::random_device random;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", random());
  return buf;
}

// The node an audit record names: cluster.node_id, else the host's name.
std::string AuditNodeName(const vj::ServerConfig& config) {
  if (!config.node_id.empty()) return config.node_id;
  char host[256] = {};
  return ::gethostname(host, sizeof host - 1) == 0 ? std::string(host) : std::string("localhost");
}

// `vjvector audit verify`: 0 when the chain holds, 1 (naming the first broken record) when it does not.
int VerifyAudit(const std::vector<std::string>& arguments, const std::string& key_file) {
  std::string key;
  if (!key_file.empty()) {
    vj::StatusOr<std::string> read = vj::ReadAuditKeyFile(key_file);
    if (!read.ok()) {
      std::fprintf(stderr, "vjvector audit verify: %s\n", std::string(read.status().message()).c_str());
      return 1;
    }
    key = std::move(*read);
  }
  vj::StatusOr<std::vector<std::string>> files = vj::AuditFilesInOrder(arguments);
  if (!files.ok()) {
    std::fprintf(stderr, "vjvector audit verify: %s\n", std::string(files.status().message()).c_str());
    return 1;
  }
  const vj::AuditVerifyResult result = vj::VerifyAuditFiles(*files, key);
  std::printf("%s\n", vj::DescribeAuditVerifyResult(result).c_str());
  return result.ok ? 0 : 1;
}

// How long /readyz waits for a cluster node's replicas to catch up before reporting ready anyway.
constexpr auto kCatchUpWait = std::chrono::seconds(30);

void DeclareClusterMetrics(vj::Metrics& metrics) {
  metrics.DeclareGauge("vjvector_cluster_peers", "Live nodes in the cluster, this one included.");
  metrics.DeclareGauge("vjvector_cluster_shard_term", "Term of each shard's primary.");
  metrics.DeclareGauge("vjvector_cluster_shard_primary", "1 for shards this node acts as primary of.");
  metrics.DeclareGauge("vjvector_cluster_replication_lag_entries",
                       "Log entries a replica has not confirmed yet, as its primary (this node) sees it.");
  metrics.DeclareCounter("vjvector_cluster_elections_won_total", "Elections this node won since it started.");
  metrics.DeclareCounter("vjvector_cluster_forwarded_writes_total",
                         "Shard writes this node forwarded to a primary since it started.");
}

void CollectClusterMetrics(const vj::ClusterNode& cluster, vj::Metrics& m) {
  vj::ClusterNode::Stats stats = cluster.GetStats();
  m.SetCounter("vjvector_cluster_elections_won_total", {}, static_cast<double>(stats.elections_won));
  m.SetCounter("vjvector_cluster_forwarded_writes_total", {}, static_cast<double>(stats.forwarded_writes));
  m.Set("vjvector_collections", {}, static_cast<double>(cluster.List().size()));
  for (const auto& [shard, term] : stats.terms) {
    m.Set("vjvector_cluster_shard_term", {{"shard", shard}}, static_cast<double>(term));
    m.Set("vjvector_cluster_shard_primary", {{"shard", shard}}, stats.acting_primary[shard] ? 1 : 0);
  }
  for (const auto& [replica, lag] : stats.lag) {
    m.Set("vjvector_cluster_replication_lag_entries", {{"replica", replica}}, static_cast<double>(lag));
  }
  m.Set("vjvector_cluster_peers", {}, static_cast<double>(stats.peers));
  for (const auto& [collection, records] : stats.quarantined) {
    m.Set("vjvector_quarantined_records", {{"collection", collection}}, static_cast<double>(records));
  }
}

// The write-path settings (server_config.h) as the shards take them.
void ApplyWriteSettings(const vj::ServerConfig& config, vj::CollectionOptions& options) {
  options.write_queue_max_mutations = config.write_queue_max_mutations;
  options.write_queue_max_bytes = config.write_queue_max_bytes;
  options.write_queue_full_wait_ms = config.write_queue_full_wait_ms;
  options.write_timeout_ms = config.write_timeout_ms;
  options.compaction_threads = config.compaction_threads;
  options.rebuild_slots = std::make_shared<vj::RebuildSlots>(config.max_concurrent_rebuilds);
  options.min_free_disk_bytes = static_cast<uint64_t>(config.min_free_disk_mb) << 20;
  options.index_snapshot_every_mutations = config.index_snapshot_every_mutations;
  options.index_snapshot_interval_s = config.index_snapshot_interval_s;
}

// A snapshot recovery's http(s) location, into a file. The answer is held in memory up to max_bytes
// (snapshots.max_bytes) before it is written; https verifies the server with the system's CAs.
vj::Status DownloadSnapshot(const std::string& url, const std::string& path, uint64_t max_bytes,
                            const std::string& api_key) {
  vj::HttpClientOptions options;
  options.request_timeout = std::chrono::minutes(30);
  options.max_response_bytes = max_bytes;
  vj::HttpClient client(options);
  vj::HttpHeaders headers;
  if (!api_key.empty()) headers.emplace_back("api-key", api_key);
  vj::StatusOr<vj::HttpResult> got = client.Send("GET", url, {}, headers);
  if (!got.ok()) {
    if (got.status().code() == absl::StatusCode::kResourceExhausted) {
      return absl::InvalidArgumentError("location: the snapshot is over the limit of " + std::to_string(max_bytes) +
                                        " bytes (setting snapshots.max_bytes)");
    }
    return absl::InvalidArgumentError("location: cannot download " + url.substr(0, 256) + ": " +
                                      vj::StatusMessage(got.status()));
  }
  if (got->status != 200) {
    return absl::InvalidArgumentError("location: " + url.substr(0, 256) + " answered HTTP " +
                                      std::to_string(got->status));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(got->body.data(), static_cast<std::streamsize>(got->body.size()));
  out.flush();
  if (!out) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

// The keyring of encryption at rest (storage/keyring.h) when encryption.enabled, else null after
// checking that the data directory is not encrypted.
vj::StatusOr<std::unique_ptr<vj::Keyring>> OpenKeyring(const vj::ServerConfig& config) {
  if (!config.encryption_enabled) {
    if (!config.encryption_master_key_file.empty() || !config.encryption_master_key_command.empty()) {
      spdlog::warn("encryption.master_key_* is set but encryption.enabled is not: the data is not encrypted");
    }
    VJ_RETURN_IF_ERROR(vj::CheckDataDirNotEncrypted(config.data_dir));
    return std::unique_ptr<vj::Keyring>();
  }
  const bool file = !config.encryption_master_key_file.empty();
  const bool command = !config.encryption_master_key_command.empty();
  if (file == command) {
    return absl::InvalidArgumentError("encryption.enabled needs exactly one of encryption.master_key_file and "
                                      "encryption.master_key_command");
  }
  VJ_ASSIGN_OR_RETURN(vj::MasterKey master, file ? vj::LoadMasterKeyFile(config.encryption_master_key_file)
                                                 : vj::LoadMasterKeyCommand(config.encryption_master_key_command));
  return vj::Keyring::Open(config.data_dir, master);
}

// `vjvector keys rotate-master`: rewraps every data key of a stopped node's data directory.
int RotateMaster(const std::string& old_file, const std::string& new_file, const std::string& data_dir) {
  auto old_key = vj::LoadMasterKeyFile(old_file);
  auto new_key = old_key.ok() ? vj::LoadMasterKeyFile(new_file) : old_key;
  if (!old_key.ok() || !new_key.ok()) {
    std::fprintf(stderr, "vjvector keys rotate-master: %s\n",
                 std::string((old_key.ok() ? new_key : old_key).status().message()).c_str());
    return 1;
  }
  if (old_key->bytes == new_key->bytes) {
    std::fprintf(stderr, "vjvector keys rotate-master: the old and the new key are the same\n");
    return 1;
  }
  size_t rotated = 0;
  if (vj::Status st = vj::RotateMasterKey(data_dir, *old_key, *new_key, &rotated); !st.ok()) {
    std::fprintf(stderr, "vjvector keys rotate-master: %s (rewrapped %zu before the error; run it again)\n",
                 std::string(st.message()).c_str(), rotated);
    return 1;
  }
  std::printf("rewrapped %zu data keys of %s from master key %s to %s\n", rotated, data_dir.c_str(),
              old_key->id.c_str(), new_key->id.c_str());
  return 0;
}

// The client side of TLS towards peers (the node's own tls.* files) and towards etcd (cluster.etcd_*_file,
// each defaulting to the tls.* file of the same role).
vj::HttpClientTls PeerTls(const vj::ServerConfig& c) { return {c.tls_ca_file, c.tls_cert_file, c.tls_key_file}; }
vj::HttpClientTls EtcdTls(const vj::ServerConfig& c) {
  auto either = [](const std::string& a, const std::string& b) { return a.empty() ? b : a; };
  return {either(c.etcd_ca_file, c.tls_ca_file), either(c.etcd_cert_file, c.tls_cert_file),
          either(c.etcd_key_file, c.tls_key_file)};
}

// Reads the settings again as at start (file, environment, flags), for SIGHUP.
using ConfigReader = std::function<vj::StatusOr<vj::ServerConfig>()>;

int Serve(const vj::ServerConfig& config, const ConfigReader& reread_config) {
  SetUpLogging(config);
  // Points and payloads are the users' data: every file and directory this process creates, RocksDB's
  // included, is readable by its owner only (0600 files, 0700 directories).
  ::umask(077);
  // Signals are taken synchronously by this thread (sigwait); every thread started below inherits the
  // blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // reloads the TLS certificates
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  spdlog::info("vjvector {} starting: data dir {}, distance kernels {}", kVersion, config.data_dir,
               vj::BestKernels().isa);
  // Fault injection for tests (docs/operations.md, "Testing: fault injection"); loud, never for production.
  if (vj::PowerLossModeRequested()) {
    spdlog::warn("TEST ONLY: {}=1: power-loss mode is on: RocksDB keeps what it writes in memory until it "
                 "fsyncs, so kill -9 loses every unsynced write. Never use this in production",
                 vj::kPowerLossEnvVar);
  }
  if (vj::StatusOr<std::map<std::string, double>> armed = vj::InitCrashPoints(); !armed.ok()) {
    spdlog::critical("{}", vj::StatusMessage(armed.status()));
    return 1;
  } else if (!armed->empty()) {
    std::string list;
    for (const auto& [name, p] : *armed) list += (list.empty() ? "" : ", ") + name + ":" + std::to_string(p);
    spdlog::warn("TEST ONLY: crash points armed ({}): the process kills itself (SIGKILL) when it reaches "
                 "them. Never use this in production", list);
  }
  if (vj::StatusOr<std::map<std::string, double>> delays = vj::InitDelayPoints(); !delays.ok()) {
    spdlog::critical("{}", vj::StatusMessage(delays.status()));
    return 1;
  } else if (!delays->empty()) {
    std::string list;
    for (const auto& [name, ms] : *delays) list += (list.empty() ? "" : ", ") + name + ":" + std::to_string(ms);
    spdlog::warn("TEST ONLY: delay points armed ({} ms): the process sleeps when it reaches them. Never use this "
                 "in production", list);
  }
  // Encryption at rest, before anything reads or writes the data directory: a wrong or missing master
  // key stops the start here, with nothing on disk changed.
  std::unique_ptr<vj::Keyring> keyring;
  if (vj::StatusOr<std::unique_ptr<vj::Keyring>> opened = OpenKeyring(config); !opened.ok()) {
    spdlog::critical("encryption at rest: {}", vj::StatusMessage(opened.status()));
    return 1;
  } else {
    keyring = std::move(*opened);
  }
  if (keyring != nullptr) {
    spdlog::info("encryption at rest is on: master key id {}", keyring->master_key_id());
  }
  RaiseFileLimit(config.max_connections);
  vj::Metrics metrics;
  DeclareMetrics(metrics);
  if (!config.etcd.empty()) DeclareClusterMetrics(metrics);
  // Tracing (tracing.otlp_endpoint; docs/operations.md "Tracing"): installed before any request can
  // arrive, uninstalled (and its queue sent) when Serve returns, after the servers stopped.
  std::unique_ptr<vj::TracingRuntime> tracing = vj::TracingRuntime::Start(config, AuditNodeName(config), metrics);
  std::atomic<bool> ready{false};
  std::unique_ptr<vj::Database> database;            // a standalone node's collections
  std::unique_ptr<vj::SnapshotStore> snapshots;      // and its snapshots (destroyed before it)
  std::unique_ptr<vj::ClusterNode> cluster;          // a cluster node's (replaces database)
  std::unique_ptr<vj::EtcdClient> etcd;              // a cluster node's (outlives what uses it)
  std::unique_ptr<vj::SecurityStore> security;       // managed keys and roles (a file, or etcd in a cluster)
  std::unique_ptr<vj::RestApi> api;
  std::atomic<vj::RestApi*> live_api{nullptr};
  std::atomic<vj::ClusterNode*> live_cluster{nullptr};
  std::atomic<vj::Catalog*> live_catalog{nullptr};  // database or cluster, once loaded
  const auto started = std::chrono::steady_clock::now();

  metrics.AddCollector([&](vj::Metrics& m) {
    m.Set("vjvector_resident_memory_bytes", {}, ResidentBytes());
    m.Set("vjvector_ready", {}, ready.load() ? 1 : 0);
    m.Set("vjvector_storage_write_blocked", {}, static_cast<double>(vj::PointStore::WriteBlockedStores()));
    if (!ready.load()) return;
    if (cluster) {
      CollectClusterMetrics(*cluster, m);
      return;
    }
    vj::DatabaseStats stats = database->Stats();
    m.Set("vjvector_recovery_seconds", {}, stats.recovery_seconds);
    m.Set("vjvector_collections", {}, static_cast<double>(stats.collections.size()));
    for (const auto& c : stats.collections) {
      m.Set("vjvector_collection_points", {{"collection", c.name}}, static_cast<double>(c.points));
      m.Set("vjvector_collection_load_seconds", {{"collection", c.name}}, c.load_seconds);
      m.Set("vjvector_quarantined_records", {{"collection", c.name}},
            static_cast<double>(c.quarantined_records));
    }
  });

  const bool cluster_mode = !config.etcd.empty();
  std::shared_ptr<vj::TlsContext> tls;
  if (!config.tls_cert_file.empty()) {
    auto loaded = vj::TlsContext::Load({config.tls_cert_file, config.tls_key_file, config.tls_ca_file,
                                        *vj::ParseTlsClientAuth(config.tls_client_auth)});
    vj::Status client_tls = cluster_mode ? vj::CheckHttpClientTls(PeerTls(config)) : absl::OkStatus();
    if (!loaded.ok() || !client_tls.ok()) {
      spdlog::critical("cannot set up TLS: {}", vj::StatusMessage(loaded.ok() ? client_tls : loaded.status()));
      return 1;
    }
    tls = std::move(*loaded);
  }
  if (cluster_mode) {
    if (vj::Status st = vj::CheckHttpClientTls(EtcdTls(config)); !st.ok()) {
      spdlog::critical("cannot set up TLS for etcd: {}", vj::StatusMessage(st));
      return 1;
    }
  }
  const std::string scheme = tls ? "https" : "http";
  vj::HttpServerOptions http;
  http.tls = tls;
  http.host = config.host;
  http.port = config.port;
  http.threads = config.threads != 0 ? config.threads
                                     : std::max<size_t>(2, std::thread::hardware_concurrency());
  http.max_body_bytes = config.max_body_bytes;
  http.max_connections = config.max_connections;
  http.max_queued_requests = config.max_queued_requests;
  http.max_buffered_body_bytes = config.max_buffered_body_bytes;
  http.max_pending_response_bytes = config.max_pending_response_bytes;
  http.busy_poll = std::chrono::microseconds(config.busy_poll_us);
  vj::HttpServerOptions peer_http = http;  // the peer port: same limits, no browser policy
  // With TLS, peers prove who they are with a certificate the CA signed (mutual TLS), whatever
  // tls.client_auth asks of the REST port's clients.
  std::shared_ptr<vj::TlsContext> peer_tls;
  if (tls && cluster_mode) {
    auto loaded = vj::TlsContext::Load({config.tls_cert_file, config.tls_key_file, config.tls_ca_file,
                                        vj::TlsClientAuth::kRequire});
    if (!loaded.ok()) {
      spdlog::critical("cannot set up TLS for the peer port: {}", vj::StatusMessage(loaded.status()));
      return 1;
    }
    peer_tls = std::move(*loaded);
  }
  peer_http.tls = peer_tls;
  // Which certificates are nodes' (security/peer_identity.h): asked of every client on the peer port and
  // of every peer this node connects to. Only with mutual TLS (without it there is no certificate).
  std::unique_ptr<vj::PeerIdentityPolicy> peer_identities;
  if (peer_tls) {
    vj::StatusOr<std::vector<std::string>> own = vj::CertificateFileNames(config.tls_cert_file);
    if (!own.ok()) {
      spdlog::critical("cannot set up TLS for the peer port: {}", vj::StatusMessage(own.status()));
      return 1;
    }
    peer_identities = std::make_unique<vj::PeerIdentityPolicy>(config.peer_names, std::move(*own));
    spdlog::info("peer port: a client certificate must carry a node identity: {}",
                 config.peer_names.empty() ? "this node's certificate names " + vj::DescribeNames(*own) +
                                                 " or a cluster member's id"
                                           : "cluster.peer_names " + vj::DescribeNames(config.peer_names));
  }
  peer_http.port = config.p2p_port;
  peer_http.browser.binary_body_prefix = "/internal/replication/";
  http.browser.cors_origins = config.cors_origins;
  http.browser.allowed_hosts = config.allowed_hosts;
  if (cluster_mode) {
    // Requests may wait on peers that wait on this node: only local shard reads (on the peer port) run
    // on I/O threads, and the worker pools are large enough that waiting handlers never starve the ones
    // they wait for.
    http.worker_threads = std::max<size_t>(64, http.threads);
    peer_http.worker_threads = http.worker_threads;
    peer_http.run_inline = [](const vj::Request& request) { return vj::RestApi::NeverBlocks(vj::Port::kPeer, request); };
  } else {
    // Reads and searches never wait on a write: serve them on the I/O thread, without hand-offs.
    http.run_inline = [](const vj::Request& request) { return vj::RestApi::NeverBlocks(vj::Port::kPublic, request); };
  }
  // The middleware of each port (server/request_pipeline.h): the REST port's authenticator, the peer
  // port's (the cluster token), and where authorized requests go.
  vj::DeclarePipelineMetrics(metrics);
  const std::string nonce = RequestIdNonce();
  const std::vector<std::string> etcd_endpoints = vj::EtcdEndpoints(config.etcd);
  if (cluster_mode) {
    if (config.node_id.empty()) {
      spdlog::critical("cluster mode (--etcd) needs a node id (--node-id)");
      return 1;
    }
    vj::EtcdClientOptions etcd_options;
    etcd_options.endpoints = etcd_endpoints;
    etcd_options.tls = EtcdTls(config);
    etcd = std::make_unique<vj::EtcdClient>(etcd_options);
  }
  {
    // Managed keys and custom roles: a standalone node's in its data directory, a cluster's in etcd
    // (shared, watched). A security state that cannot be read stops the start (the message says where).
    vj::StatusOr<std::unique_ptr<vj::SecurityStateBackend>> backend =
        cluster_mode ? std::make_unique<vj::EtcdSecurityStateBackend>(*etcd, config.cluster_prefix)
                     : vj::StatusOr<std::unique_ptr<vj::SecurityStateBackend>>(
                           vj::LocalSecurityStateBackend::Open(config.data_dir));
    vj::SecurityStoreOptions store_options;
    // In etcd the whole state is one value, and etcd refuses requests over 1.5 MiB by default: a key
    // with a short name takes ~280 bytes (measured), so 3000 keys stay under it with room (a clear 400
    // at the limit). Long names and descriptions (up to 1.2 KB a key) can still reach etcd's limit
    // first: its refusal is returned and nothing changes.
    if (cluster_mode) store_options.max_keys = 3000;
    auto store = backend.ok() ? vj::SecurityStore::Open(std::move(*backend), store_options)
                              : vj::StatusOr<std::unique_ptr<vj::SecurityStore>>(backend.status());
    if (!store.ok()) {
      spdlog::critical("cannot open the API keys and roles: {}", vj::StatusMessage(store.status()));
      return 1;
    }
    security = std::move(*store);
  }
  auto front_door = vj::FrontDoorAuthenticator::Create(config, security.get());
  if (!front_door.ok()) {
    spdlog::critical("{}", vj::StatusMessage(front_door.status()));
    return 1;
  }
  // Secure by default: a node reachable from other machines needs credentials unless told otherwise,
  // on either public port (REST, and gRPC on its own host when set).
  const std::string& grpc_host = config.grpc_host.empty() ? config.host : config.grpc_host;
  const bool loopback = vj::IsLoopbackName(config.host);
  const bool public_loopback = loopback && (config.grpc_port == 0 || vj::IsLoopbackName(grpc_host));
  const bool authenticates = (*front_door)->configured();
  const bool must_authenticate = !public_loopback && !config.allow_unauthenticated;
  if (!authenticates && must_authenticate) {
    spdlog::critical("refusing to serve {} without authentication: set security.api_key (or JWT/OIDC), or "
                     "security.allow_unauthenticated: true to run open (docs/security.md)",
                     vj::IsLoopbackName(config.host) ? grpc_host : config.host);
    return 1;
  }
  if (cluster_mode && config.internal_token.empty() && !loopback && !config.allow_unauthenticated) {
    spdlog::critical("refusing to open the peer port on {} without cluster.internal_token (docs/security.md)",
                     config.host);
    return 1;
  }
  // Replaced on SIGHUP when the security settings change (server/config_reload.h).
  vj::ReloadableFrontDoor public_authenticator(std::shared_ptr<const vj::FrontDoorAuthenticator>(std::move(*front_door)));
  if (!authenticates) {
    spdlog::warn("no authentication is configured: every client of {}:{} may do everything (set "
                 "security.api_key; docs/security.md)", config.host, config.port);
  }
  // The audit log (audit.*; docs/compliance.md): before the pipelines that write to it, after them gone.
  const std::string audit_node = AuditNodeName(config);
  vj::StatusOr<std::unique_ptr<vj::AuditLog>> audit_log = vj::OpenAuditLog(config, audit_node);
  if (!audit_log.ok()) {
    spdlog::critical("cannot open the audit log: {}", vj::StatusMessage(audit_log.status()));
    return 1;
  }
  vj::DeclareAuditMetrics(metrics);
  metrics.AddCollector([log = audit_log->get()](vj::Metrics& m) { vj::CollectAuditMetrics(log, m); });
  if (*audit_log) spdlog::info("audit log on ({})", config.audit_path.empty() && config.audit_stdout ? "stdout" : "file");
  vj::RateLimiter rate_limiter(config.rate_limits);
  vj::PeerAuthenticator peer_authenticator(config.internal_token, /*mutual_tls=*/peer_tls != nullptr,
                                          peer_identities.get());
  const vj::Status loading = absl::UnavailableError("the node is still loading its collections");
  auto serve_api = [&live_api, &loading](const vj::RequestContext& context, const vj::RouteMatch& match,
                               const vj::Request& request) {
    vj::RestApi* a = live_api.load(std::memory_order_acquire);
    if (a == nullptr) {
      return match.route->port == vj::Port::kPeer ? vj::PeerErrorResponse(loading) : vj::ErrorResponse(loading, 0);
    }
    return a->Handle(context, match, request);
  };
  vj::RequestPipelineHooks public_hooks;
  public_hooks.api = serve_api;
  public_hooks.metrics_text = [&metrics] { return metrics.Render(); };
  public_hooks.metrics_public = config.metrics_public;
  public_hooks.audit = vj::MakeAuditHook(audit_log->get(), audit_node, vj::Port::kPublic);
  public_hooks.resolve_collection = [&live_catalog, &security](const vj::RequestContext& context,
                                                                vj::RouteMatch& match) -> std::optional<std::string> {
    vj::Catalog* catalog = live_catalog.load(std::memory_order_acquire);
    if (catalog == nullptr) return std::nullopt;  // still loading: the handler answers 503
    return vj::ResolveCollectionAlias(vj::ScopedCatalog(*catalog, context, security.get()), match);
  };
  public_hooks.value_exists = [&live_catalog, &loading, &security](const vj::RequestContext& context,
                                                                    const vj::ValueExistsCondition& condition) -> vj::Status {
    vj::Catalog* catalog = live_catalog.load(std::memory_order_acquire);
    if (catalog == nullptr) return loading;
    vj::NamespacedCatalog scoped = vj::ScopedCatalog(*catalog, context, security.get());
    return vj::CheckValueExists(scoped, condition);
  };
  public_hooks.rate_limit = [&rate_limiter](const vj::Principal& who, const vj::RouteSpec& route) -> std::optional<int> {
    const vj::RateDecision d = rate_limiter.Check(who, route.writes);
    if (d.allowed) return std::nullopt;
    return static_cast<int>(std::max<int64_t>(1, d.retry_after_s));
  };
  public_hooks.tenant_exists = [&security](const std::string& tenant) {
    return security != nullptr && security->GetTenant(tenant).has_value();
  };
  // A tenant's read_per_s / write_per_s quota: one bucket per tenant and operation class on this node,
  // in the principals' limiter under "tenant:<id>" (no principal id starts so).
  public_hooks.tenant_rate_limit = [&rate_limiter, &security](const std::string& tenant,
                                                             const vj::RouteSpec& route) -> vj::Status {
    std::optional<vj::TenantRecord> record = security != nullptr ? security->GetTenant(tenant) : std::nullopt;
    if (!record) return absl::OkStatus();
    const double per_s = route.writes ? record->quotas.write_per_s : record->quotas.read_per_s;
    if (per_s <= 0) return absl::OkStatus();
    const vj::RateDecision d =
        rate_limiter.CheckKey("tenant:" + tenant, vj::RateLimit{per_s, 0}, route.writes, 1);
    if (d.allowed) return absl::OkStatus();
    const int64_t wait = std::max<int64_t>(1, d.retry_after_s);
    return vj::RetryAfterError("tenant " + tenant + ": quota " + (route.writes ? "write_per_s" : "read_per_s") +
                                   " (" + absl::StrCat(per_s) + ") reached: retry in " + std::to_string(wait) + " s",
                               wait);
  };
  vj::RequestPipeline public_pipeline(vj::Port::kPublic, public_authenticator, public_hooks, metrics, nonce);
  vj::RequestPipelineHooks peer_hooks;
  peer_hooks.api = serve_api;
  peer_hooks.audit = vj::MakeAuditHook(audit_log->get(), audit_node, vj::Port::kPeer);
  peer_hooks.cluster = [&live_cluster, &loading](const vj::RequestContext&, const vj::RouteMatch& match,
                                                 const vj::Request& request) {
    vj::ClusterNode* c = live_cluster.load(std::memory_order_acquire);
    if (c == nullptr) return vj::PeerErrorResponse(loading);
    return vj::ServeReplication(match, request, [c](const vj::ReplicationBatchRequest& batch) { return c->ApplyReplication(batch); });
  };
  vj::RequestPipeline peer_pipeline(vj::Port::kPeer, peer_authenticator, peer_hooks, metrics, nonce);
  auto ready_check = [&ready, &live_cluster, started] {
    if (!ready.load()) return false;
    // A cluster node is ready once its replicas caught up with their primaries, or after a bounded
    // wait (a primary that is down must not keep the node out of rotation for ever).
    vj::ClusterNode* c = live_cluster.load(std::memory_order_acquire);
    return c == nullptr || c->CaughtUp() || std::chrono::steady_clock::now() - started > kCatchUpWait;
  };
  vj::HttpServer server(http, [&public_pipeline](const vj::Request& r) { return public_pipeline.Handle(r); },
                        ready_check, metrics);
  if (vj::Status st = server.Start(); !st.ok()) {
    spdlog::critical("cannot start the HTTP server: {}", vj::StatusMessage(st));
    return 1;
  }
  // The gRPC port: the same pipeline (credentials, permissions, rate limits, audit) and the same RestApi.
  std::unique_ptr<vj::GrpcServer> grpc_server;
  if (config.grpc_port != 0) {
    vj::GrpcServerOptions grpc_options{grpc_host, config.grpc_port,
                                       config.tls_cert_file, config.tls_key_file, config.tls_ca_file,
                                       *vj::ParseTlsClientAuth(config.tls_client_auth), config.max_body_bytes,
                                       kVersion};
    grpc_server = std::make_unique<vj::GrpcServer>(std::move(grpc_options), public_pipeline,
                                                   [&live_api] { return live_api.load(std::memory_order_acquire); },
                                                   metrics);
    if (vj::Status st = grpc_server->Start(); !st.ok()) {
      spdlog::critical("cannot start the gRPC port: {}", vj::StatusMessage(st));
      server.Stop();
      return 1;
    }
    spdlog::info("gRPC listening on {}:{}{}", grpc_host,
                 grpc_server->bound_port(), tls ? " (TLS)" : "");
  }
  std::unique_ptr<vj::HttpServer> peer_server;
  if (cluster_mode) {
    // A wrong internal token is answered as such before a wrong Content-Type (http_server.h).
    peer_http.refuse_unauthenticated = [&peer_pipeline](const vj::Request& r) {
      return peer_pipeline.RefuseUnauthenticated(r);
    };
    peer_server = std::make_unique<vj::HttpServer>(
        peer_http, [&peer_pipeline](const vj::Request& r) { return peer_pipeline.Handle(r); }, ready_check,
        metrics);
    if (vj::Status st = peer_server->Start(); !st.ok()) {
      spdlog::critical("cannot start the peer port: {}", vj::StatusMessage(st));
      server.Stop();
      return 1;
    }
    spdlog::info("peer port listening on {}://{}:{}", scheme, config.host, peer_server->bound_port());
  }
  spdlog::info("listening on {}://{}:{}", scheme, config.host, server.bound_port());
  spdlog::info("web console: {}://{}:{}/dashboard (docs/dashboard.md)", scheme, config.host, server.bound_port());

  // Cluster membership (when etcd is configured): this node's lease-backed registration and the peers.
  std::unique_ptr<vj::Membership> membership;
  if (cluster_mode) {
    vj::MembershipOptions m;
    m.prefix = config.cluster_prefix;
    m.node_id = config.node_id;
    m.url = !config.advertise_url.empty()
                ? config.advertise_url
                : scheme + "://" + config.host + ":" + std::to_string(peer_server->bound_port());
    m.lease_ttl = std::chrono::seconds(config.lease_ttl_s);
    // A node restarted after a crash finds its old key until the old lease expires: wait that out.
    m.collision_wait = std::chrono::seconds(config.lease_ttl_s + 1);
    membership = std::make_unique<vj::Membership>(*etcd, m);
    if (vj::Status st = membership->Start(); !st.ok()) {
      spdlog::critical("cannot join the cluster through etcd {}: {}", config.etcd, vj::StatusMessage(st));
      server.Stop();
      return 1;
    }
    spdlog::info("joined the cluster as {} ({}) through etcd {}", m.node_id, m.url, config.etcd);
    if (peer_identities) {
      peer_identities->SetMembers([&membership, &config] {
        std::vector<std::string> ids{config.node_id};
        for (const auto& [id, url] : membership->Peers()) ids.push_back(id);
        return ids;
      });
    }
    vj::ClusterNodeOptions node_options;
    node_options.data_dir = config.data_dir;
    node_options.node_id = config.node_id;
    node_options.collection.build_threads = std::max<size_t>(1, std::thread::hardware_concurrency());
    ApplyWriteSettings(config, node_options.collection);
    node_options.internal_token = config.internal_token;
    node_options.peer_tls = PeerTls(config);
    if (peer_identities) {
      node_options.check_peer_names = [p = peer_identities.get()](const std::vector<std::string>& names) {
        return p->Check(names);
      };
    }
    node_options.forward_window = std::chrono::milliseconds(config.forward_deadline_ms);
    node_options.max_clock_skew = std::chrono::milliseconds(config.max_clock_skew_ms);
    node_options.max_collections = config.limits.max_collections;
    if (config.internal_token.empty()) {
      spdlog::warn("cluster.internal_token is not set: the peer port ({}) is open to anyone who can reach it",
                   peer_server->bound_port());
    }
    cluster = std::make_unique<vj::ClusterNode>(*etcd, *membership, vj::ClusterKeys{config.cluster_prefix},
                                                node_options);
    if (vj::Status st = cluster->Start(); !st.ok()) {
      spdlog::critical("cannot read the cluster state from etcd {}: {}", config.etcd, vj::StatusMessage(st));
      server.Stop();
      return 1;
    }
  } else {
    vj::DatabaseOptions db_options;
    db_options.data_dir = config.data_dir;
    db_options.collection.build_threads = std::max<size_t>(1, std::thread::hardware_concurrency());
    db_options.max_collections = config.limits.max_collections;
    db_options.keyring = keyring.get();
    ApplyWriteSettings(config, db_options.collection);
    auto opened = vj::Database::Open(db_options);
    if (!opened.ok()) {
      spdlog::critical("cannot open the data directory {}: {}", config.data_dir,
                       vj::StatusMessage(opened.status()));
      server.Stop();
      return 1;
    }
    database = std::move(*opened);
    vj::SnapshotStoreOptions snapshot_options;
    snapshot_options.max_snapshot_bytes = config.snapshot_max_bytes;
    snapshot_options.download = DownloadSnapshot;
    snapshots = std::make_unique<vj::SnapshotStore>(*database, snapshot_options);
  }
  vj::RestApiOptions api_options;
  api_options.version = kVersion;
  api_options.limits = config.limits;
  api_options.security = security.get();
  if (cluster) {
    api_options.cluster_status = [&membership, &config, &etcd_endpoints]() -> boost::json::value {
      boost::json::object peers;
      for (const auto& [id, url] : membership->Peers()) peers[id] = boost::json::object{{"uri", url}};
      boost::json::array endpoints;
      for (const std::string& e : etcd_endpoints) endpoints.push_back(boost::json::value(e));
      return boost::json::object{
          {"status", "enabled"},
          {"peer_id", config.node_id},
          {"peers", std::move(peers)},
          {"etcd", boost::json::object{{"endpoints", std::move(endpoints)},
                                       {"prefix", config.cluster_prefix},
                                       {"lease_held", membership->has_lease()}}}};
    };
    vj::ClusterNode* node = cluster.get();
    api_options.collection_cluster = [node](const std::string& name) { return node->CollectionClusterInfo(name); };
    api_options.rebalance = [node](bool replace_dead) { return node->Rebalance(replace_dead); };
    api_options.shard_collection = [node](const std::string& name, uint32_t shard, bool write,
                                          int64_t apply_by_unix_ms) {
      return node->ShardCollection(name, shard, write, apply_by_unix_ms);
    };
    api_options.replica_position = [node](const std::string& name, uint32_t shard, bool primary) {
      return node->LocalPosition(name, shard, primary);
    };
    api = std::make_unique<vj::RestApi>(*cluster, api_options);
    live_cluster.store(cluster.get(), std::memory_order_release);
  } else {
    api_options.snapshots = snapshots.get();
    api_options.backup = vj::BackupRoute(
        *database, vj::S3SettingsFromEnvironment({config.backup_s3_endpoint, config.backup_s3_region,
                                                  config.backup_s3_access_key_id, config.backup_s3_secret_access_key}));
    api = std::make_unique<vj::RestApi>(*database, api_options);
  }
  live_catalog.store(cluster ? static_cast<vj::Catalog*>(cluster.get()) : database.get(), std::memory_order_release);
  live_api.store(api.get(), std::memory_order_release);
  ready.store(true);
  if (database) {
    spdlog::info("ready: {} collections loaded in {:.3f} s", database->List().size(),
                 database->Stats().recovery_seconds);
  } else {
    spdlog::info("ready: {} collections in the cluster", cluster->List().size());
  }

  // SIGHUP (server/config_reload.h): the certificates, then the settings that may change at run time.
  vj::ServerConfig live_config = config;  // the settings last applied
  auto reload_certificates = [&] {
    if (!tls) {
      spdlog::info("SIGHUP: TLS is off, no certificate to reload");
    } else if (vj::Status st = tls->Reload(); !st.ok()) {
      spdlog::error("TLS reload on SIGHUP failed, keeping the current certificates: {}", vj::StatusMessage(st));
    } else if (peer_tls && !(st = peer_tls->Reload()).ok()) {
      spdlog::error("TLS reload on SIGHUP: the REST port uses the new certificates, the peer port failed to "
                    "and keeps the current ones: {}", vj::StatusMessage(st));
    } else {
      spdlog::info("TLS certificates reloaded from {}: new connections use them", config.tls_cert_file);
    }
    // The client side: the certificate this node presents to its peers and to etcd.
    if (cluster && tls) {
      if (vj::Status st = cluster->ReloadPeerTls(); !st.ok()) {
        spdlog::error("SIGHUP: the client certificate for peers did not reload, keeping the current one: {}",
                      vj::StatusMessage(st));
      } else {
        spdlog::info("client certificate for peers reloaded from {}", PeerTls(config).cert_file);
      }
    }
    if (etcd && !EtcdTls(config).cert_file.empty()) {
      if (vj::Status st = etcd->ReloadTls(); !st.ok()) {
        spdlog::error("SIGHUP: the client certificate for etcd did not reload, keeping the current one: {}",
                      vj::StatusMessage(st));
      } else {
        spdlog::info("client certificate for etcd reloaded from {}", EtcdTls(config).cert_file);
      }
    }
    if (peer_identities) {
      if (auto own = vj::CertificateFileNames(config.tls_cert_file); own.ok()) peer_identities->SetOwnNames(std::move(*own));
    }
  };
  auto reload_settings = [&] {
    vj::StatusOr<vj::ServerConfig> next = reread_config();
    if (!next.ok()) {
      spdlog::error("SIGHUP: cannot read the settings again, keeping the current ones: {}",
                    vj::StatusMessage(next.status()));
      return;
    }
    for (const std::string& name : vj::RestartOnlyChanges(config, *next)) {
      spdlog::warn("SIGHUP: {} changed; it cannot change while the node runs and takes effect at the next "
                   "restart (ignored)", name);
    }
    const std::vector<std::string> changed = vj::ReloadableChanges(live_config, *next);
    if (changed.empty()) {
      spdlog::info("SIGHUP: no security setting changed");
      return;
    }
    auto door = vj::FrontDoorAuthenticator::Create(*next, security.get());
    // A node must keep authenticating when it had to at start, and also when the new file no longer allows
    // it to run open (allow_unauthenticated itself changes only at a restart, but it never opens a door).
    const bool must_still_authenticate = must_authenticate || (!public_loopback && !next->allow_unauthenticated);
    vj::Status st =
        door.ok() ? vj::CheckReloadedSecurity((*door)->configured(), must_still_authenticate) : door.status();
    if (!st.ok()) {
      spdlog::error("SIGHUP: the new security settings are refused, keeping the current ones: {}",
                    vj::StatusMessage(st));
      return;
    }
    public_authenticator.Replace(std::shared_ptr<const vj::FrontDoorAuthenticator>(std::move(*door)));
    rate_limiter.SetSettings(next->rate_limits);
    if (peer_identities) peer_identities->SetPatterns(next->peer_names);
    std::string names;
    for (const std::string& name : changed) names += (names.empty() ? "" : ", ") + name;
    spdlog::info("SIGHUP: applied new settings: {}", names);
    // What was applied; the restart-only settings keep their start values.
    live_config.api_key = next->api_key;
    live_config.alt_api_key = next->alt_api_key;
    live_config.read_only_api_key = next->read_only_api_key;
    live_config.jwt_rbac = next->jwt_rbac;
    live_config.oidc = next->oidc;
    live_config.rate_limits = next->rate_limits;
    live_config.peer_names = next->peer_names;
  };
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    spdlog::info("received SIGHUP: reloading certificates and security settings");
    reload_certificates();
    reload_settings();
  }
  spdlog::info("received signal {}: draining requests", signal_number);
  ready.store(false);
  {
    // Both public ports drain at once (each finishes what it accepted and takes nothing new), so a
    // shutdown waits for the slower of the two, not for both in turn.
    std::thread grpc_drain([&grpc_server] {
      if (grpc_server) grpc_server->Stop();
    });
    server.Stop();
    grpc_drain.join();
  }
  if (peer_server) peer_server->Stop();
  live_api.store(nullptr);
  live_catalog.store(nullptr);
  live_cluster.store(nullptr);
  if (cluster) cluster->Stop();  // flushes every local replica
  if (database) {
    if (vj::Status st = database->Flush(); !st.ok()) {
      spdlog::error("flush at shutdown failed: {}", vj::StatusMessage(st));
      return 1;
    }
  }
  api.reset();
  cluster.reset();
  snapshots.reset();  // waits for snapshots being built in the background
  database.reset();
  if (membership) membership->Stop();  // revokes the lease: peers see this node leave at once
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vjvector: a vector database server with a Qdrant-compatible REST API"};
  app.require_subcommand(1);
  app.add_subcommand("version", "Print the version and exit")->callback([] {
    std::printf("vjvector %s\n", kVersion);
  });
  app.add_subcommand("routes", "Print the route table (JSON): every route with its port and permission")
      ->callback([] {
        boost::json::array routes;
        for (const vj::RouteSpec& r : vj::AllRoutes()) {
          routes.push_back(boost::json::object{{"port", vj::PortName(r.port)},
                                               {"method", r.method},
                                               {"path", r.pattern},
                                               {"permission", vj::PermissionName(r.permission)},
                                               {"scope", vj::RouteScopeName(r.scope)},
                                               {"writes", r.writes}});
        }
        std::printf("%s\n", boost::json::serialize(routes).c_str());
      });

  CLI::App* audit = app.add_subcommand("audit", "Audit log tools");
  audit->require_subcommand(1);
  CLI::App* audit_verify = audit->add_subcommand(
      "verify", "Check an audit log's hash chain (files in rotation order, or a directory); exit 0 when it "
                "holds, 1 naming the first broken record");
  std::vector<std::string> audit_files;
  std::string audit_key_file;
  audit_verify->add_option("files", audit_files, "audit files, oldest first, or directories")->required();
  audit_verify->add_option("--hmac-key-file", audit_key_file, "the key of audit.hmac_key_file");

  CLI::App* serve = app.add_subcommand("serve", "Run a node");
  std::string config_file, data_dir, host, log_format, log_level;
  std::string etcd, node_id, advertise_url, cluster_prefix;
  std::string cors_origins, allowed_hosts;
  int64_t lease_ttl = -1;
  int64_t port = -1, p2p_port = -1, grpc_port = -1, threads = -1, max_body = -1, busy_poll = -1;
  serve->add_option("--config", config_file, "YAML config file");
  serve->add_option("--data-dir", data_dir, "Data directory (default ./data)");
  serve->add_option("--host", host, "Address to listen on (default 127.0.0.1)");
  serve->add_option("--http-port", port, "REST port (default 6333)")->check(CLI::Range(0, 65535));
  serve->add_option("--grpc-port", grpc_port, "Qdrant-compatible gRPC port (default 6334; 0 = off)")
      ->check(CLI::Range(0, 65535));
  serve->add_option("--threads", threads, "HTTP I/O threads (default: one per core)")
      ->check(CLI::Range(0, 1024));
  serve->add_option("--busy-poll-us", busy_poll,
                    "microseconds the I/O threads keep polling after the last request before they sleep (default 0: off)")
      ->check(CLI::Range(0, 10000));
  serve->add_option("--max-body-bytes", max_body, "Largest accepted request body (default 32 MiB)")
      ->check(CLI::PositiveNumber);
  serve->add_option("--log-format", log_format, "text or json");
  serve->add_option("--log-level", log_level, "trace, debug, info, warn or error");
  serve->add_option("--etcd", etcd, "etcd endpoints (http(s)://HOST:PORT, comma-separated): join a cluster");
  serve->add_option("--node-id", node_id, "this node's id in the cluster");
  serve->add_option("--p2p-port", p2p_port, "peer port of a cluster node (default 6335; 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  serve->add_option("--advertise-url", advertise_url, "URL peers use to reach this node's peer port");
  serve->add_option("--cluster-prefix", cluster_prefix, "etcd key prefix of the cluster (default /vjvector)");
  serve->add_option("--lease-ttl", lease_ttl, "seconds before a silent node leaves the cluster (default 5)")
      ->check(CLI::Range(1, 600));
  serve->add_option("--cors-origins", cors_origins,
                    "origins whose web pages may call this node (comma-separated; default none: CORS off)");
  serve->add_option("--allowed-hosts", allowed_hosts,
                    "Host names accepted besides localhost and IP addresses (comma-separated; default: "
                    "none on a loopback address, any elsewhere)");

  CLI::App* keys = app.add_subcommand("keys", "Manage the keys of encryption at rest");
  CLI::App* rotate = keys->add_subcommand(
      "rotate-master", "Rewrap every data key of a stopped node's data directory under a new master key");
  keys->require_subcommand(1);
  std::string old_key_file, new_key_file, keys_data_dir;
  rotate->add_option("--old-key-file", old_key_file, "the current master key (0600)")->required();
  rotate->add_option("--new-key-file", new_key_file, "the new master key (0600)")->required();
  rotate->add_option("--data", keys_data_dir, "the data directory")->required();

  vj::BackupCommands backup_commands(app);

  if (argc > 1 && argv[1][0] != '-' && std::string(argv[1]) != "serve" &&
      std::string(argv[1]) != "version" && std::string(argv[1]) != "routes" &&
      std::string(argv[1]) != "audit" && std::string(argv[1]) != "keys" && std::string(argv[1]) != "backup" &&
      std::string(argv[1]) != "restore") {
    std::fprintf(stderr, "vjvector: unknown command \"%s\" (try vjvector --help)\n", argv[1]);
    return 2;
  }
  CLI11_PARSE(app, argc, argv);
  if (audit_verify->parsed()) return VerifyAudit(audit_files, audit_key_file);
  if (rotate->parsed()) return RotateMaster(old_key_file, new_key_file, keys_data_dir);
  if (backup_commands.parsed()) return backup_commands.Run();
  if (!serve->parsed()) return 0;  // version, routes

  vj::ConfigOverrides flags;
  if (!data_dir.empty()) flags["DATA_DIR"] = data_dir;
  if (!host.empty()) flags["HTTP_HOST"] = host;
  if (port >= 0) flags["HTTP_PORT"] = std::to_string(port);
  if (grpc_port >= 0) flags["GRPC_PORT"] = std::to_string(grpc_port);
  if (threads >= 0) flags["HTTP_THREADS"] = std::to_string(threads);
  if (max_body >= 0) flags["HTTP_MAX_BODY_BYTES"] = std::to_string(max_body);
  if (busy_poll >= 0) flags["HTTP_BUSY_POLL_US"] = std::to_string(busy_poll);
  if (!log_format.empty()) flags["LOG_FORMAT"] = log_format;
  if (!log_level.empty()) flags["LOG_LEVEL"] = log_level;
  if (!etcd.empty()) flags["CLUSTER_ETCD"] = etcd;
  if (!node_id.empty()) flags["CLUSTER_NODE_ID"] = node_id;
  if (!advertise_url.empty()) flags["CLUSTER_ADVERTISE_URL"] = advertise_url;
  if (p2p_port >= 0) flags["CLUSTER_P2P_PORT"] = std::to_string(p2p_port);
  if (!cluster_prefix.empty()) flags["CLUSTER_PREFIX"] = cluster_prefix;
  if (lease_ttl >= 0) flags["CLUSTER_LEASE_TTL"] = std::to_string(lease_ttl);
  if (!cors_origins.empty()) flags["HTTP_CORS_ORIGINS"] = cors_origins;
  if (!allowed_hosts.empty()) flags["HTTP_ALLOWED_HOSTS"] = allowed_hosts;
  auto config = vj::LoadServerConfig(config_file, vj::ProcessEnv, flags);
  if (!config.ok()) {
    std::fprintf(stderr, "vjvector: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  return Serve(*config, [&config_file, &flags] { return vj::LoadServerConfig(config_file, vj::ProcessEnv, flags); });
}

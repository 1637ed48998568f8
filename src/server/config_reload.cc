#include "server/config_reload.h"

#include <functional>
#include <utility>

namespace vj {
namespace {

struct Field {
  const char* name;
  std::function<bool(const ServerConfig&, const ServerConfig&)> same;
};

template <auto Member>
Field Same(const char* name) {
  return {name, [](const ServerConfig& a, const ServerConfig& b) { return a.*Member == b.*Member; }};
}

const std::vector<Field>& Reloadable() {
  static const std::vector<Field> fields = {
      Same<&ServerConfig::api_key>("security.api_key"),
      Same<&ServerConfig::alt_api_key>("security.alt_api_key"),
      Same<&ServerConfig::read_only_api_key>("security.read_only_api_key"),
      Same<&ServerConfig::jwt_rbac>("security.jwt_rbac"),
      {"security.oidc", [](const ServerConfig& a, const ServerConfig& b) {
         const auto& x = a.oidc;
         const auto& y = b.oidc;
         return x.issuer == y.issuer && x.audience == y.audience && x.jwks_url == y.jwks_url &&
                x.jwks_file == y.jwks_file && x.roles_claim == y.roles_claim && x.tenant_claim == y.tenant_claim &&
                x.leeway_s == y.leeway_s && x.jwks_min_refresh_s == y.jwks_min_refresh_s &&
                x.role_grants == y.role_grants;
       }},
      Same<&ServerConfig::rate_limits>("security.rate_limits"),
      Same<&ServerConfig::peer_names>("cluster.peer_names"),
  };
  return fields;
}

const std::vector<Field>& RestartOnly() {
  static const std::vector<Field> fields = {
      Same<&ServerConfig::data_dir>("data_dir"),
      Same<&ServerConfig::host>("http.host"),
      Same<&ServerConfig::port>("http.port"),
      Same<&ServerConfig::threads>("http.threads"),
      Same<&ServerConfig::max_body_bytes>("http.max_body_bytes"),
      Same<&ServerConfig::busy_poll_us>("http.busy_poll_us"),
      Same<&ServerConfig::max_connections>("http.max_connections"),
      Same<&ServerConfig::max_queued_requests>("http.max_queued_requests"),
      Same<&ServerConfig::max_buffered_body_bytes>("http.max_buffered_body_bytes"),
      Same<&ServerConfig::max_pending_response_bytes>("http.max_pending_response_bytes"),
      Same<&ServerConfig::cors_origins>("http.cors_origins"),
      Same<&ServerConfig::allowed_hosts>("http.allowed_hosts"),
      Same<&ServerConfig::grpc_port>("grpc.port"),
      Same<&ServerConfig::grpc_host>("grpc.host"),
      Same<&ServerConfig::log_format>("log.format"),
      Same<&ServerConfig::log_level>("log.level"),
      Same<&ServerConfig::etcd>("cluster.etcd"),
      Same<&ServerConfig::node_id>("cluster.node_id"),
      Same<&ServerConfig::p2p_port>("cluster.p2p_port"),
      Same<&ServerConfig::advertise_url>("cluster.advertise_url"),
      Same<&ServerConfig::cluster_prefix>("cluster.prefix"),
      Same<&ServerConfig::lease_ttl_s>("cluster.lease_ttl"),
      Same<&ServerConfig::forward_deadline_ms>("cluster.forward_deadline_ms"),
      Same<&ServerConfig::max_clock_skew_ms>("cluster.max_clock_skew_ms"),
      Same<&ServerConfig::internal_token>("cluster.internal_token"),
      // The files' contents are reloaded; which files they are is fixed at start.
      Same<&ServerConfig::etcd_ca_file>("cluster.etcd_ca_file"),
      Same<&ServerConfig::etcd_cert_file>("cluster.etcd_cert_file"),
      Same<&ServerConfig::etcd_key_file>("cluster.etcd_key_file"),
      Same<&ServerConfig::tls_cert_file>("tls.cert_file"),
      Same<&ServerConfig::tls_key_file>("tls.key_file"),
      Same<&ServerConfig::tls_ca_file>("tls.ca_file"),
      Same<&ServerConfig::tls_client_auth>("tls.client_auth"),
      Same<&ServerConfig::limits>("limits"),
      {"writes", [](const ServerConfig& a, const ServerConfig& b) {
         return a.write_queue_max_mutations == b.write_queue_max_mutations &&
                a.write_queue_max_bytes == b.write_queue_max_bytes &&
                a.write_queue_full_wait_ms == b.write_queue_full_wait_ms && a.write_timeout_ms == b.write_timeout_ms &&
                a.compaction_threads == b.compaction_threads &&
                a.max_concurrent_rebuilds == b.max_concurrent_rebuilds && a.min_free_disk_mb == b.min_free_disk_mb;
       }},
      Same<&ServerConfig::snapshot_max_bytes>("snapshots.max_bytes"),
      Same<&ServerConfig::index_snapshot_every_mutations>("storage.index_snapshot_every_mutations"),
      Same<&ServerConfig::index_snapshot_interval_s>("storage.index_snapshot_interval_s"),
      Same<&ServerConfig::allow_unauthenticated>("security.allow_unauthenticated"),
      Same<&ServerConfig::metrics_public>("security.metrics_public"),
      {"encryption", [](const ServerConfig& a, const ServerConfig& b) {
         return a.encryption_enabled == b.encryption_enabled &&
                a.encryption_master_key_file == b.encryption_master_key_file &&
                a.encryption_master_key_command == b.encryption_master_key_command;
       }},
      {"audit", [](const ServerConfig& a, const ServerConfig& b) {
         return a.audit_enabled == b.audit_enabled && a.audit_path == b.audit_path &&
                a.audit_stdout == b.audit_stdout && a.audit_max_file_bytes == b.audit_max_file_bytes &&
                a.audit_max_files == b.audit_max_files && a.audit_fsync == b.audit_fsync &&
                a.audit_hmac_key_file == b.audit_hmac_key_file && a.audit_queue_records == b.audit_queue_records &&
                a.audit_queue_full == b.audit_queue_full;
       }},
      {"tracing", [](const ServerConfig& a, const ServerConfig& b) {
         return a.tracing_otlp_endpoint == b.tracing_otlp_endpoint &&
                a.tracing_sample_ratio == b.tracing_sample_ratio &&
                a.tracing_service_name == b.tracing_service_name;
       }},
  };
  return fields;
}

std::vector<std::string> Changed(const std::vector<Field>& fields, const ServerConfig& a, const ServerConfig& b) {
  std::vector<std::string> names;
  for (const Field& f : fields) {
    if (!f.same(a, b)) names.emplace_back(f.name);
  }
  return names;
}

}  // namespace

std::vector<std::string> ReloadableChanges(const ServerConfig& before, const ServerConfig& after) {
  return Changed(Reloadable(), before, after);
}

std::vector<std::string> RestartOnlyChanges(const ServerConfig& before, const ServerConfig& after) {
  return Changed(RestartOnly(), before, after);
}

Status CheckReloadedSecurity(bool configured, bool must_authenticate) {
  if (!configured && must_authenticate) {
    return absl::FailedPreconditionError(
        "the new settings configure no authentication (security.api_key, JWT or OIDC) on a node that must "
        "authenticate (not loopback, security.allow_unauthenticated unset)");
  }
  return absl::OkStatus();
}

}  // namespace vj

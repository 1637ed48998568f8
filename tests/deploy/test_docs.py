"""docs/operations.md's configuration reference against the code: every setting of the server's
settings table (src/server/server_config.cc) and every `serve` flag (src/tools/main.cc) is documented
with the right YAML key, environment variable, flag and default, and the doc names no setting the
server does not have. Also runs the real binary's --help to catch a flag the doc names but the
binary lacks.
"""

import os
import re
import subprocess
import unittest

import deployharness as h

DOC = os.path.join(h.REPO_ROOT, "docs", "operations.md")
SERVER_CONFIG_H = os.path.join(h.REPO_ROOT, "src", "server", "server_config.h")
MAIN_CC = os.path.join(h.REPO_ROOT, "src", "tools", "main.cc")


def read(path):
    with open(path) as f:
        return f.read()


settings = h.server_settings


def flags():
    """{env suffix or None: flag} from main.cc: `add_option("--flag", var` + `flags["ENV"] = ...var`."""
    text = read(MAIN_CC)
    var_of_flag = dict(re.findall(r'serve->add_option\("(--[a-z0-9-]+)",\s*(\w+)', text))
    env_of_var = {}
    for var, env in re.findall(r'if \((?:!)?(\w+)(?:\.empty\(\)| >= 0)\) flags\["([A-Z0-9_]+)"\]', text):
        env_of_var[var] = env
    return {flag: env_of_var.get(var) for flag, var in var_of_flag.items()}


def defaults():
    """{member name: default literal} from struct ServerConfig."""
    text = read(SERVER_CONFIG_H)
    body = text[text.index("struct ServerConfig"):]
    body = re.sub(r"//[^\n]*", "", body[:body.index("};")])
    out = {}
    for name, value in re.findall(r"\s(\w+) = ([^;]+);", body):
        value = value.strip().strip('"')
        m = re.fullmatch(r"(\d+)ull << (\d+)", value)
        out[name] = str(int(m.group(1)) << int(m.group(2))) if m else value
    return out


# ServerConfig member behind each setting (the setters in server_config.cc).
MEMBER = {"DATA_DIR": "data_dir", "HTTP_HOST": "host", "HTTP_PORT": "port", "HTTP_THREADS": "threads",
          "GRPC_PORT": "grpc_port", "GRPC_HOST": "grpc_host",
          "HTTP_MAX_BODY_BYTES": "max_body_bytes", "HTTP_BUSY_POLL_US": "busy_poll_us",
          "HTTP_MAX_CONNECTIONS": "max_connections", "HTTP_MAX_QUEUED_REQUESTS": "max_queued_requests",
          "HTTP_MAX_BUFFERED_BODY_BYTES": "max_buffered_body_bytes",
          "HTTP_MAX_PENDING_RESPONSE_BYTES": "max_pending_response_bytes",
          "WRITES_QUEUE_MAX_MUTATIONS": "write_queue_max_mutations", "WRITES_QUEUE_MAX_BYTES": "write_queue_max_bytes",
          "WRITES_QUEUE_FULL_WAIT_MS": "write_queue_full_wait_ms", "WRITES_TIMEOUT_MS": "write_timeout_ms",
          "WRITES_COMPACTION_THREADS": "compaction_threads", "WRITES_MAX_CONCURRENT_REBUILDS": "max_concurrent_rebuilds", "WRITES_MIN_FREE_DISK_MB": "min_free_disk_mb",
          "SNAPSHOTS_MAX_BYTES": "snapshot_max_bytes",
          "STORAGE_INDEX_SNAPSHOT_EVERY_MUTATIONS": "index_snapshot_every_mutations",
          "STORAGE_INDEX_SNAPSHOT_INTERVAL_S": "index_snapshot_interval_s",
          "LOG_FORMAT": "log_format", "LOG_LEVEL": "log_level",
          "CLUSTER_ETCD": "etcd", "CLUSTER_NODE_ID": "node_id", "CLUSTER_ADVERTISE_URL": "advertise_url",
          "CLUSTER_P2P_PORT": "p2p_port",
          "CLUSTER_PREFIX": "cluster_prefix", "CLUSTER_LEASE_TTL": "lease_ttl_s",
          "CLUSTER_FORWARD_DEADLINE_MS": "forward_deadline_ms", "CLUSTER_MAX_CLOCK_SKEW_MS": "max_clock_skew_ms",
          "CLUSTER_INTERNAL_TOKEN": "internal_token", "SECURITY_API_KEY": "api_key",
          "SECURITY_ALT_API_KEY": "alt_api_key", "SECURITY_READ_ONLY_API_KEY": "read_only_api_key",
          "SECURITY_ALLOW_UNAUTHENTICATED": "allow_unauthenticated", "SECURITY_METRICS_PUBLIC": "metrics_public",
          "SECURITY_JWT_RBAC": "jwt_rbac", "SECURITY_OIDC_ISSUER": "issuer", "SECURITY_OIDC_AUDIENCE": "audience",
          "SECURITY_OIDC_JWKS_URL": "jwks_url", "SECURITY_OIDC_JWKS_FILE": "jwks_file",
          "SECURITY_OIDC_ROLES_CLAIM": "roles_claim", "SECURITY_OIDC_LEEWAY_S": "leeway_s",
          "SECURITY_OIDC_TENANT_CLAIM": "tenant_claim",
          "SECURITY_OIDC_JWKS_MIN_REFRESH_S": "jwks_min_refresh_s",
          "CLUSTER_ETCD_CA_FILE": "etcd_ca_file", "CLUSTER_ETCD_CERT_FILE": "etcd_cert_file",
          "CLUSTER_ETCD_KEY_FILE": "etcd_key_file", "TLS_CERT_FILE": "tls_cert_file",
          "TLS_KEY_FILE": "tls_key_file", "TLS_CA_FILE": "tls_ca_file", "TLS_CLIENT_AUTH": "tls_client_auth",
          "AUDIT_ENABLED": "audit_enabled", "AUDIT_PATH": "audit_path", "AUDIT_STDOUT": "audit_stdout",
          "AUDIT_MAX_FILE_BYTES": "audit_max_file_bytes", "AUDIT_MAX_FILES": "audit_max_files",
          "AUDIT_FSYNC": "audit_fsync", "AUDIT_HMAC_KEY_FILE": "audit_hmac_key_file",
          "AUDIT_QUEUE_RECORDS": "audit_queue_records", "AUDIT_QUEUE_FULL": "audit_queue_full",
          "ENCRYPTION_ENABLED": "encryption_enabled", "ENCRYPTION_MASTER_KEY_FILE": "encryption_master_key_file",
          "ENCRYPTION_MASTER_KEY_COMMAND": "encryption_master_key_command",
          "TRACING_OTLP_ENDPOINT": "tracing_otlp_endpoint", "TRACING_SAMPLE_RATIO": "tracing_sample_ratio",
          "TRACING_SERVICE_NAME": "tracing_service_name"}


def reference_section():
    doc = read(DOC)
    start = doc.index("## Configuration reference")
    end = doc.find("\n## ", start + 1)
    return doc[start:end if end >= 0 else len(doc)]


def table_rows(section):
    """[(yaml, env, flag, default)] from the reference table."""
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].startswith("`"):
            rows.append(tuple(c.strip("`") for c in cells[:4]))
    return rows


class ConfigurationReference(unittest.TestCase):
    def test_every_setting_documented_with_its_names_and_default(self):
        rows = {r[1]: r for r in table_rows(reference_section())}
        flag_of_env = {env: flag for flag, env in flags().items() if env}
        dflt = defaults()
        for env, yaml_key in settings().items():
            with self.subTest(setting=env):
                name = "VJVECTOR_" + env
                self.assertIn(name, rows, f"{name} missing from the configuration reference")
                doc_yaml, _, doc_flag, doc_default = rows[name]
                self.assertEqual(doc_yaml, yaml_key)
                # Secrets have no flag (a command line is visible to every user of the host).
                self.assertEqual(None if doc_flag == "(none)" else doc_flag, flag_of_env.get(env),
                                 f"flag for {name}")
                if env in MEMBER and MEMBER[env] in dflt:
                    self.assertEqual(doc_default, dflt[MEMBER[env]], f"default of {name}")

    def test_doc_names_only_real_settings_and_flags(self):
        known_env = {"VJVECTOR_" + e for e in settings()}
        doc = read(DOC)
        for name in set(re.findall(r"VJVECTOR_[A-Z0-9_]+", doc)):
            if name.startswith("VJVECTOR_TEST_"):
                continue  # fault-injection knobs for tests, documented apart ("Testing: fault injection")
            self.assertIn(name, known_env, f"{name} is not a server setting")
        known_flags = set(flags())
        section = reference_section()
        for flag in set(re.findall(r"`(--[a-z0-9-]+)", section)):
            self.assertIn(flag, known_flags, f"{flag} is not a `vjvector serve` flag")
        for flag in known_flags:
            self.assertIn(f"`{flag}", section, f"{flag} is not documented")

    def test_binary_has_the_documented_flags(self):
        out = subprocess.run([h.BINARY, "serve", "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        for flag in set(re.findall(r"`(--[a-z0-9-]+)", reference_section())):
            self.assertIn(flag, out.stdout, f"vjvector serve --help lacks {flag}")

    def test_sizing_and_failure_sections_present(self):
        doc = read(DOC)
        for heading in ("## Single host", "## Docker", "## Kubernetes", "## Sizing",
                        "## Upgrades and rolling restarts", "## Failure handling"):
            self.assertIn(heading, doc)


if __name__ == "__main__":
    h.main()

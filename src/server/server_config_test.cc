#include "server/server_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "core/test_dir.h"

namespace vj {
namespace {

// A file of its own per call, in a directory of this process (removed at exit): ctest runs each test of
// this binary as a process of its own, in parallel, and a shared name let one test read another's config.
std::string WriteYaml(const std::string& text) {
  static TestDir dir;
  static int calls = 0;
  std::string path = dir.File("config_" + std::to_string(calls++) + ".yaml");
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return path;
}

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

// Every value is refused, and the error names the environment variable it came from.
void ExpectRefusedNamingEnv(const std::string& env, std::initializer_list<const char*> values) {
  for (const char* bad : values) {
    auto config = LoadServerConfig("", Env({{env, bad}}), {});
    ASSERT_FALSE(config.ok()) << env << "=" << bad;
    EXPECT_NE(std::string(config.status().message()).find(env), std::string::npos) << config.status();
  }
}

TEST(ServerConfigTest, PrecedenceIsFlagsThenEnvThenFileThenDefaults) {
  std::string path = WriteYaml("data_dir: /from/file\nhttp:\n  port: 7000\n  host: 0.0.0.0\nlog:\n  format: json\n");
  auto config = LoadServerConfig(path, Env({{"VJVECTOR_HTTP_PORT", "7001"}}), {{"DATA_DIR", "/from/flag"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->data_dir, "/from/flag");
  EXPECT_EQ(config->port, 7001);
  EXPECT_EQ(config->host, "0.0.0.0");
  EXPECT_EQ(config->log_format, "json");
  EXPECT_EQ(config->max_body_bytes, 32u << 20);
}

TEST(ServerConfigTest, InternalTokenComesFromEnvOrFileAndMustBeLongAndPrintable) {
  auto from_env = LoadServerConfig("", Env({{"VJVECTOR_CLUSTER_INTERNAL_TOKEN", "s3cret-0123456789"}}), {});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->internal_token, "s3cret-0123456789");
  auto from_file = LoadServerConfig(WriteYaml("cluster:\n  internal_token: file-token-0123456789\n"), Env({}), {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->internal_token, "file-token-0123456789");
  ExpectRefusedNamingEnv("VJVECTOR_CLUSTER_INTERNAL_TOKEN", {"short", "has a space 0123456789", "tab\t0123456789abcdef"});
}

TEST(ServerConfigTest, ApiKeysComeFromEnvOrFileAndAreChecked) {
  auto config = LoadServerConfig("", Env({}), {});
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->api_key.empty() && config->alt_api_key.empty() && config->read_only_api_key.empty());
  config = LoadServerConfig(WriteYaml("security:\n  api_key: main-key-0123456789\n"
                                      "  read_only_api_key: read-key-0123456789\n"),
                            Env({{"VJVECTOR_SECURITY_ALT_API_KEY", "alt-key-0123456789"}}), {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->api_key, "main-key-0123456789");
  EXPECT_EQ(config->alt_api_key, "alt-key-0123456789");
  EXPECT_EQ(config->read_only_api_key, "read-key-0123456789");
  // Messages name the source, never the secret.
  for (const char* env : {"VJVECTOR_SECURITY_API_KEY", "VJVECTOR_SECURITY_ALT_API_KEY",
                          "VJVECTOR_SECURITY_READ_ONLY_API_KEY"}) {
    ExpectRefusedNamingEnv(env, {"short", "has a space in it 0123", "vjk_0123456789abcdef_x"});
    auto bad = LoadServerConfig("", Env({{env, "short"}}), {});
    EXPECT_EQ(std::string(bad.status().message()).find("short\""), std::string::npos) << bad.status();
  }
  auto same = LoadServerConfig("", Env({{"VJVECTOR_SECURITY_API_KEY", "same-key-0123456789"},
                                        {"VJVECTOR_SECURITY_READ_ONLY_API_KEY", "same-key-0123456789"}}),
                               {});
  ASSERT_FALSE(same.ok());
  EXPECT_NE(std::string(same.status().message()).find("read_only_api_key"), std::string::npos);
  auto unknown = LoadServerConfig(WriteYaml("security:\n  apikey: x\n"), Env({}), {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("security.apikey"), std::string::npos);
}

TEST(ServerConfigTest, BusyPollIsOffByDefaultAndBounded) {
  auto defaults = LoadServerConfig("", Env({}), {});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->busy_poll_us, 0u);
  auto from_file = LoadServerConfig(WriteYaml("http:\n  busy_poll_us: 200\n"), Env({}), {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->busy_poll_us, 200u);
  auto from_flag = LoadServerConfig("", Env({{"VJVECTOR_HTTP_BUSY_POLL_US", "50"}}), {{"HTTP_BUSY_POLL_US", "75"}});
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_EQ(from_flag->busy_poll_us, 75u);
  ExpectRefusedNamingEnv("VJVECTOR_HTTP_BUSY_POLL_US", {"-1", "10001", "fast"});
}

TEST(ServerConfigTest, BadValuesNameTheirSource) {
  ExpectRefusedNamingEnv("VJVECTOR_HTTP_PORT", {"99999"});
  auto unknown = LoadServerConfig(WriteYaml("http:\n  prot: 1\n"), Env({}), {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("http.prot"), std::string::npos);
  auto bad_yaml = LoadServerConfig(WriteYaml("http: [1, 2\n"), Env({}), {});
  EXPECT_FALSE(bad_yaml.ok());
  EXPECT_EQ(LoadServerConfig("/no/such/file.yaml", Env({}), {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(LoadServerConfig("", Env({{"VJVECTOR_LOG_FORMAT", "xml"}}), {}).ok());
}

TEST(ServerConfigTest, BrowserListsComeFromYamlListsOrCommaSeparatedText) {
  auto defaults = LoadServerConfig("", Env({}), {});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_TRUE(defaults->cors_origins.empty());
  EXPECT_TRUE(defaults->allowed_hosts.empty());
  auto from_file = LoadServerConfig(
      WriteYaml("http:\n  cors_origins: [https://a.example, 'http://localhost:3000']\n  allowed_hosts:\n"
                "    - db.example.com\n"),
      Env({}), {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->cors_origins, (std::vector<std::string>{"https://a.example", "http://localhost:3000"}));
  EXPECT_EQ(from_file->allowed_hosts, std::vector<std::string>{"db.example.com"});
  auto from_env = LoadServerConfig("", Env({{"VJVECTOR_HTTP_CORS_ORIGINS", "https://a.example, https://b.example"}}),
                                   {{"HTTP_ALLOWED_HOSTS", "x.example"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->cors_origins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(from_env->allowed_hosts, std::vector<std::string>{"x.example"});
  ExpectRefusedNamingEnv("VJVECTOR_HTTP_CORS_ORIGINS", {"a.example", "https://a.example/path", "null"});
  ExpectRefusedNamingEnv("VJVECTOR_HTTP_ALLOWED_HOSTS", {"a.example:80", "a/b"});
  EXPECT_FALSE(LoadServerConfig(WriteYaml("http:\n  cors_origins: [[x]]\n"), Env({}), {}).ok());
}

TEST(ServerConfigTest, LimitsComeFromFileAndEnvAndAreBounded) {
  auto defaults = LoadServerConfig("", Env({}), {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->limits.max_batch_queries, RequestLimits().max_batch_queries);
  EXPECT_EQ(defaults->limits.filter.max_match_values, FilterLimits().max_match_values);
  auto from_file = LoadServerConfig(
      WriteYaml("limits:\n  batch_queries: 17\n  filter_match_values: 99\n  shard_number: 4\n"
                "  default_timeout_s: 2.5\n  max_timeout_s: 0\n"),
      Env({{"VJVECTOR_LIMITS_COLLECTIONS", "3"}, {"VJVECTOR_LIMITS_BATCH_QUERIES", "18"}}), {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->limits.max_batch_queries, 18u);  // env over file
  EXPECT_EQ(from_file->limits.filter.max_match_values, 99u);
  EXPECT_EQ(from_file->limits.max_shard_number, 4u);
  EXPECT_EQ(from_file->limits.max_collections, 3u);
  EXPECT_DOUBLE_EQ(from_file->limits.default_timeout_s, 2.5);
  EXPECT_DOUBLE_EQ(from_file->limits.max_timeout_s, 0);
  ExpectRefusedNamingEnv("VJVECTOR_LIMITS_BATCH_QUERIES", {"0", "-1", "x", "100001"});
  ExpectRefusedNamingEnv("VJVECTOR_LIMITS_SHARD_NUMBER", {"0", "1025"});
  ExpectRefusedNamingEnv("VJVECTOR_LIMITS_FILTER_DEPTH", {"33"});
  ExpectRefusedNamingEnv("VJVECTOR_LIMITS_DEFAULT_TIMEOUT_S", {"-1", "nan", "1s", "86401"});
  auto unknown = LoadServerConfig(WriteYaml("limits:\n  batch_querys: 1\n"), Env({}), {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("limits.batch_querys"), std::string::npos);
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST(ServerConfigTest, WriteQueueSettingsComeFromFileOrEnvAndAreBounded) {
  auto defaults = LoadServerConfig("", Env({}), {});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->write_queue_max_mutations, 16384u);
  EXPECT_EQ(defaults->write_queue_max_bytes, size_t{64} << 20);
  EXPECT_EQ(defaults->write_timeout_ms, 30000u);
  auto from_file = LoadServerConfig(
      WriteYaml("writes:\n  queue_max_mutations: 100\n  queue_full_wait_ms: 0\n  timeout_ms: 2000\n"),
      Env({{"VJVECTOR_WRITES_QUEUE_MAX_BYTES", "1048576"}}), {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->write_queue_max_mutations, 100u);
  EXPECT_EQ(from_file->write_queue_max_bytes, 1048576u);
  EXPECT_EQ(from_file->write_queue_full_wait_ms, 0u);
  EXPECT_EQ(from_file->write_timeout_ms, 2000u);
  EXPECT_FALSE(LoadServerConfig(WriteYaml("writes:\n  queue_max_mutation: 5\n"), Env({}), {}).ok());
  ExpectRefusedNamingEnv("VJVECTOR_WRITES_QUEUE_MAX_MUTATIONS", {"0", "-1", "many"});
  ExpectRefusedNamingEnv("VJVECTOR_WRITES_QUEUE_MAX_BYTES", {"100"});
  ExpectRefusedNamingEnv("VJVECTOR_WRITES_COMPACTION_THREADS", {"0"});
}

TEST(ServerConfigTest, AuditSettingsComeFromFileOrEnvAndAreChecked) {
  auto defaults = LoadServerConfig("", Env({}), {});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_FALSE(defaults->audit_enabled);
  EXPECT_EQ(defaults->audit_max_file_bytes, uint64_t{100} << 20);
  EXPECT_EQ(defaults->audit_queue_full, "drop");
  auto from_file = LoadServerConfig(
      WriteYaml("audit:\n  enabled: true\n  path: /var/log/vj/audit.log\n  max_files: 7\n  queue_full: block\n"),
      Env({{"VJVECTOR_AUDIT_STDOUT", "true"}, {"VJVECTOR_AUDIT_MAX_FILE_BYTES", "65536"}}), {});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_TRUE(from_file->audit_enabled);
  EXPECT_TRUE(from_file->audit_stdout);
  EXPECT_EQ(from_file->audit_path, "/var/log/vj/audit.log");
  EXPECT_EQ(from_file->audit_max_files, 7u);
  EXPECT_EQ(from_file->audit_max_file_bytes, 65536u);
  EXPECT_EQ(from_file->audit_queue_full, "block");
  EXPECT_FALSE(LoadServerConfig(WriteYaml("audit:\n  enable: true\n"), Env({}), {}).ok());
  ExpectRefusedNamingEnv("VJVECTOR_AUDIT_ENABLED", {"yes", ""});
  ExpectRefusedNamingEnv("VJVECTOR_AUDIT_MAX_FILE_BYTES", {"100", "big"});
  ExpectRefusedNamingEnv("VJVECTOR_AUDIT_QUEUE_FULL", {"wait"});
  ExpectRefusedNamingEnv("VJVECTOR_AUDIT_PATH", {""});
}

TEST(ServerConfigTest, TlsSettingsComeFromFileOrEnvAndMustBeConsistent) {
  std::string path = WriteYaml(
      "tls:\n  cert_file: /etc/vj/node.crt\n  key_file: /etc/vj/node.key\n  ca_file: /etc/vj/ca.crt\n"
      "  client_auth: require\ncluster:\n  etcd: https://10.0.0.2:2379\n  node_id: n1\n"
      "  etcd_ca_file: /etc/vj/etcd-ca.crt\n  advertise_url: https://node1.vj:6333\n");
  auto config = LoadServerConfig(path, Env({}), {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls_cert_file, "/etc/vj/node.crt");
  EXPECT_EQ(config->tls_key_file, "/etc/vj/node.key");
  EXPECT_EQ(config->tls_ca_file, "/etc/vj/ca.crt");
  EXPECT_EQ(config->tls_client_auth, "require");
  EXPECT_EQ(config->etcd_ca_file, "/etc/vj/etcd-ca.crt");
  EXPECT_EQ(config->etcd, "https://10.0.0.2:2379");
  EXPECT_EQ(config->advertise_url, "https://node1.vj:6333");

  ExpectRefusedNamingEnv("VJVECTOR_TLS_CLIENT_AUTH", {"sometimes", ""});
  ExpectRefusedNamingEnv("VJVECTOR_TLS_CERT_FILE", {""});
  auto refused = [](std::map<std::string, std::string> env, const std::string& mentions) {
    auto c = LoadServerConfig("", Env(std::move(env)), {});
    ASSERT_FALSE(c.ok()) << mentions;
    EXPECT_NE(std::string(c.status().message()).find(mentions), std::string::npos) << c.status();
  };
  refused({{"VJVECTOR_TLS_CERT_FILE", "/a.crt"}}, "tls.key_file");
  refused({{"VJVECTOR_TLS_CERT_FILE", "/a.crt"}, {"VJVECTOR_TLS_KEY_FILE", "/a.key"},
           {"VJVECTOR_TLS_CLIENT_AUTH", "optional"}},
          "tls.ca_file");
  refused({{"VJVECTOR_TLS_CA_FILE", "/ca.crt"}, {"VJVECTOR_TLS_CLIENT_AUTH", "require"}}, "tls.cert_file");
  refused({{"VJVECTOR_TLS_CERT_FILE", "/a.crt"}, {"VJVECTOR_TLS_KEY_FILE", "/a.key"},
           {"VJVECTOR_CLUSTER_ETCD", "http://127.0.0.1:2379"}},
          "tls.ca_file");
  refused({{"VJVECTOR_CLUSTER_ETCD_CERT_FILE", "/e.crt"}}, "cluster.etcd_key_file");
  refused({{"VJVECTOR_CLUSTER_ADVERTISE_URL", "https://n1:6333"}}, "tls.cert_file");
  ExpectRefusedNamingEnv("VJVECTOR_CLUSTER_ETCD", {"ftp://127.0.0.1:2379"});
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST(ServerConfigTest, RateLimitsComeFromFileWithRoleAndKeyOverrides) {
  auto config = LoadServerConfig(
      WriteYaml("security:\n  rate_limits:\n    read_per_s: 100\n    read_burst: 200\n    write_per_s: 10\n"
                "    roles:\n      reader: {write_per_s: 1}\n"
                "    keys:\n      \"api-key:main\": {read_per_s: 0, write_burst: 50}\n"),
      Env({{"VJVECTOR_SECURITY_RATE_LIMITS_WRITE_BURST", "20"}}), {});
  ASSERT_TRUE(config.ok()) << config.status();
  const RateLimitSettings& r = config->rate_limits;
  EXPECT_EQ(r.defaults.read, (RateLimit{100, 200}));
  EXPECT_EQ(r.defaults.write, (RateLimit{10, 20}));
  ASSERT_EQ(r.roles.count("reader"), 1u);
  EXPECT_EQ(r.roles.at("reader").write, (RateLimit{1, 0}));
  EXPECT_EQ(r.roles.at("reader").read, (RateLimit{100, 200}));  // unset fields: the defaults
  ASSERT_EQ(r.keys.count("api-key:main"), 1u);
  EXPECT_TRUE(r.keys.at("api-key:main").read.unlimited());
  EXPECT_EQ(r.keys.at("api-key:main").write, (RateLimit{10, 50}));
  // Unlimited by default.
  auto plain = LoadServerConfig("", Env({}), {});
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->rate_limits.defaults.read.unlimited());
  EXPECT_TRUE(plain->rate_limits.defaults.write.unlimited());
  // Typos and bad values are refused, naming the key.
  for (const char* bad : {"security:\n  rate_limits:\n    read_per_sec: 1\n",
                          "security:\n  rate_limit:\n    read_per_s: 1\n",
                          "security:\n  rate_limits:\n    roles:\n      reader: {reads: 1}\n",
                          "security:\n  rate_limits:\n    keys: [1]\n",
                          "security:\n  rate_limits:\n    write_burst: -1\n"}) {
    auto r2 = LoadServerConfig(WriteYaml(bad), Env({}), {});
    EXPECT_FALSE(r2.ok()) << bad;
  }
  ExpectRefusedNamingEnv("VJVECTOR_SECURITY_RATE_LIMITS_READ_PER_S", {"-1", "x", "nan", "1e10"});
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST(ServerConfigTest, TracingIsOffByDefaultAndItsSettingsAreChecked) {
  auto defaults = LoadServerConfig("", Env({}), {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->tracing_otlp_endpoint, "");
  EXPECT_EQ(defaults->tracing_sample_ratio, 1.0);
  EXPECT_EQ(defaults->tracing_service_name, "vjvector");
  auto config = LoadServerConfig(WriteYaml("tracing:\n  otlp_endpoint: http://collector:4318/\n  sample_ratio: 0.25\n"),
                                 Env({{"VJVECTOR_TRACING_SERVICE_NAME", "vj-eu"}}), {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tracing_otlp_endpoint, "http://collector:4318");  // the trailing slash dropped
  EXPECT_EQ(config->tracing_sample_ratio, 0.25);
  EXPECT_EQ(config->tracing_service_name, "vj-eu");
  ExpectRefusedNamingEnv("VJVECTOR_TRACING_OTLP_ENDPOINT", {"collector:4318", "ftp://x", "file:///etc/passwd"});
  ExpectRefusedNamingEnv("VJVECTOR_TRACING_SAMPLE_RATIO", {"1.5", "-0.1", "nan", "inf", "half"});
  ExpectRefusedNamingEnv("VJVECTOR_TRACING_SERVICE_NAME", {"a-name-longer-than-128-characters-0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"});
}

}  // namespace
}  // namespace vj

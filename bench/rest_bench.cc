#include "bench/rest_bench.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <array>
#include <string_view>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "api/rest_api.h"
#include "bench/dataset.h"
#include "bench/json_body.h"
#include "bench/loopback_client.h"
#include "collection/database.h"
#include "core/payload.h"
#include "index/vector_index.h"

namespace vj::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr const char* kCollection = "bench";

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The server binary as a child process on loopback. It dies with the benchmark (PR_SET_PDEATHSIG).
class ServerProcess {
 public:
  ServerProcess(std::string binary, std::string data_dir, std::string log, uint16_t port,
                std::vector<std::string> extra_args)
      : binary_(std::move(binary)),
        data_dir_(std::move(data_dir)),
        log_(std::move(log)),
        port_(port),
        extra_args_(std::move(extra_args)) {}
  ~ServerProcess() { Stop(); }

  pid_t pid() const { return pid_; }

  Status Start() {
    if (::access(binary_.c_str(), X_OK) != 0) {
      return absl::InvalidArgumentError("--binary " + binary_ + " is not an executable file");
    }
    std::vector<std::string> args = {binary_, "serve", "--data-dir", data_dir_, "--host", "127.0.0.1",
                                     "--http-port", std::to_string(port_), "--log-level", "warn"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) return absl::InternalError("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (std::freopen(log_.c_str(), "a", stderr) == nullptr) std::_Exit(126);
      ::dup2(::fileno(stderr), STDOUT_FILENO);
      ::execv(binary_.c_str(), argv.data());
      std::_Exit(127);
    }
    return absl::OkStatus();
  }
  // Seconds from `since` until GET /readyz answers 200; an error if the process exits or after limit_s.
  StatusOr<double> WaitReady(Clock::time_point since, double limit_s) {
    LoopbackClient client("127.0.0.1", port_, 5);
    std::string body;
    while (Since(since) < limit_s) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return absl::InternalError("the server exited during start-up (status " + std::to_string(status) +
                                   "); see " + log_);
      }
      auto reply = client.Call("GET", "/readyz", "", &body);
      if (reply.ok() && *reply == 200) return Since(since);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return absl::DeadlineExceededError("server not ready after " + std::to_string(limit_s) + " s; see " + log_);
  }
  // SIGTERM, then SIGKILL if it has not exited within 60 s.
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto start = Clock::now();
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Since(start) > 60) {
        std::fprintf(stderr, "vjvector-bench: server ignored SIGTERM for 60 s; killing it\n");
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
  }

 private:
  std::string binary_, data_dir_, log_;
  uint16_t port_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
};

// Fails the whole run (killing the server child) if it outlives its time limit.
class Watchdog {
 public:
  Watchdog(double limit_s, std::function<void()> on_expiry) {
    thread_ = std::thread([this, limit_s, on_expiry = std::move(on_expiry)] {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::duration<double>(limit_s), [this] { return done_; })) {
        std::fprintf(stderr, "vjvector-bench: rest run exceeded --time-limit %.0f s\n", limit_s);
        on_expiry();
        std::_Exit(3);
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

StatusOr<std::pair<std::string, uint16_t>> ParseLoopbackUrl(const std::string& url) {
  const std::string prefix = "http://";
  const size_t colon = url.rfind(':');
  if (url.rfind(prefix, 0) != 0 || colon == std::string::npos || colon < prefix.size()) {
    return absl::InvalidArgumentError("--url " + url + ": expected http://127.0.0.1:PORT");
  }
  std::string host = url.substr(prefix.size(), colon - prefix.size());
  std::string port_text = url.substr(colon + 1);
  while (!port_text.empty() && port_text.back() == '/') port_text.pop_back();
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return absl::InvalidArgumentError("--url " + url + ": bad port");
  }
  if (host == "localhost") host = "127.0.0.1";
  if (host.rfind("127.", 0) != 0) return absl::InvalidArgumentError("--url " + url + ": loopback only");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// One HTTP call that must answer 200; otherwise an error naming `what`, the status and the body.
Status CallOk(LoopbackClient& client, const std::string& method, const std::string& target,
              const std::string& payload, std::string* reply, const std::string& what) {
  VJ_ASSIGN_OR_RETURN(int status, client.Call(method, target, payload, reply));
  if (status != 200) return absl::InternalError(what + ": HTTP " + std::to_string(status) + " " + *reply);
  return absl::OkStatus();
}

struct Latencies {
  std::vector<double> seconds;
  double Percentile(double p) {
    std::sort(seconds.begin(), seconds.end());
    return seconds[std::min(seconds.size() - 1, static_cast<size_t>(p * seconds.size()))];
  }
};

// The exact top-k ids per query: from the ground truth file, or by brute force over a base subset.
StatusOr<std::vector<std::vector<uint32_t>>> TrueNeighbours(const RestOptions& o, const Matrix<float>& base,
                                                           const Matrix<float>& queries) {
  std::vector<std::vector<uint32_t>> truth(queries.rows);
  if (o.max_base == 0) {
    VJ_ASSIGN_OR_RETURN(Matrix<int32_t> gt, ReadIvecs(o.groundtruth, queries.rows));
    if (gt.rows < queries.rows || gt.dim < o.k) {
      return absl::InvalidArgumentError(o.groundtruth + ": fewer rows than queries or fewer than k columns");
    }
    for (size_t q = 0; q < queries.rows; ++q) truth[q].assign(gt.row(q), gt.row(q) + o.k);
    return truth;
  }
  auto flat = NewFlatIndex(base.dim, Metric::kEuclid);
  for (size_t i = 0; i < base.rows; ++i) flat->Insert(static_cast<uint32_t>(i), base.row(i));
  SearchParams p;
  p.k = o.k;
  p.exact = true;
  for (size_t q = 0; q < queries.rows; ++q) {
    for (const Neighbor& n : flat->Search(queries.row(q), p, IdFilter())) truth[q].push_back(n.id);
  }
  return truth;
}

double RecallOf(const std::vector<std::vector<uint32_t>>& found,
                const std::vector<std::vector<uint32_t>>& truth) {
  size_t hits = 0, total = 0;
  for (size_t q = 0; q < found.size(); ++q) {
    std::unordered_set<uint32_t> want(truth[q].begin(), truth[q].end());
    total += truth[q].size();
    for (uint32_t id : found[q]) hits += want.count(id);
  }
  return static_cast<double>(hits) / static_cast<double>(total);
}

// The ids of a query response; *handler_s (when given) gets its "time" field: the seconds the server's
// handler took, from routing the request to encoding the answer.
std::vector<uint32_t> IdsFromResponse(const std::string& body, double* handler_s = nullptr) {
  std::vector<uint32_t> ids;
  auto parsed = ParseJson(body);
  if (!parsed.ok() || !parsed->is_object()) return ids;
  if (const auto* time = parsed->as_object().if_contains("time"); handler_s != nullptr && time != nullptr) {
    *handler_s = time->is_number() ? time->to_number<double>() : 0;
  }
  const auto* result = parsed->as_object().if_contains("result");
  if (result == nullptr || !result->is_object()) return ids;
  const auto* points = result->as_object().if_contains("points");
  if (points == nullptr || !points->is_array()) return ids;
  for (const auto& p : points->as_array()) {
    const auto* id = p.is_object() ? p.as_object().if_contains("id") : nullptr;
    if (id != nullptr && id->is_number()) ids.push_back(static_cast<uint32_t>(id->to_number<uint64_t>()));
  }
  return ids;
}

// The server's own account of where its time went (server/http_server.cc,
// vjvector_http_request_phase_seconds_total): per-phase seconds summed over the requests of one route.
constexpr const char* kPhases[] = {"read", "dispatch", "decode", "execute", "encode", "write"};
constexpr size_t kPhaseCount = std::size(kPhases);
struct PhaseTotals {
  std::array<double, kPhaseCount> seconds{};
  double requests = 0;
  PhaseTotals operator-(const PhaseTotals& o) const {
    PhaseTotals d;
    for (size_t i = 0; i < kPhaseCount; ++i) d.seconds[i] = seconds[i] - o.seconds[i];
    d.requests = requests - o.requests;
    return d;
  }
  // The server-cost histogram's cumulative counts by upper bound (seconds).
  std::vector<std::pair<double, double>> cost_buckets;
  // Its p-quantile, linear within the bucket that holds it (Prometheus' histogram_quantile).
  double CostQuantile(const PhaseTotals& before, double p) const {
    const double total = cost_buckets.empty() ? 0 : cost_buckets.back().second - before.cost_buckets.back().second;
    double lower = 0, below = 0;
    for (size_t i = 0; i < cost_buckets.size(); ++i) {
      const double cumulative = cost_buckets[i].second - before.cost_buckets[i].second;
      if (cumulative >= p * total && cumulative > below) {
        if (std::isinf(cost_buckets[i].first)) return lower;
        return lower + (cost_buckets[i].first - lower) * (p * total - below) / (cumulative - below);
      }
      lower = cost_buckets[i].first;
      below = cumulative;
    }
    return lower;
  }
  double Mean(size_t phase) const { return requests > 0 ? seconds[phase] / requests : 0; }
  // Read + dispatch + decode + encode + write: everything the server does around the collection's work.
  double MeanServerCost() const {
    double total = 0;
    for (size_t i = 0; i < kPhaseCount; ++i) {
      if (std::string_view(kPhases[i]) != "execute") total += Mean(i);
    }
    return total;
  }
};

// The value of the sample `name{labels}` in a Prometheus text page (0 when absent).
double MetricValue(const std::string& page, const std::string& sample) {
  const size_t at = page.find("\n" + sample + " ");
  if (at == std::string::npos) return 0;
  return std::strtod(page.c_str() + at + 1 + sample.size() + 1, nullptr);
}

StatusOr<PhaseTotals> ReadPhases(LoopbackClient& client, const std::string& route) {
  std::string page;
  VJ_RETURN_IF_ERROR(CallOk(client, "GET", "/metrics", "", &page, "GET /metrics"));
  PhaseTotals t;
  for (size_t i = 0; i < kPhaseCount; ++i) {
    t.seconds[i] = MetricValue(page, "vjvector_http_request_phase_seconds_total{route=\"" + route +
                                         "\",phase=\"" + kPhases[i] + "\"}");
  }
  const std::string bucket = "vjvector_http_request_server_cost_seconds_bucket{route=\"" + route + "\",le=\"";
  for (size_t at = page.find(bucket); at != std::string::npos; at = page.find(bucket, at + 1)) {
    const char* le = page.c_str() + at + bucket.size();
    const double bound = std::strncmp(le, "+Inf", 4) == 0 ? HUGE_VAL : std::strtod(le, nullptr);
    const char* value = std::strchr(le, ' ');
    t.cost_buckets.push_back({bound, value != nullptr ? std::strtod(value + 1, nullptr) : 0});
  }
  t.requests = MetricValue(page, "vjvector_http_request_phase_requests_total{route=\"" + route + "\"}");
  return t;
}

struct Measured {
  explicit Measured(std::string l) : label(std::move(l)) {}
  std::string label;
  Latencies latency;
  double qps = 0, recall = 0;
};

void Report(Measured& m, bool json) {
  std::printf("%-24s p50 %7.3f ms  p95 %7.3f ms  p99 %7.3f ms  %8.0f QPS  recall %.4f\n", m.label.c_str(),
              m.latency.Percentile(0.5) * 1e3, m.latency.Percentile(0.95) * 1e3,
              m.latency.Percentile(0.99) * 1e3, m.qps, m.recall);
  if (json) {
    std::printf("{\"measure\": \"%s\", \"p50_ms\": %.4f, \"p95_ms\": %.4f, \"p99_ms\": %.4f, \"qps\": %.1f, "
                "\"recall\": %.4f}\n",
                m.label.c_str(), m.latency.Percentile(0.5) * 1e3, m.latency.Percentile(0.95) * 1e3,
                m.latency.Percentile(0.99) * 1e3, m.qps, m.recall);
  }
}

// Runs query(c, q) for every q over `clients` threads (client c takes q = c, c + clients, ...).
// Returns queries per second; the first failure fails the run.
StatusOr<double> Throughput(size_t clients, size_t queries, const std::function<Status(size_t, size_t)>& query) {
  std::vector<std::thread> threads;
  std::mutex mu;
  Status first_error;
  const auto start = Clock::now();
  for (size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (size_t q = c; q < queries; q += clients) {
        Status st = query(c, q);
        if (!st.ok()) {
          std::lock_guard lock(mu);
          if (first_error.ok()) first_error = st;
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double qps = static_cast<double>(queries) / Since(start);
  VJ_RETURN_IF_ERROR(first_error);
  return qps;
}

std::string UpsertBody(const Matrix<float>& base, size_t start, size_t end) {
  std::string body = "{\"points\": [";
  for (size_t i = start; i < end; ++i) {
    if (i != start) body.push_back(',');
    body += "{\"id\": " + std::to_string(i) + ", \"vector\": ";
    AppendVector(body, base.row(i), base.dim);
    body.push_back('}');
  }
  body += "]}";
  return body;
}

}  // namespace

Status RunRest(const RestOptions& o) {
  if (o.batch == 0 || o.k == 0) return absl::InvalidArgumentError("--batch and --k must be positive");
  VJ_ASSIGN_OR_RETURN(Matrix<float> base, ReadFvecs(o.base, o.max_base));
  VJ_ASSIGN_OR_RETURN(Matrix<float> queries, ReadFvecs(o.queries, o.max_queries));
  if (queries.dim != base.dim) return absl::InvalidArgumentError("queries and base differ in dimension");
  VJ_ASSIGN_OR_RETURN(auto truth, TrueNeighbours(o, base, queries));
  const std::string root = (std::filesystem::temp_directory_path() /
                            ("vjbench-rest-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/server");
  struct RemoveOnExit {
    std::string dir;
    ~RemoveOnExit() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_on_exit{root};

  // The server: started here on a free loopback port, or a running one (--url).
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::unique_ptr<ServerProcess> server;
  if (o.url.empty()) {
    port = FreePort();
    server = std::make_unique<ServerProcess>(o.binary, root + "/server", root + "/server.log", port, o.server_args);
  } else {
    VJ_ASSIGN_OR_RETURN(auto endpoint, ParseLoopbackUrl(o.url));
    std::tie(host, port) = endpoint;
  }
  Watchdog watchdog(o.time_limit_s, [&server] {
    if (server != nullptr && server->pid() > 0) ::kill(server->pid(), SIGKILL);
  });
  // With --url the collection gets a name of its own, deleted at the end.
  const std::string name = o.url.empty() ? kCollection : "vjbench_" + std::to_string(::getpid());
  const std::string points_path = "/collections/" + name + "/points";

  std::printf("# rest: base %zu x %zu, %zu queries, k=%zu, batches of %zu, server %s, "
              "in-process peer: vj::Collection in %s/inproc\n",
              base.rows, base.dim, queries.rows, o.k, o.batch,
              o.url.empty() ? o.binary.c_str() : o.url.c_str(), root.c_str());
  if (server != nullptr) {
    VJ_RETURN_IF_ERROR(server->Start());
    VJ_RETURN_IF_ERROR(server->WaitReady(Clock::now(), 120).status());
  }
  LoopbackClient client(host, port, o.call_timeout_s);
  std::string body;
  const std::string create = "{\"vectors\": {\"size\": " + std::to_string(base.dim) +
                             ", \"distance\": \"Euclid\"}" +
                             (o.collection_fields.empty() ? "" : ", " + o.collection_fields) + "}";
  VJ_RETURN_IF_ERROR(CallOk(client, "PUT", "/collections/" + name, create, &body, "create collection"));

  // Ingest over HTTP. Encoding the bodies is the client's work, done before the clock starts.
  std::vector<std::string> upserts;
  for (size_t start = 0; start < base.rows; start += o.batch) {
    upserts.push_back(UpsertBody(base, start, std::min(base.rows, start + o.batch)));
  }
  const auto ingest_start = Clock::now();
  for (const std::string& upsert : upserts) {
    VJ_RETURN_IF_ERROR(CallOk(client, "PUT", points_path + "?wait=true", upsert, &body, "upsert"));
  }
  const double rest_ingest_s = Since(ingest_start);
  upserts.clear();
  upserts.shrink_to_fit();

  double ready_s = -1;
  if (server != nullptr) {
    server->Stop();
    const auto restart = Clock::now();
    VJ_RETURN_IF_ERROR(server->Start());
    VJ_ASSIGN_OR_RETURN(ready_s, server->WaitReady(restart, 600));
  }

  // The same config, data and queries in-process: a vj::Collection (through a Database, so the API layer
  // can be measured too) in a directory of its own, written with the same batches and wait=true. The
  // server stays up, idle, so that the query passes below can take turns.
  DatabaseOptions db_options;
  db_options.data_dir = root + "/inproc";
  VJ_ASSIGN_OR_RETURN(auto database, Database::Open(db_options));
  VJ_ASSIGN_OR_RETURN(boost::json::value create_json, ParseJson(create));
  VJ_ASSIGN_OR_RETURN(CollectionConfig config, ParseCollectionConfig(create_json));
  VJ_RETURN_IF_ERROR(database->CreateCollection(kCollection, config));
  VJ_ASSIGN_OR_RETURN(auto collection, database->Get(kCollection));
  const auto inproc_ingest_start = Clock::now();
  for (size_t start = 0; start < base.rows; start += o.batch) {
    std::vector<PointInput> points;
    for (size_t i = start; i < std::min(base.rows, start + o.batch); ++i) {
      PointInput p;
      p.id = PointId::Num(i);
      p.vectors[""].assign(base.row(i), base.row(i) + base.dim);
      points.push_back(std::move(p));
    }
    VJ_RETURN_IF_ERROR(collection->Upsert(std::move(points), /*wait=*/true, RequestContext()));
  }
  const double inproc_ingest_s = Since(inproc_ingest_start);
  // Reopened, as the server was restarted: both sides then query a loaded collection with no write or
  // index work left running in the background, and the reopen time is the peer of restart-to-ready.
  collection.reset();
  database.reset();
  const auto reopen_start = Clock::now();
  VJ_ASSIGN_OR_RETURN(database, Database::Open(db_options));
  VJ_ASSIGN_OR_RETURN(collection, database->Get(kCollection));
  const double reopen_s = Since(reopen_start);
  RestApi api(*database, RestApiOptions{});

  std::vector<std::string> bodies;
  for (size_t q = 0; q < queries.rows; ++q) bodies.push_back(QueryBody(queries.row(q), queries.dim, o.k));
  const std::string query_path = "/collections/" + name + "/points/query";
  const std::string inproc_query_path = std::string("/collections/") + kCollection + "/points/query";

  // Three ways to run query q, each filling the ids it found:
  LoopbackClient query_client(host, port, o.call_timeout_s, o.client_spin);
  Latencies handler;  // the REST responses' own "time" field: the handler inside the server
  auto run_rest = [&](size_t q, std::vector<uint32_t>* ids) -> Status {
    VJ_RETURN_IF_ERROR(CallOk(query_client, "POST", query_path, bodies[q], &body, "query"));
    double handler_s = 0;
    *ids = IdsFromResponse(body, &handler_s);
    handler.seconds.push_back(handler_s);
    return absl::OkStatus();
  };
  auto run_api = [&](size_t q, std::vector<uint32_t>* ids) -> Status {
    Response response = api.Handle(Request{"POST", inproc_query_path, {}, bodies[q], {}});
    if (response.status != 200) return absl::InternalError("api query: " + response.body);
    *ids = IdsFromResponse(response.body);
    return absl::OkStatus();
  };
  auto run_inproc = [&](size_t q, std::vector<uint32_t>* ids) -> Status {
    QueryRequest r;  // built inside the timed region, as the server must build it too
    r.vector.assign(queries.row(q), queries.row(q) + queries.dim);
    r.limit = o.k;
    VJ_ASSIGN_OR_RETURN(auto views, collection->Query(r));
    ids->clear();
    for (const auto& v : views) ids->push_back(static_cast<uint32_t>(v.id.num()));
    return absl::OkStatus();
  };
  struct Way {
    Measured measured;
    std::function<Status(size_t, std::vector<uint32_t>*)> run;
    std::vector<std::vector<uint32_t>> found;
  };
  std::vector<Way> ways;
  ways.push_back({Measured(o.client_spin ? "REST, 1 polling client" : "REST, 1 client"), run_rest, {}});
  ways.push_back({Measured("API layer, no HTTP"), run_api, {}});
  ways.push_back({Measured("in-process, 1 thread"), run_inproc, {}});

  // 1 client. A warm-up pass each, then the ways take turns in blocks of queries: this machine is shared
  // and its speed drifts by more than the differences measured here, so each way must see the same
  // drift. The order rotates from block to block, as the first way after a switch finds the caches
  // filled by the other process's (or the other way's) data. The loopback floor is measured between
  // the blocks.
  std::vector<uint32_t> ids;
  Latencies warm_inproc;
  for (Way& way : ways) {
    way.found.resize(queries.rows);
    for (size_t q = 0; q < queries.rows; ++q) {
      const auto t = Clock::now();
      VJ_RETURN_IF_ERROR(way.run(q, &ids));
      if (&way == &ways.back()) warm_inproc.seconds.push_back(Since(t));
    }
  }
  // The floor's responder works as long as a typical in-process query takes.
  const auto work = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(warm_inproc.Percentile(0.5)));
  handler.seconds.clear();
  const size_t mean_body = [&] {
    size_t total = 0;
    for (const std::string& b : bodies) total += b.size();
    return total / bodies.size();
  }();
  Latencies floor, polling_floor, livez;
  constexpr char kQueryRoute[] = "/collections/{name}/points/query";
  VJ_ASSIGN_OR_RETURN(const PhaseTotals phases_before, ReadPhases(client, kQueryRoute));
  constexpr size_t kBlock = 500;
  for (size_t block = 0; block < queries.rows; block += kBlock) {
    for (size_t turn = 0; turn < ways.size(); ++turn) {
      Way& way = ways[(block / kBlock + turn) % ways.size()];
      for (size_t q = block; q < std::min(queries.rows, block + kBlock); ++q) {
        const auto t = Clock::now();
        VJ_RETURN_IF_ERROR(way.run(q, &way.found[q]));
        way.measured.latency.seconds.push_back(Since(t));
      }
    }
    for (bool polls : {false, true}) {
      VJ_ASSIGN_OR_RETURN(std::vector<double> round_trips, LoopbackRoundTrips(mean_body, 400, 50, work, polls));
      Latencies& into = polls ? polling_floor : floor;
      into.seconds.insert(into.seconds.end(), round_trips.begin(), round_trips.end());
    }
    // The trivial route's round trip through the real server (answered on the I/O thread, no handler).
    for (int i = 0; i < 100; ++i) {
      const auto t = Clock::now();
      VJ_RETURN_IF_ERROR(CallOk(query_client, "GET", "/livez", "", &body, "GET /livez"));
      livez.seconds.push_back(Since(t));
    }
  }
  VJ_ASSIGN_OR_RETURN(const PhaseTotals phases_after, ReadPhases(client, kQueryRoute));
  const PhaseTotals phases = phases_after - phases_before;
  if (phases_after.cost_buckets.size() != phases_before.cost_buckets.size() || phases_after.cost_buckets.empty()) {
    return absl::InternalError("the server's /metrics has no vjvector_http_request_server_cost_seconds for " +
                               std::string(kQueryRoute));
  }
  const double cost_p50 = phases_after.CostQuantile(phases_before, 0.5);
  for (Way& way : ways) {
    double total = 0;
    for (double s : way.measured.latency.seconds) total += s;
    way.measured.qps = static_cast<double>(queries.rows) / total;
    way.measured.recall = RecallOf(way.found, truth);
  }
  Measured& rest = ways[0].measured;
  Measured& codec = ways[1].measured;
  Measured& inproc = ways[2].measured;

  // What the server costs around a search: the same bodies, one client, against a collection of one
  // point, where the search itself takes next to nothing.
  Latencies tiny;
  {
    const std::string tiny_path = "/collections/" + name + "_tiny";
    VJ_RETURN_IF_ERROR(CallOk(client, "PUT", tiny_path, create, &body, "create the 1-point collection"));
    VJ_RETURN_IF_ERROR(CallOk(client, "PUT", tiny_path + "/points?wait=true", UpsertBody(base, 0, 1), &body,
                              "upsert into the 1-point collection"));
    for (int pass = 0; pass < 2; ++pass) {  // a warm-up pass, then the timed one
      for (size_t q = 0; q < queries.rows; ++q) {
        const auto t = Clock::now();
        VJ_RETURN_IF_ERROR(
            CallOk(query_client, "POST", tiny_path + "/points/query", bodies[q], &body, "query the 1-point collection"));
        if (pass == 1) tiny.seconds.push_back(Since(t));
      }
    }
    (void)client.Call("DELETE", tiny_path, "", &body);
  }

  // N clients, each with its own keep-alive connection; then as many in-process threads.
  std::vector<std::pair<size_t, double>> rest_throughput, inproc_throughput;
  for (size_t clients : o.clients) {
    if (clients <= 1) continue;
    std::vector<std::unique_ptr<LoopbackClient>> connections;
    std::vector<std::string> replies(clients);
    for (size_t c = 0; c < clients; ++c) {
      connections.push_back(std::make_unique<LoopbackClient>(host, port, o.call_timeout_s));
    }
    VJ_ASSIGN_OR_RETURN(double qps, Throughput(clients, queries.rows, [&](size_t c, size_t q) -> Status {
      return CallOk(*connections[c], "POST", query_path, bodies[q], &replies[c], "query under load");
    }));
    rest_throughput.push_back({clients, qps});
    std::vector<std::vector<uint32_t>> scratch(clients);
    VJ_ASSIGN_OR_RETURN(qps, Throughput(clients, queries.rows, [&](size_t c, size_t q) {
      return run_inproc(q, &scratch[c]);
    }));
    inproc_throughput.push_back({clients, qps});
  }
  if (server != nullptr) {
    server->Stop();
  } else {
    (void)client.Call("DELETE", "/collections/" + name, "", &body);
  }

  std::printf("ingest, batches of %zu, wait=true: REST %.0f points/s, in-process %.0f points/s "
              "(ratio %.3f)\n",
              o.batch, base.rows / rest_ingest_s, base.rows / inproc_ingest_s, inproc_ingest_s / rest_ingest_s);
  if (ready_s >= 0) {
    std::printf("restart to ready (/readyz 200): %.2f s for %zu points; in-process reopen %.2f s (ratio %.2f)\n",
                ready_s, base.rows, reopen_s, ready_s / reopen_s);
  } else {
    std::printf("in-process reopen: %.2f s for %zu points\n", reopen_s, base.rows);
  }
  Report(rest, o.json);
  Report(codec, o.json);
  Report(inproc, o.json);
  std::printf("%-24s p50 %7.3f ms  p99 %7.3f ms  (the \"time\" of the REST responses)\n", "server handler (time)",
              handler.Percentile(0.5) * 1e3, handler.Percentile(0.99) * 1e3);
  std::printf("%-24s p50 %7.3f ms  p99 %7.3f ms  (two threads, blocking sockets, %zu-byte request, "
              "400-byte reply after %.3f ms of work, less the work: the least any blocking client and "
              "server pay here)\n",
              "loopback round trip", floor.Percentile(0.5) * 1e3, floor.Percentile(0.99) * 1e3, mean_body,
              std::chrono::duration<double>(work).count() * 1e3);
  std::printf("%-24s p50 %7.3f ms  p99 %7.3f ms  (the same, the responder polling instead of sleeping)\n",
              "  polling responder", polling_floor.Percentile(0.5) * 1e3, polling_floor.Percentile(0.99) * 1e3);
  std::printf("%-24s p50 %7.3f ms  p99 %7.3f ms  (REST, 1 client, the same bodies against a 1-point collection: "
              "the server's cost around a search)\n",
              "REST, 1-point collection", tiny.Percentile(0.5) * 1e3, tiny.Percentile(0.99) * 1e3);
  for (size_t i = 0; i < rest_throughput.size(); ++i) {
    std::printf("%zu clients: REST %.0f QPS, in-process %zu threads %.0f QPS (ratio %.3f)\n",
                rest_throughput[i].first, rest_throughput[i].second, inproc_throughput[i].first,
                inproc_throughput[i].second, rest_throughput[i].second / inproc_throughput[i].second);
  }
  const double inproc_p50 = inproc.latency.Percentile(0.5);
  double inproc_mean = 0;
  for (double s : inproc.latency.seconds) inproc_mean += s;
  inproc_mean /= static_cast<double>(inproc.latency.seconds.size());
  std::printf("server phases, mean of %.0f queries (vjvector_http_request_phase_seconds_total):", phases.requests);
  for (size_t i = 0; i < kPhaseCount; ++i) std::printf(" %s %.1f us", kPhases[i], phases.Mean(i) * 1e6);
  std::printf("\n");
  std::printf("server cost per query (total - execute, vjvector_http_request_server_cost_seconds): p50 %.1f us "
              "= %.1f%% of the in-process query p50 %.1f us (means: %.1f us of %.1f us, %.1f%%); the loopback "
              "floor beside it: GET /livez round trip p50 %.1f us, bare round trip p50 %.1f us\n",
              cost_p50 * 1e6, cost_p50 / inproc_p50 * 100, inproc_p50 * 1e6, phases.MeanServerCost() * 1e6,
              inproc_mean * 1e6, phases.MeanServerCost() / inproc_mean * 100, livez.Percentile(0.5) * 1e6,
              floor.Percentile(0.5) * 1e6);
  std::printf("REST overhead at 1 client: p50 %+.1f%% (API layer alone %+.1f%%, loopback round trip %+.1f%%), "
              "p99 %+.1f%%, QPS ratio REST/in-process %.3f\n",
              (rest.latency.Percentile(0.5) / inproc_p50 - 1) * 100,
              (codec.latency.Percentile(0.5) / inproc_p50 - 1) * 100, floor.Percentile(0.5) / inproc_p50 * 100,
              (rest.latency.Percentile(0.99) / inproc.latency.Percentile(0.99) - 1) * 100, rest.qps / inproc.qps);
  if (o.json) {
    std::printf("{\"measure\": \"summary\", \"points\": %zu, \"rest_ingest_pps\": %.1f, \"inproc_ingest_pps\": %.1f, "
                "\"restart_to_ready_s\": %.3f, \"inproc_reopen_s\": %.3f, \"rest_overhead_p50\": %.4f, "
                "\"rest_qps_ratio\": %.4f, \"server_handler_p50_ms\": %.4f, \"loopback_round_trip_p50_ms\": %.4f, "
                "\"loopback_round_trip_polling_p50_ms\": %.4f, \"rest_one_point_p50_ms\": %.4f, "
                "\"server_cost_p50_us\": %.2f, \"server_cost_p50_ratio\": %.4f, \"server_cost_mean_us\": %.2f, "
                "\"livez_p50_us\": %.2f",
                base.rows, base.rows / rest_ingest_s, base.rows / inproc_ingest_s, ready_s, reopen_s,
                rest.latency.Percentile(0.5) / inproc_p50 - 1, rest.qps / inproc.qps,
                handler.Percentile(0.5) * 1e3, floor.Percentile(0.5) * 1e3,
                polling_floor.Percentile(0.5) * 1e3, tiny.Percentile(0.5) * 1e3, cost_p50 * 1e6,
                cost_p50 / inproc_p50, phases.MeanServerCost() * 1e6, livez.Percentile(0.5) * 1e6);
    for (size_t i = 0; i < rest_throughput.size(); ++i) {
      std::printf(", \"rest_qps_%zu_clients\": %.1f, \"inproc_qps_%zu_threads\": %.1f", rest_throughput[i].first,
                  rest_throughput[i].second, inproc_throughput[i].first, inproc_throughput[i].second);
    }
    std::printf("}\n");
  }
  return absl::OkStatus();
}

}  // namespace vj::bench

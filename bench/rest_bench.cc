#include "bench/rest_bench.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <unordered_set>

#include "bench/dataset.h"
#include "bench/loopback_client.h"
#include "api/rest_api.h"
#include "collection/database.h"
#include "core/payload.h"
#include "index/vector_index.h"

namespace vj::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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

class ServerProcess {
 public:
  ServerProcess(std::string binary, std::string data_dir, uint16_t port)
      : binary_(std::move(binary)), data_dir_(std::move(data_dir)), port_(port) {}
  ~ServerProcess() { Stop(); }

  void Start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string port = std::to_string(port_);
      std::FILE* log = std::freopen((data_dir_ + "/../server.log").c_str(), "a", stderr);
      (void)log;
      ::execl(binary_.c_str(), binary_.c_str(), "serve", "--data-dir", data_dir_.c_str(), "--host",
              "127.0.0.1", "--http-port", port.c_str(), "--log-level", "warn", nullptr);
      std::_Exit(127);
    }
  }
  // Seconds until GET /readyz answers 200, or an error after 300 s.
  StatusOr<double> WaitReady(Clock::time_point since) {
    LoopbackClient client("127.0.0.1", port_);
    std::string body;
    while (Since(since) < 300) {
      auto status = client.Call("GET", "/readyz", "", &body);
      if (status.ok() && *status == 200) return Since(since);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return absl::DeadlineExceededError("server not ready after 300 s");
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string binary_, data_dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

void AppendVector(std::string& out, const float* v, size_t dim) {
  char buf[32];
  out.push_back('[');
  for (size_t i = 0; i < dim; ++i) {
    if (i) out.push_back(',');
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v[i]);
    out.append(buf, end);
  }
  out.push_back(']');
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

std::vector<uint32_t> IdsFromResponse(const std::string& body) {
  std::vector<uint32_t> ids;
  auto parsed = ParseJson(body);
  if (!parsed.ok()) return ids;
  const auto* result = parsed->as_object().if_contains("result");
  if (result == nullptr) return ids;
  for (const auto& p : result->as_object().at("points").as_array()) {
    ids.push_back(static_cast<uint32_t>(p.as_object().at("id").to_number<uint64_t>()));
  }
  return ids;
}

void Report(const char* label, Latencies& lat, double qps, double recall, bool json) {
  std::printf("%-26s p50 %7.3f ms  p95 %7.3f ms  p99 %7.3f ms  %8.0f QPS  recall@10 %.4f\n", label,
              lat.Percentile(0.5) * 1e3, lat.Percentile(0.95) * 1e3, lat.Percentile(0.99) * 1e3, qps, recall);
  if (json) {
    std::printf("{\"measure\": \"%s\", \"p50_ms\": %.4f, \"p95_ms\": %.4f, \"p99_ms\": %.4f, \"qps\": %.1f, "
                "\"recall\": %.4f}\n",
                label, lat.Percentile(0.5) * 1e3, lat.Percentile(0.95) * 1e3, lat.Percentile(0.99) * 1e3, qps,
                recall);
  }
}

}  // namespace

Status RunRest(const RestOptions& o) {
  VJ_ASSIGN_OR_RETURN(Matrix<float> base, ReadFvecs(o.base, o.max_base));
  VJ_ASSIGN_OR_RETURN(Matrix<float> queries, ReadFvecs(o.queries, o.max_queries));
  VJ_ASSIGN_OR_RETURN(auto truth, TrueNeighbours(o, base, queries));
  const std::string root = (std::filesystem::temp_directory_path() /
                            ("vjbench-rest-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/server");
  std::printf("# rest: base %zu x %zu, %zu queries, k=%zu, batches of %zu, binary %s\n", base.rows,
              base.dim, queries.rows, o.k, o.batch, o.binary.c_str());

  const uint16_t port = FreePort();
  ServerProcess server(o.binary, root + "/server", port);
  server.Start();
  VJ_RETURN_IF_ERROR(server.WaitReady(Clock::now()).status());
  LoopbackClient client("127.0.0.1", port);
  std::string body;
  const std::string create = "{\"vectors\": {\"size\": " + std::to_string(base.dim) + ", \"distance\": \"Euclid\"}}";
  VJ_ASSIGN_OR_RETURN(int status, client.Call("PUT", "/collections/bench", create, &body));
  if (status != 200) return absl::InternalError("create collection: " + body);

  const auto ingest_start = Clock::now();
  for (size_t start = 0; start < base.rows; start += o.batch) {
    std::string payload = "{\"points\": [";
    for (size_t i = start; i < std::min(base.rows, start + o.batch); ++i) {
      if (i != start) payload.push_back(',');
      payload += "{\"id\": " + std::to_string(i) + ", \"vector\": ";
      AppendVector(payload, base.row(i), base.dim);
      payload.push_back('}');
    }
    payload += "]}";
    VJ_ASSIGN_OR_RETURN(status, client.Call("PUT", "/collections/bench/points?wait=true", payload, &body));
    if (status != 200) return absl::InternalError("upsert: " + body);
  }
  const double ingest_s = Since(ingest_start);
  std::printf("REST ingest (wait=true):   %.0f points/s (%zu points in %.1f s)\n", base.rows / ingest_s,
              base.rows, ingest_s);

  server.Stop();
  const auto restart = Clock::now();
  server.Start();
  VJ_ASSIGN_OR_RETURN(double ready_s, server.WaitReady(restart));
  std::printf("restart to ready:          %.2f s for %zu points\n", ready_s, base.rows);

  std::vector<std::string> bodies(queries.rows);
  for (size_t q = 0; q < queries.rows; ++q) {
    bodies[q] = "{\"query\": ";
    AppendVector(bodies[q], queries.row(q), queries.dim);
    bodies[q] += ", \"limit\": " + std::to_string(o.k) + "}";
  }
  std::vector<std::vector<uint32_t>> found(queries.rows);
  LoopbackClient query_client("127.0.0.1", port);
  for (size_t q = 0; q < std::min<size_t>(queries.rows, 200); ++q) {  // warm-up
    VJ_RETURN_IF_ERROR(query_client.Call("POST", "/collections/bench/points/query", bodies[q], &body).status());
  }
  Latencies rest;
  const auto rest_start = Clock::now();
  for (size_t q = 0; q < queries.rows; ++q) {
    const auto t = Clock::now();
    VJ_ASSIGN_OR_RETURN(status, query_client.Call("POST", "/collections/bench/points/query", bodies[q], &body));
    rest.seconds.push_back(Since(t));
    if (status != 200) return absl::InternalError("query: " + body);
    found[q] = IdsFromResponse(body);
  }
  const double rest_qps = queries.rows / Since(rest_start);
  const double rest_recall = RecallOf(found, truth);

  std::vector<std::pair<size_t, double>> throughput;
  for (size_t clients : o.clients) {
    if (clients <= 1) continue;
    std::vector<std::thread> threads;
    std::atomic<size_t> failures{0};
    const auto start = Clock::now();
    for (size_t c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        LoopbackClient own("127.0.0.1", port);
        std::string reply;
        for (size_t q = c; q < queries.rows; q += clients) {
          auto st = own.Call("POST", "/collections/bench/points/query", bodies[q], &reply);
          if (!st.ok() || *st != 200) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    throughput.push_back({clients, queries.rows / Since(start)});
    if (failures.load() != 0) return absl::InternalError("failed queries under load");
  }
  server.Stop();

  // The same index and queries in-process: the server's data directory, opened here.
  DatabaseOptions db_options;
  db_options.data_dir = root + "/server";
  VJ_ASSIGN_OR_RETURN(auto database, Database::Open(db_options));
  VJ_ASSIGN_OR_RETURN(auto collection, database->Get("bench"));
  Latencies inproc;
  auto run_inproc = [&](size_t q) -> Status {
    QueryRequest r;  // built inside the timed region, as the server must build it too
    r.vector.assign(queries.row(q), queries.row(q) + queries.dim);
    r.limit = o.k;
    VJ_ASSIGN_OR_RETURN(auto views, collection->Query(r));
    found[q].clear();
    for (const auto& v : views) found[q].push_back(static_cast<uint32_t>(v.id.num()));
    return absl::OkStatus();
  };
  for (size_t q = 0; q < std::min<size_t>(queries.rows, 200); ++q) VJ_RETURN_IF_ERROR(run_inproc(q));
  const auto inproc_start = Clock::now();
  for (size_t q = 0; q < queries.rows; ++q) {
    const auto t = Clock::now();
    VJ_RETURN_IF_ERROR(run_inproc(q));
    inproc.seconds.push_back(Since(t));
  }
  const double inproc_qps = queries.rows / Since(inproc_start);
  const double inproc_recall = RecallOf(found, truth);

  // The API layer alone (JSON decode, query, JSON encode), without HTTP: splits the REST overhead
  // into codec and transport.
  RestApi api(*database, RestApiOptions{});
  Latencies api_lat;
  const auto api_start = Clock::now();
  for (size_t q = 0; q < queries.rows; ++q) {
    const auto t = Clock::now();
    Response response = api.Handle(Request{"POST", "/collections/bench/points/query", {}, bodies[q]});
    api_lat.seconds.push_back(Since(t));
    if (response.status != 200) return absl::InternalError("api query: " + response.body);
    found[q] = IdsFromResponse(response.body);
  }
  const double api_qps = queries.rows / Since(api_start);
  const double api_recall = RecallOf(found, truth);

  Report("REST, 1 client", rest, rest_qps, rest_recall, o.json);
  Report("API without HTTP", api_lat, api_qps, api_recall, o.json);
  Report("in-process, 1 thread", inproc, inproc_qps, inproc_recall, o.json);
  for (const auto& [clients, qps] : throughput) {
    std::printf("REST, %zu clients:           %8.0f QPS\n", clients, qps);
  }
  std::printf("REST overhead at 1 client:  p50 %+.1f%%, QPS ratio REST/in-process %.3f\n",
              (rest.Percentile(0.5) / inproc.Percentile(0.5) - 1) * 100, rest_qps / inproc_qps);
  collection.reset();
  database.reset();
  std::filesystem::remove_all(root);
  return absl::OkStatus();
}

}  // namespace vj::bench

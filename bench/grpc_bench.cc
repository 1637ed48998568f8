// vjvector-grpc-bench: query latency over gRPC, over REST and in-process, on the same small random
// dataset in one run (docs/benchmarks.md "gRPC"). It starts `vjvector serve` with a gRPC port, loads N
// points over REST, loads the same points into an in-process Database, then runs the same queries
// (nearest, limit 10) at 1 and 8 clients each way: every client has its own connection (a REST
// keep-alive connection, a gRPC channel of its own) or, in-process, its own thread. Prints p50/p99 and QPS.
// Seconds, not minutes: defaults are N=5000, dim=128, 2000 queries per pass.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "bench/loopback_client.h"
#include "collection/database.h"
#include "points.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string VectorJson(const std::vector<float>& v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%s%.7g", i ? "," : "", v[i]);
    s += buf;
  }
  return s + "]";
}

struct Result {
  std::string way;
  size_t clients;
  double p50_ms, p99_ms, qps;
};

// `clients` threads share `total` queries; run(client, q) runs query q on that client's connection.
template <typename Run>
Result Measure(const std::string& way, size_t clients, size_t total, size_t nq, Run run) {
  std::vector<std::vector<double>> lat(clients);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (size_t i = c; i < total; i += clients) {
        const auto t = Clock::now();
        if (!run(c, i % nq)) {
          std::fprintf(stderr, "%s: query failed\n", way.c_str());
          std::exit(1);
        }
        lat[c].push_back(Since(t));
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall = Since(start);
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))] * 1e3; };
  return {way, clients, pct(0.50), pct(0.99), all.size() / wall};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"query latency over gRPC, REST and in-process"};
  std::string binary = "build/vjvector";
  size_t n = 5000, dim = 128, queries = 2000;
  std::vector<size_t> client_counts = {1, 8};
  app.add_option("--binary", binary);
  app.add_option("--points", n);
  app.add_option("--dim", dim);
  app.add_option("--queries", queries, "queries per pass");
  app.add_option("--clients", client_counts);
  CLI11_PARSE(app, argc, argv);

  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  auto random_vector = [&] {
    std::vector<float> v(dim);
    for (float& x : v) x = normal(rng);
    return v;
  };
  std::vector<std::vector<float>> base(n), qs(200);
  for (auto& v : base) v = random_vector();
  for (auto& v : qs) v = random_vector();

  const std::string root = std::filesystem::temp_directory_path() / ("vj-grpc-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root);
  const uint16_t http_port = FreePort(), grpc_port = FreePort();
  std::vector<std::string> args = {binary, "serve", "--data-dir", root + "/server", "--host", "127.0.0.1",
                                   "--http-port", std::to_string(http_port), "--grpc-port",
                                   std::to_string(grpc_port), "--log-level", "warn"};
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (std::freopen((root + "/server.log").c_str(), "a", stderr) == nullptr) std::_Exit(126);
    ::dup2(::fileno(stderr), STDOUT_FILENO);
    ::execv(binary.c_str(), cargs.data());
    std::_Exit(127);
  }
  vj::bench::LoopbackClient admin("127.0.0.1", http_port, 30);
  std::string body;
  for (int i = 0; i < 2000; ++i) {
    auto r = admin.Call("GET", "/readyz", "", &body);
    if (r.ok() && *r == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string create = "{\"vectors\": {\"size\": " + std::to_string(dim) + ", \"distance\": \"Cosine\"}}";
  auto call = [&](const char* method, const std::string& path, const std::string& payload) {
    auto r = admin.Call(method, path, payload, &body);
    if (!r.ok() || *r != 200) {
      std::fprintf(stderr, "%s %s failed: %s\n", method, path.c_str(), body.c_str());
      ::kill(pid, SIGKILL);
      std::exit(1);
    }
  };
  call("PUT", "/collections/bench", create);
  auto database = vj::Database::Open(vj::DatabaseOptions{.data_dir = root + "/inproc"});
  if (!database.ok()) return 1;
  vj::CollectionConfig config;
  config.vectors[""] = vj::VectorParams{dim, vj::Metric::kCosine};
  if (!(*database)->CreateCollection("bench", config).ok()) return 1;
  auto collection = *(*database)->Get("bench");
  for (size_t start = 0; start < n; start += 500) {
    std::string points = "{\"points\": [";
    std::vector<vj::PointInput> inputs;
    for (size_t i = start; i < std::min(n, start + 500); ++i) {
      points += (i > start ? "," : "") + std::string("{\"id\": ") + std::to_string(i) + ", \"vector\": " +
                VectorJson(base[i]) + "}";
      vj::PointInput p;
      p.id = vj::PointId::Num(i);
      p.vectors[""] = base[i];
      inputs.push_back(std::move(p));
    }
    call("PUT", "/collections/bench/points?wait=true", points + "]}");
    if (!collection->Upsert(std::move(inputs), true, vj::RequestContext()).ok()) return 1;
  }

  std::vector<std::string> rest_bodies;
  std::vector<qdrant::QueryPoints> grpc_requests;
  for (const auto& q : qs) {
    rest_bodies.push_back("{\"query\": " + VectorJson(q) + ", \"limit\": 10}");
    qdrant::QueryPoints r;
    r.set_collection_name("bench");
    r.mutable_query()->mutable_nearest()->mutable_dense()->mutable_data()->Add(q.begin(), q.end());
    r.set_limit(10);
    grpc_requests.push_back(std::move(r));
  }

  std::vector<Result> results;
  for (size_t clients : client_counts) {
    std::vector<std::unique_ptr<vj::bench::LoopbackClient>> rest;
    std::vector<std::unique_ptr<qdrant::Points::Stub>> stubs;
    for (size_t c = 0; c < clients; ++c) {
      rest.push_back(std::make_unique<vj::bench::LoopbackClient>("127.0.0.1", http_port, 30));
      grpc::ChannelArguments channel_args;
      channel_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection per client, as REST
      stubs.push_back(qdrant::Points::NewStub(grpc::CreateCustomChannel(
          "127.0.0.1:" + std::to_string(grpc_port), grpc::InsecureChannelCredentials(), channel_args)));
    }
    auto run_rest = [&](size_t c, size_t q) {
      std::string out;
      auto r = rest[c]->Call("POST", "/collections/bench/points/query", rest_bodies[q], &out);
      return r.ok() && *r == 200;
    };
    auto run_grpc = [&](size_t c, size_t q) {
      grpc::ClientContext context;
      qdrant::QueryResponse response;
      return stubs[c]->Query(&context, grpc_requests[q], &response).ok() && response.result_size() == 10;
    };
    auto run_inproc = [&](size_t, size_t q) {
      vj::QueryRequest r;
      r.vector = qs[q];
      r.limit = 10;
      auto views = collection->Query(r);
      return views.ok() && views->size() == 10;
    };
    // Warm-up: connections, caches.
    Measure("warm-up", clients, 100, qs.size(), run_rest);
    Measure("warm-up", clients, 100, qs.size(), run_grpc);
    results.push_back(Measure("REST", clients, queries, qs.size(), run_rest));
    results.push_back(Measure("gRPC", clients, queries, qs.size(), run_grpc));
    results.push_back(Measure("in-process", clients, queries, qs.size(), run_inproc));
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  collection.reset();
  database->reset();
  std::filesystem::remove_all(root);
  std::printf("%zu points, dim %zu, Cosine, nearest limit 10, %zu queries per pass; hardware threads: %u\n", n, dim,
              queries, std::thread::hardware_concurrency());
  std::printf("%-11s %7s %9s %9s %9s\n", "way", "clients", "p50 ms", "p99 ms", "QPS");
  for (const Result& r : results) {
    std::printf("%-11s %7zu %9.3f %9.3f %9.0f\n", r.way.c_str(), r.clients, r.p50_ms, r.p99_ms, r.qps);
  }
  return 0;
}

#include "bench/ann_bench.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <unordered_set>

#include "bench/ann_engine.h"
#include "bench/dataset.h"
#include "core/distance.h"

namespace vj::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

struct Row {
  std::string engine, config;
  size_t ef;
  double recall, qps, build_s, bytes_per_vector;
};

double Recall(const std::vector<std::vector<int64_t>>& found, const Matrix<int32_t>& truth, size_t k) {
  size_t hits = 0;
  for (size_t q = 0; q < found.size(); ++q) {
    std::unordered_set<int64_t> expected(truth.row(q), truth.row(q) + k);
    for (int64_t id : found[q]) hits += expected.count(id);
  }
  return static_cast<double>(hits) / static_cast<double>(found.size() * k);
}

void PrintSummary(const std::vector<Row>& rows) {
  std::printf("\nbest QPS at recall >= target (and VJVector's ratio to hnswlib):\n");
  std::printf("%-28s %12s %12s %12s\n", "engine", "@0.90", "@0.95", "@0.99");
  std::map<std::string, std::array<double, 3>> best;
  const double targets[3] = {0.90, 0.95, 0.99};
  for (const Row& r : rows) {
    auto& b = best[r.engine + r.config];
    for (int t = 0; t < 3; ++t) {
      if (r.recall >= targets[t] && r.qps > b[t]) b[t] = r.qps;
    }
  }
  for (const auto& [engine, b] : best) {
    std::printf("%-28s %12.0f %12.0f %12.0f\n", engine.c_str(), b[0], b[1], b[2]);
  }
  auto peer = best.find("hnswlib");
  if (peer == best.end()) return;
  for (const auto& [engine, b] : best) {
    if (engine.rfind("vjvector", 0) != 0) continue;
    std::printf("%-28s", (engine + " / hnswlib").c_str());
    for (int t = 0; t < 3; ++t) {
      if (peer->second[t] > 0 && b[t] > 0) {
        std::printf(" %11.2fx", b[t] / peer->second[t]);
      } else {
        std::printf(" %12s", "-");
      }
    }
    std::printf("\n");
  }
}

}  // namespace

Status RunAnn(const AnnOptions& o) {
  VJ_ASSIGN_OR_RETURN(Matrix<float> base, ReadFvecs(o.base));
  VJ_ASSIGN_OR_RETURN(Matrix<float> queries, ReadFvecs(o.queries, o.max_queries));
  VJ_ASSIGN_OR_RETURN(Matrix<int32_t> truth, ReadIvecs(o.groundtruth, o.max_queries));
  if (queries.dim != base.dim) return absl::InvalidArgumentError("queries and base differ in dimension");
  if (truth.rows < queries.rows || truth.dim < o.k) {
    return absl::InvalidArgumentError("ground truth has fewer rows than queries or fewer than k columns");
  }
  std::printf("# ann: base %zu x %zu, %zu queries, k=%zu, M=%zu, efConstruction=%zu, build threads %zu; "
              "VJVector kernels %s; peers compiled -O3 -march=native (hnswlib), Debian build (FAISS)\n",
              base.rows, base.dim, queries.rows, o.k, o.m, o.ef_construction, o.threads,
              BestKernels().isa);
  std::printf("%-28s %6s %8s %10s %9s %10s\n", "engine", "ef", "recall", "QPS", "build_s", "B/vector");
  std::vector<Row> rows;
  for (const std::string& name : o.engines) {
    std::vector<std::string> variants = name == "vjvector" ? o.quantization : std::vector<std::string>{"none"};
    for (const std::string& quantization : variants) {
      EngineParams params{o.m, o.ef_construction, o.threads, quantization};
      std::unique_ptr<AnnEngine> engine;
      if (name == "vjvector") engine = NewVjvectorEngine(params);
      else if (name == "hnswlib") engine = NewHnswlibEngine(params);
      else if (name == "faiss-hnsw") engine = NewFaissHnswEngine(params);
      else return absl::InvalidArgumentError("unknown engine " + name);
      const auto build_start = Clock::now();
      engine->Build(base);
      const double build_s = Seconds(build_start);
      const double bytes = engine->bytes_per_vector();
      std::vector<std::vector<int64_t>> found(queries.rows);
      for (size_t ef : o.ef) {
        engine->SetEf(ef);
        for (size_t q = 0; q < queries.rows; ++q) engine->Search(queries.row(q), o.k, found[q]);  // warm-up
        const auto start = Clock::now();
        for (size_t q = 0; q < queries.rows; ++q) engine->Search(queries.row(q), o.k, found[q]);
        const double qps = static_cast<double>(queries.rows) / Seconds(start);
        Row row{engine->name(), engine->config_json(), ef, Recall(found, truth, o.k), qps, build_s, bytes};
        const std::string label = row.engine + (quantization == "none" ? "" : "/" + quantization);
        std::printf("%-28s %6zu %8.4f %10.0f %9.2f %10.0f\n", label.c_str(), ef, row.recall, row.qps,
                    build_s, bytes);
        if (o.json) {
          std::printf("{\"engine\": \"%s\", \"config\": {\"m\": %zu, \"ef_construction\": %zu%s}, \"ef\": %zu, "
                      "\"recall\": %.4f, \"qps\": %.1f, \"build_s\": %.3f, \"build_threads\": %zu, "
                      "\"bytes_per_vector\": %.1f}\n",
                      row.engine.c_str(), o.m, o.ef_construction, row.config.c_str(), ef, row.recall,
                      row.qps, build_s, o.threads, bytes);
        }
        std::fflush(stdout);
        row.engine = label;
        row.config.clear();
        rows.push_back(row);
      }
    }
  }
  PrintSummary(rows);
  return absl::OkStatus();
}

}  // namespace vj::bench

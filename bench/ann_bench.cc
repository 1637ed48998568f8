#include "bench/ann_bench.h"

#include <malloc.h>

#include <array>
#include <atomic>
#include <thread>
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

// Heap bytes in use in every malloc arena, mmapped blocks included: the harness's own measure of what an
// engine leaves allocated, the same rule for every engine (its own accounting may miss things).
// Memory-mapped files are not heap: their pages are the kernel's cache.
size_t HeapBytesInUse() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

struct Row {
  std::string engine, config;
  size_t ef;
  double recall, qps, build_s, bytes_per_vector, accounted_bytes_per_vector;
  double qps_threads = 0;     // with AnnOptions::search_threads threads (0: not measured)
  double dist_per_query = -1;  // distance evaluations per query (-1: the engine cannot count)
};

struct Best {
  std::array<double, 3> qps{};  // at recall 0.90, 0.95, 0.99; 0 = not reached
  std::array<double, 3> qps_threads{};  // of the same sweep points
  std::array<double, 3> dist{};         // distance evaluations per query of the same sweep points
  double max_recall = 0;
  double build_s = 0, bytes_per_vector = 0, accounted_bytes_per_vector = 0;
};

void Normalize(Matrix<float>& m) {
  for (size_t r = 0; r < m.rows; ++r) NormalizeInPlace(m.data.data() + r * m.dim, m.dim);
}

// Queries per second with `threads` threads sharing the query list (each its own result vector).
double ThreadedQps(AnnEngine& engine, const Matrix<float>& queries, size_t k, size_t threads) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::vector<int64_t> out;
    for (size_t q; (q = next.fetch_add(1, std::memory_order_relaxed)) < queries.rows;) {
      engine.Search(queries.row(q), k, out);
    }
  };
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return static_cast<double>(queries.rows) / Seconds(start);
}

double Recall(const std::vector<std::vector<int64_t>>& found, const Matrix<int32_t>& truth, size_t k) {
  size_t hits = 0;
  for (size_t q = 0; q < found.size(); ++q) {
    std::unordered_set<int64_t> expected(truth.row(q), truth.row(q) + k);
    for (int64_t id : found[q]) hits += expected.count(id);
  }
  return static_cast<double>(hits) / static_cast<double>(found.size() * k);
}

void PrintSummary(const std::vector<Row>& rows, size_t threads) {
  std::printf("\nbest QPS among sweep points reaching recall@k >= 0.90 / 0.95 / 0.99 (- = not reached); "
              "T%zu: that point with %zu search threads; dist: distance evaluations per query there:\n",
              threads, threads);
  std::printf("%-28s %10s %10s %10s %9s %10s %10s %9s %9s %9s %8s\n", "engine", "@0.90", "@0.95", "@0.99",
              "build_s", "B/vector", "accounted", "T@0.95", "T@0.99", "dist@.95", "max_rec");
  std::map<std::string, Best> best;
  std::vector<std::string> order;
  const double targets[3] = {0.90, 0.95, 0.99};
  for (const Row& r : rows) {
    if (!best.count(r.engine)) order.push_back(r.engine);
    Best& b = best[r.engine];
    b.build_s = r.build_s;
    b.bytes_per_vector = r.bytes_per_vector;
    b.accounted_bytes_per_vector = r.accounted_bytes_per_vector;
    b.max_recall = std::max(b.max_recall, r.recall);
    for (int t = 0; t < 3; ++t) {
      if (r.recall >= targets[t] && r.qps > b.qps[t]) {
        b.qps[t] = r.qps;
        b.qps_threads[t] = r.qps_threads;
        b.dist[t] = r.dist_per_query;
      }
    }
  }
  auto cell = [](double v, const char* format) {
    char buf[32];
    if (v > 0) std::snprintf(buf, sizeof(buf), format, v);
    else std::snprintf(buf, sizeof(buf), "-");
    return std::string(buf);
  };
  for (const std::string& engine : order) {
    const Best& b = best[engine];
    std::printf("%-28s %10s %10s %10s %9.2f %10.0f %10.0f %9s %9s %9s %8.4f\n", engine.c_str(),
                cell(b.qps[0], "%.0f").c_str(), cell(b.qps[1], "%.0f").c_str(), cell(b.qps[2], "%.0f").c_str(),
                b.build_s, b.bytes_per_vector, b.accounted_bytes_per_vector,
                cell(b.qps_threads[1], "%.0f").c_str(), cell(b.qps_threads[2], "%.0f").c_str(),
                cell(b.dist[1], "%.0f").c_str(), b.max_recall);
  }
  auto peer = best.find("hnswlib");
  if (peer == best.end()) return;
  const Best& h = peer->second;
  for (const std::string& engine : order) {
    if (engine.rfind("vjvector", 0) != 0) continue;
    const Best& b = best[engine];
    std::printf("%-28s", (engine + " / hnswlib").c_str());
    for (int t = 0; t < 3; ++t) {
      std::printf(" %10s", h.qps[t] > 0 && b.qps[t] > 0 ? cell(b.qps[t] / h.qps[t], "%.2fx").c_str() : "-");
    }
    std::printf(" %8.2fx %9.2fx %9.2fx", b.build_s / h.build_s, b.bytes_per_vector / h.bytes_per_vector,
                b.accounted_bytes_per_vector / h.accounted_bytes_per_vector);
    for (int t = 1; t < 3; ++t) {
      const bool both = h.qps_threads[t] > 0 && b.qps_threads[t] > 0;
      std::printf(" %9s", both ? cell(b.qps_threads[t] / h.qps_threads[t], "%.2fx").c_str() : "-");
    }
    const bool dist = h.dist[1] > 0 && b.dist[1] > 0;
    std::printf(" %9s\n", dist ? cell(b.dist[1] / h.dist[1], "%.2fx").c_str() : "-");
  }
}

}  // namespace

Status RunAnn(const AnnOptions& o) {
  VJ_ASSIGN_OR_RETURN(Matrix<float> base, ReadFvecs(o.base));
  VJ_ASSIGN_OR_RETURN(Matrix<float> queries, ReadFvecs(o.queries, o.max_queries));
  if (o.metric == "cosine") {
    // Every engine gets unit vectors (VJVector's cosine normalises again: a no-op), so the peers'
    // inner product ranks as cosine does.
    Normalize(base);
    Normalize(queries);
  }
  VJ_ASSIGN_OR_RETURN(Matrix<int32_t> truth, ReadIvecs(o.groundtruth, o.max_queries));
  if (queries.dim != base.dim) return absl::InvalidArgumentError("queries and base differ in dimension");
  if (truth.rows < queries.rows || truth.dim < o.k) {
    return absl::InvalidArgumentError("ground truth has fewer rows than queries or fewer than k columns");
  }
  std::printf("# ann: base %zu x %zu, %zu queries, metric %s, k=%zu, M=%zu, efConstruction=%zu, build threads %zu, "
              "search 1 thread (and %zu: T), one query per call; VJVector codes re-rank k * %.1f\n",
              base.rows, base.dim, queries.rows, o.metric.c_str(), o.k, o.m, o.ef_construction, o.threads,
              o.search_threads, o.oversampling);
  std::printf("# flags: VJVector libraries '%s' with runtime-dispatched %s kernels; hnswlib peer '%s'; "
              "FAISS Debian's generic static build\n",
              VJ_BENCH_VJ_FLAGS, BestKernels().isa, VJ_BENCH_HNSWLIB_FLAGS);
  std::printf("# B/vector: heap bytes the build left allocated (malloc arenas and mmapped blocks) / n; "
              "accounted: the engine's sum of its structures / n\n");
  std::printf("%-28s %6s %8s %10s %9s %10s %10s %9s %8s\n", "engine", "ef", "recall", "QPS", "build_s", "B/vector",
              "accounted", "QPS_T", "dist/q");
  std::vector<Row> rows;
  for (const std::string& name : o.engines) {
    std::vector<std::string> variants = name == "vjvector" ? o.quantization : std::vector<std::string>{"none"};
    for (const std::string& quantization : variants) {
      EngineParams params{o.m,          o.ef_construction, o.threads,     quantization,
                          o.vector_dir, o.metric,          o.oversampling};
      std::unique_ptr<AnnEngine> engine;
      if (name == "vjvector") engine = NewVjvectorEngine(params);
      else if (name == "hnswlib") engine = NewHnswlibEngine(params);
      else if (name == "faiss-hnsw") engine = NewFaissHnswEngine(params);
      else if (name == "faiss-flat") engine = NewFaissFlatEngine(params);
      else return absl::InvalidArgumentError("unknown engine " + name);
      const size_t heap_before = HeapBytesInUse();
      const auto build_start = Clock::now();
      engine->Build(base);
      const double build_s = Seconds(build_start);
      const double bytes =
          (static_cast<double>(HeapBytesInUse()) - static_cast<double>(heap_before)) / double(base.rows);
      const double accounted = engine->bytes_per_vector();
      std::vector<std::vector<int64_t>> found(queries.rows);
      const std::vector<size_t> sweep = engine->has_ef() ? o.ef : std::vector<size_t>{0};
      for (size_t ef : sweep) {
        engine->SetEf(ef);
        for (size_t q = 0; q < queries.rows; ++q) engine->Search(queries.row(q), o.k, found[q]);  // warm-up
        const auto start = Clock::now();
        for (size_t q = 0; q < queries.rows; ++q) engine->Search(queries.row(q), o.k, found[q]);
        const double qps = static_cast<double>(queries.rows) / Seconds(start);
        Row row{engine->name(), engine->config_json(), ef, Recall(found, truth, o.k), qps, build_s, bytes,
                accounted};
        // Untimed: count distance evaluations; then the multi-threaded throughput.
        engine->CountDistances(true);
        std::vector<int64_t> scratch;
        for (size_t q = 0; q < queries.rows; ++q) engine->Search(queries.row(q), o.k, scratch);
        const double counted = engine->distance_count();
        engine->CountDistances(false);
        if (counted >= 0) row.dist_per_query = counted / static_cast<double>(queries.rows);
        if (o.search_threads > 1 && engine->concurrent_search()) row.qps_threads = ThreadedQps(*engine, queries, o.k, o.search_threads);
        const std::string label = row.engine + (quantization == "none" ? "" : "/" + quantization);
        std::printf("%-28s %6zu %8.4f %10.0f %9.2f %10.0f %10.0f %9.0f %8.0f\n", label.c_str(), ef, row.recall,
                    row.qps, build_s, bytes, accounted, row.qps_threads, row.dist_per_query);
        if (o.json) {
          std::printf("{\"engine\": \"%s\", \"variant\": \"%s\", \"config\": {\"m\": %zu, \"ef_construction\": %zu%s}, "
                      "\"metric\": \"%s\", \"ef\": %zu, "
                      "\"recall\": %.4f, \"qps\": %.1f, \"search_threads\": %zu, \"qps_threads\": %.1f, "
                      "\"dist_per_query\": %.1f, \"build_s\": %.3f, \"build_threads\": %zu, "
                      "\"bytes_per_vector\": %.1f, \"accounted_bytes_per_vector\": %.1f}\n",
                      row.engine.c_str(), label.c_str(), o.m, o.ef_construction, row.config.c_str(),
                      o.metric.c_str(), ef, row.recall, row.qps, o.search_threads, row.qps_threads,
                      row.dist_per_query, build_s, o.threads, bytes, accounted);
        }
        std::fflush(stdout);
        row.engine = label;
        row.config.clear();
        rows.push_back(row);
      }
    }
  }
  PrintSummary(rows, o.search_threads);
  return absl::OkStatus();
}

}  // namespace vj::bench

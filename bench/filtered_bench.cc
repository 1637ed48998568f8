// Filtered search benchmark (VJVector only): for each selectivity, a filter of that share of the base
// points, exact filtered ground truth computed here, and recall/QPS of (a) the graph walk with the filter
// applied during traversal and (b) an exact scan of the matching points — the two plans between which
// the shard's planner chooses (it scans when the matching vectors are under full_scan_threshold).
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <unordered_set>

#include "bench/ann_bench.h"
#include "bench/dataset.h"
#include "index/vector_index.h"

namespace vj::bench {
namespace {

using Clock = std::chrono::steady_clock;

StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path, size_t n) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return absl::InvalidArgumentError("cannot open " + path);
  unsigned char header[8];
  std::vector<uint8_t> labels(n);
  bool ok = gzread(f, header, 8) == 8 && header[2] == 0x08 && header[3] == 0x01 &&
            gzread(f, labels.data(), static_cast<unsigned>(n)) == static_cast<int>(n);
  gzclose(f);
  if (!ok) return absl::InvalidArgumentError(path + ": not an IDX1 label file with enough labels");
  return labels;
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

struct FilterCase {
  std::string kind;  // "random" or "class"
  double selectivity;
  std::vector<uint8_t> allowed;
};

// "class": whole classes while they fit, then a hash-sampled share of the next class, so the filter is
// correlated with the vectors (fashion-mnist classes cluster).
std::vector<uint8_t> ClassFilter(const std::vector<uint8_t>& labels, double s) {
  std::vector<uint8_t> allowed(labels.size(), 0);
  const double per_class = 0.1;
  const int whole = static_cast<int>(s / per_class + 1e-9);
  const double rest = (s - whole * per_class) / per_class;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < whole) {
      allowed[i] = 1;
    } else if (labels[i] == whole && static_cast<double>(Mix(i) % 1000000) / 1e6 < rest) {
      allowed[i] = 1;
    }
  }
  return allowed;
}

}  // namespace

Status RunFilteredAnn(const AnnOptions& o) {
  VJ_ASSIGN_OR_RETURN(Matrix<float> base, ReadFvecs(o.base, o.max_base));
  VJ_ASSIGN_OR_RETURN(Matrix<float> queries, ReadFvecs(o.queries, o.max_queries == 0 ? 1000 : o.max_queries));
  std::vector<FilterCase> cases;
  std::vector<uint8_t> labels;
  if (!o.labels.empty()) {
    VJ_ASSIGN_OR_RETURN(labels, ReadIdxLabels(o.labels, base.rows));
  }
  for (double s : o.filter_selectivity) {
    FilterCase random{"random", s, std::vector<uint8_t>(base.rows)};
    for (size_t i = 0; i < base.rows; ++i) {
      random.allowed[i] = static_cast<double>(Mix(i + 7) % 1000000) / 1e6 < s;
    }
    cases.push_back(std::move(random));
    if (!labels.empty()) cases.push_back({"class", s, ClassFilter(labels, s)});
  }

  HnswParams h;
  h.m = o.m;
  h.ef_construct = o.ef_construction;
  auto index = NewHnswIndex(base.dim, Metric::kEuclid, h);
  std::vector<uint32_t> ids(base.rows);
  std::vector<const float*> vectors(base.rows);
  for (size_t i = 0; i < base.rows; ++i) {
    ids[i] = static_cast<uint32_t>(i);
    vectors[i] = base.row(i);
  }
  const auto build_start = Clock::now();
  index->InsertBatch(ids, vectors, o.threads);
  std::printf("# filtered: base %zu x %zu, %zu queries, k=%zu, M=%zu, efConstruction=%zu, build %.1f s\n",
              base.rows, base.dim, queries.rows, o.k, o.m, o.ef_construction,
              std::chrono::duration<double>(Clock::now() - build_start).count());
  std::printf("# planner: exact scan when matching x dim x 4 B < full_scan_threshold %zu KB, else graph\n",
              h.full_scan_threshold_kb);
  std::printf("%-7s %11s %9s %-12s %6s %8s %10s %s\n", "filter", "selectivity", "matching", "plan", "ef",
              "recall", "QPS", "planner picks");
  for (const FilterCase& c : cases) {
    std::vector<uint32_t> matching;
    for (size_t i = 0; i < base.rows; ++i) {
      if (c.allowed[i]) matching.push_back(static_cast<uint32_t>(i));
    }
    if (matching.empty()) continue;
    // Exact filtered ground truth: brute force over the matching points, queries split over threads.
    std::vector<std::vector<uint32_t>> truth(queries.rows);
    {
      std::vector<std::thread> workers;
      for (size_t t = 0; t < std::max<size_t>(1, o.threads); ++t) {
        workers.emplace_back([&, t] {
          for (size_t q = t; q < queries.rows; q += std::max<size_t>(1, o.threads)) {
            for (const Neighbor& n : index->SearchAmong(queries.row(q), o.k, matching)) truth[q].push_back(n.id);
          }
        });
      }
      for (std::thread& w : workers) w.join();
    }
    // The shard's planner (collection/shard_read.cc) scans exactly when the matching vectors are under
    // full_scan_threshold_kb, else walks the graph (and scans if the walk returns fewer than k).
    const double matching_kb = static_cast<double>(matching.size()) * base.dim * sizeof(float) / 1024.0;
    const bool planner_scans = matching_kb < static_cast<double>(h.full_scan_threshold_kb);
    const char* planner = planner_scans ? "exact-scan" : "graph";
    auto measure = [&](const std::string& plan, size_t ef, auto&& search) {
      size_t hits = 0, expected = 0;
      for (size_t q = 0; q < queries.rows; ++q) search(q);  // warm-up
      const auto start = Clock::now();
      std::vector<std::vector<Neighbor>> found(queries.rows);
      for (size_t q = 0; q < queries.rows; ++q) found[q] = search(q);
      const double qps = static_cast<double>(queries.rows) /
                         std::chrono::duration<double>(Clock::now() - start).count();
      for (size_t q = 0; q < queries.rows; ++q) {
        std::unordered_set<uint32_t> want(truth[q].begin(), truth[q].end());
        expected += truth[q].size();
        for (const Neighbor& n : found[q]) hits += want.count(n.id);
      }
      const double recall = static_cast<double>(hits) / static_cast<double>(expected);
      std::printf("%-7s %11.4f %9zu %-12s %6zu %8.4f %10.0f %s\n", c.kind.c_str(), c.selectivity,
                  matching.size(), plan.c_str(), ef, recall, qps, planner);
      if (o.json) {
        std::printf("{\"engine\": \"vjvector\", \"config\": {\"m\": %zu, \"ef_construction\": %zu, "
                    "\"filter\": \"%s\", \"selectivity\": %.4f, \"plan\": \"%s\"}, \"ef\": %zu, "
                    "\"recall\": %.4f, \"qps\": %.1f, \"matching\": %zu, \"planner\": \"%s\"}\n",
                    o.m, o.ef_construction, c.kind.c_str(), c.selectivity, plan.c_str(), ef, recall, qps,
                    matching.size(), planner);
      }
      std::fflush(stdout);
    };
    measure("exact-scan", 0, [&](size_t q) { return index->SearchAmong(queries.row(q), o.k, matching); });
    const IdFilter allowed = [&c](uint32_t id) { return c.allowed[id] != 0; };
    for (size_t ef : {64, 128, 256}) {
      SearchParams p;
      p.k = o.k;
      p.ef = ef;
      measure("graph", ef, [&](size_t q) { return index->Search(queries.row(q), p, allowed); });
    }
    // What the planner runs at the default ef (128): the scan under the threshold; above it the walk,
    // with the planner's budget of scored nodes (FilteredWalkBudget), and the scan when the walk gives
    // up or returns fewer than k.
    SearchParams planned;
    planned.k = o.k;
    planned.ef = 128;
    planned.max_scored = FilteredWalkBudget(static_cast<double>(matching.size()), planned.ef);
    measure("planner", planned.ef, [&](size_t q) {
      if (planner_scans) return index->SearchAmong(queries.row(q), o.k, matching);
      std::vector<Neighbor> found = index->Search(queries.row(q), planned, allowed);
      if (found.size() < o.k) found = index->SearchAmong(queries.row(q), o.k, matching);
      return found;
    });
  }
  return absl::OkStatus();
}

}  // namespace vj::bench

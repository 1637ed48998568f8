// The ANN benchmark protocol of ../shared/BENCHMARKS.md: build each engine with the same M and
// efConstruction, then for each search breadth ef: a warm-up pass, a timed single-threaded loop of one
// query per call, and recall@k against the ground truth. Filtered mode measures VJVector's filtered
// search at given selectivities against exact filtered ground truth computed here.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace vj::bench {

struct AnnOptions {
  std::string base, queries, groundtruth;
  size_t k = 10;
  size_t m = 16;
  size_t ef_construction = 200;
  std::vector<size_t> ef = {10, 16, 32, 64, 128, 256, 512};
  std::vector<std::string> engines = {"vjvector", "hnswlib", "faiss-hnsw"};
  std::vector<std::string> quantization = {"none"};  // VJVector rows: none, sq8, sq8-disk, binary
  std::string vector_dir = ".";  // where sq8-disk keeps its vector file (removed with the index)
  size_t threads = 2;
  size_t max_queries = 0;  // 0 = all
  size_t max_base = 0;     // 0 = all (ground truth must then be recomputed: see filtered mode)
  bool json = false;
  std::string metric = "l2";  // l2, cosine (base and queries normalised first) or dot
  float oversampling = 2.0f;
  size_t search_threads = 2;  // > 1: also a throughput pass with this many threads
  // Filtered mode (VJVector only) when non-empty: fractions of points a filter matches.
  std::vector<double> filter_selectivity;
  std::string labels;  // optional: one label per base vector (IDX1 .gz from dataset-fashion-mnist)
};

[[nodiscard]] Status RunAnn(const AnnOptions& options);
[[nodiscard]] Status RunFilteredAnn(const AnnOptions& options);

}  // namespace vj::bench

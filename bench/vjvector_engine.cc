// VJVector's own HNSW index as a benchmark engine.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/ann_engine.h"
#include "index/vector_index.h"

namespace vj::bench {
namespace {

class VjvectorEngine : public AnnEngine {
 public:
  explicit VjvectorEngine(const EngineParams& p) : params_(p) {}
  std::string name() const override { return "vjvector"; }
  std::string config_json() const override {
    const std::string& q = params_.quantization;
    if (q == "sq8-disk") return ",\"quantization\":\"sq8\",\"vectors_on_disk\":true";
    if (q == "binary") return ",\"quantization\":\"binary\",\"oversampling\":10";
    if (q == "sq8-global") return ",\"quantization\":\"sq8\",\"ranges\":\"global\"";
    if (q == "sq8-dim") return ",\"quantization\":\"sq8\",\"ranges\":\"per_dimension\"";
    return q == "none" ? "" : ",\"quantization\":\"" + q + "\"";
  }

  void Build(const Matrix<float>& base) override {
    HnswParams h;
    h.m = params_.m;
    h.ef_construct = params_.ef_construction;
    const std::string& q = params_.quantization;
    if (q == "sq8" || q == "sq8-disk" || q == "sq8-global" || q == "sq8-dim") {
      h.quantization = Quantization::kScalarInt8;
    }
    if (q == "sq8-global") h.sq8_ranges = Sq8Ranges::kGlobal;
    if (q == "sq8-dim") h.sq8_ranges = Sq8Ranges::kPerDimension;
    if (q == "binary") h.quantization = Quantization::kBinary;
    if (q == "sq8-disk") {
      h.vectors_on_disk = true;
      h.storage_path = params_.vector_dir + "/vjvector-bench-" + std::to_string(::getpid()) + ".vectors";
    }
    const Metric metric = params_.metric == "cosine" ? Metric::kCosine
                          : params_.metric == "dot"  ? Metric::kDot
                                                     : Metric::kEuclid;
    StatusOr<std::unique_ptr<VectorIndex>> index = CreateHnswIndex(base.dim, metric, h);
    if (!index.ok()) {
      std::fprintf(stderr, "vjvector-bench: %s\n", std::string(index.status().message()).c_str());
      std::exit(1);
    }
    index_ = std::move(*index);
    std::vector<uint32_t> ids(base.rows);
    std::vector<const float*> vectors(base.rows);
    for (size_t i = 0; i < base.rows; ++i) {
      ids[i] = static_cast<uint32_t>(i);
      vectors[i] = base.row(i);
    }
    index_->InsertBatch(ids, vectors, params_.threads);
    n_ = base.rows;
  }
  void SetEf(size_t ef) override { ef_ = ef; }
  void Search(const float* query, size_t k, std::vector<int64_t>& out) override {
    SearchParams p;
    p.k = k;
    p.ef = ef_;
    p.oversampling = params_.oversampling;
    if (params_.quantization == "binary") p.oversampling = std::max(kBinaryOversampling, p.oversampling);
    SearchStats stats;
    if (counting_) p.stats = &stats;
    std::vector<Neighbor> found = index_->Search(query, p, IdFilter());
    if (counting_) distances_ += static_cast<double>(stats.scored + stats.reranked);
    out.resize(found.size());
    for (size_t i = 0; i < found.size(); ++i) out[i] = found[i].id;
  }
  // Heap only: with vectors_on_disk the floats' file pages are the kernel's cache, not the index's.
  double bytes_per_vector() const override {
    return static_cast<double>(index_->memory_bytes()) / static_cast<double>(n_);
  }
  void CountDistances(bool on) override {
    counting_ = on;
    distances_ = 0;
  }
  double distance_count() const override { return distances_; }
  VectorIndex& index() { return *index_; }

 private:
  EngineParams params_;
  size_t n_ = 0;
  size_t ef_ = 64;
  bool counting_ = false;
  double distances_ = 0;
  std::unique_ptr<VectorIndex> index_;
};

}  // namespace

std::unique_ptr<AnnEngine> NewVjvectorEngine(const EngineParams& params) {
  return std::make_unique<VjvectorEngine>(params);
}

}  // namespace vj::bench

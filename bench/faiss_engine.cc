// FAISS peers (Debian's generic build): IndexHNSWFlat, and IndexFlatL2 as the exact baseline.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <omp.h>

#include "bench/ann_engine.h"

namespace vj::bench {
namespace {

class FaissHnswEngine : public AnnEngine {
 public:
  explicit FaissHnswEngine(const EngineParams& p) : params_(p) {}
  std::string name() const override { return "faiss-hnsw"; }

  void Build(const Matrix<float>& base) override {
    omp_set_num_threads(static_cast<int>(params_.threads));
    index_ = std::make_unique<faiss::IndexHNSWFlat>(
        static_cast<int>(base.dim), static_cast<int>(params_.m),
        params_.metric == "l2" ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT);
    index_->hnsw.efConstruction = static_cast<int>(params_.ef_construction);
    index_->add(static_cast<faiss::Index::idx_t>(base.rows), base.data.data());
    n_ = base.rows;
    omp_set_num_threads(1);  // searches are single-threaded, one query per call
  }
  void SetEf(size_t ef) override { index_->hnsw.efSearch = static_cast<int>(ef); }
  void Search(const float* query, size_t k, std::vector<int64_t>& out) override {
    out.resize(k);
    distances_.resize(k);
    index_->search(1, query, static_cast<faiss::Index::idx_t>(k), distances_.data(), out.data());
  }
  // Flat vector storage plus the neighbour table (offsets, levels, neighbours).
  bool concurrent_search() const override { return false; }  // distances_ is shared
  double bytes_per_vector() const override {
    const auto& h = index_->hnsw;
    double bytes = static_cast<double>(n_) * index_->d * sizeof(float);
    bytes += h.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t);
    bytes += h.offsets.size() * sizeof(size_t) + h.levels.size() * sizeof(int);
    return bytes / static_cast<double>(n_);
  }

 private:
  EngineParams params_;
  size_t n_ = 0;
  std::unique_ptr<faiss::IndexHNSWFlat> index_;
  std::vector<float> distances_;
};

class FaissFlatEngine : public AnnEngine {
 public:
  explicit FaissFlatEngine(const EngineParams& p) : params_(p) {}
  std::string name() const override { return "faiss-flat"; }

  void Build(const Matrix<float>& base) override {
    index_ = std::make_unique<faiss::IndexFlat>(
        static_cast<int>(base.dim), params_.metric == "l2" ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT);
    index_->add(static_cast<faiss::Index::idx_t>(base.rows), base.data.data());
    omp_set_num_threads(1);
  }
  bool has_ef() const override { return false; }
  void SetEf(size_t) override {}
  void Search(const float* query, size_t k, std::vector<int64_t>& out) override {
    out.resize(k);
    distances_.resize(k);
    index_->search(1, query, static_cast<faiss::Index::idx_t>(k), distances_.data(), out.data());
  }
  bool concurrent_search() const override { return false; }
  double bytes_per_vector() const override { return static_cast<double>(index_->d) * sizeof(float); }

 private:
  EngineParams params_;
  std::unique_ptr<faiss::IndexFlat> index_;
  std::vector<float> distances_;
};

}  // namespace

std::unique_ptr<AnnEngine> NewFaissFlatEngine(const EngineParams& params) {
  return std::make_unique<FaissFlatEngine>(params);
}

std::unique_ptr<AnnEngine> NewFaissHnswEngine(const EngineParams& params) {
  return std::make_unique<FaissHnswEngine>(params);
}

}  // namespace vj::bench

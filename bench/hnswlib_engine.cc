// hnswlib peer. Debian's hnswlib 0.6.2 header defines non-inline functions: include it in this
// translation unit only. Compiled with -O3 -march=native (see CMakeLists.txt), as BENCHMARKS.md asks:
// beating a handicapped peer proves nothing.
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

#include "bench/ann_engine.h"

namespace vj::bench {
namespace {

// The counting pass swaps the index's distance function for this wrapper, which counts every call.
struct CountingParam {
  hnswlib::DISTFUNC<float> inner;
  void* inner_param;
  std::atomic<uint64_t>* count;
};
float CountingDistance(const void* a, const void* b, const void* param) {
  const auto* p = static_cast<const CountingParam*>(param);
  p->count->fetch_add(1, std::memory_order_relaxed);
  return p->inner(a, b, p->inner_param);
}

class HnswlibEngine : public AnnEngine {
 public:
  explicit HnswlibEngine(const EngineParams& p) : params_(p) {}
  std::string name() const override { return "hnswlib"; }

  void Build(const Matrix<float>& base) override {
    if (params_.metric == "l2") {
      space_ = std::make_unique<hnswlib::L2Space>(base.dim);
    } else {
      space_ = std::make_unique<hnswlib::InnerProductSpace>(base.dim);
    }
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), base.rows, params_.m,
                                                                params_.ef_construction, 100);
    n_ = base.rows;
    std::vector<std::thread> threads;
    for (size_t t = 0; t < params_.threads; ++t) {
      threads.emplace_back([&, t] {
        for (size_t i = t; i < base.rows; i += params_.threads) index_->addPoint(base.row(i), i);
      });
    }
    for (auto& th : threads) th.join();
  }
  void SetEf(size_t ef) override { index_->setEf(ef); }
  void CountDistances(bool on) override {
    count_.store(0);
    if (on) {
      counting_ = {index_->fstdistfunc_, index_->dist_func_param_, &count_};
      index_->fstdistfunc_ = CountingDistance;
      index_->dist_func_param_ = &counting_;
    } else if (index_->fstdistfunc_ == CountingDistance) {
      index_->fstdistfunc_ = counting_.inner;
      index_->dist_func_param_ = counting_.inner_param;
    }
  }
  double distance_count() const override { return static_cast<double>(count_.load()); }
  void Search(const float* query, size_t k, std::vector<int64_t>& out) override {
    auto result = index_->searchKnn(query, k);
    out.assign(result.size(), -1);
    for (size_t i = result.size(); i-- > 0;) {
      out[i] = static_cast<int64_t>(result.top().second);
      result.pop();
    }
  }
  // Everything hnswlib allocates per element, by its own arrays: level 0 (links, vector, label), the
  // link-list pointers, levels and per-element mutexes, the fixed pool of update mutexes, the label map
  // (buckets and nodes; malloc headers not counted) and the upper-level link lists of the nodes that
  // have them. Not counted: its visited-list pool (2 bytes per element per list) and malloc headers;
  // the harness's heap measurement includes both.
  double bytes_per_vector() const override {
    const auto& x = *index_;
    const double elements = static_cast<double>(x.max_elements_);
    double bytes = elements * (x.size_data_per_element_ + sizeof(char*) + sizeof(int) + sizeof(std::mutex));
    bytes += static_cast<double>(x.link_list_update_locks_.size()) * sizeof(std::mutex);
    using Node = std::pair<const hnswlib::labeltype, hnswlib::tableint>;
    bytes += static_cast<double>(x.label_lookup_.bucket_count()) * sizeof(void*) +
             static_cast<double>(x.label_lookup_.size()) * (sizeof(void*) + sizeof(Node));
    for (size_t i = 0; i < n_; ++i) {
      bytes += static_cast<double>(x.element_levels_[i]) * x.size_links_per_element_;
    }
    return bytes / static_cast<double>(n_);
  }

 private:
  EngineParams params_;
  size_t n_ = 0;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  CountingParam counting_{};
  std::atomic<uint64_t> count_{0};
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
};

}  // namespace

std::unique_ptr<AnnEngine> NewHnswlibEngine(const EngineParams& params) {
  return std::make_unique<HnswlibEngine>(params);
}

}  // namespace vj::bench

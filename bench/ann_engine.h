// AnnEngine: one ANN index under benchmark (VJVector's HNSW or a peer library), behind one interface so
// the harness runs every engine through the same protocol (../shared/BENCHMARKS.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/dataset.h"

namespace vj::bench {

struct EngineParams {
  size_t m = 16;
  size_t ef_construction = 200;
  size_t threads = 2;
  // VJVector only: "none", "sq8", "sq8-disk" (SQ8 codes in RAM, floats in a memory-mapped file in
  // vector_dir), "binary" (searched with oversampling kBinaryOversampling).
  std::string quantization = "none";
  std::string vector_dir = ".";
  // "l2", "cosine" (base and queries arrive normalised: hnswlib and FAISS then rank by inner product)
  // or "dot".
  std::string metric = "l2";
  // VJVector with codes: re-rank max(k, k * oversampling) candidates with floats (the server's default
  // is 2; binary uses kBinaryOversampling unless this is larger).
  float oversampling = 2.0f;
};

inline constexpr float kBinaryOversampling = 10.0f;

class AnnEngine {
 public:
  virtual ~AnnEngine() = default;
  virtual std::string name() const = 0;
  // Extra fields of the JSON "config" object, e.g. ",\"quantization\":\"sq8\"" (may be empty).
  virtual std::string config_json() const { return ""; }
  // Builds the index over base (L2), using params.threads threads.
  virtual void Build(const Matrix<float>& base) = 0;
  // False for an exact engine: it has no search breadth, and the sweep measures it once (ef 0).
  virtual bool has_ef() const { return true; }
  virtual void SetEf(size_t ef) = 0;
  // Writes the ids of the k nearest to query into out (resized to k); single-threaded.
  virtual void Search(const float* query, size_t k, std::vector<int64_t>& out) = 0;
  // Counting mode for an untimed pass: while on, the engine counts the distance evaluations its
  // searches make (graph walk and re-ranking). distance_count() is the total since it was turned on,
  // or -1 when the engine cannot count.
  virtual void CountDistances(bool on) {}
  // Whether Search may be called from several threads at once (the throughput pass).
  virtual bool concurrent_search() const { return true; }
  virtual double distance_count() const { return -1; }
  // Index bytes per vector by the engine's own accounting of its structures; the harness also
  // measures the heap the build left allocated, which catches what such accounting misses.
  virtual double bytes_per_vector() const = 0;
};

std::unique_ptr<AnnEngine> NewVjvectorEngine(const EngineParams& params);
std::unique_ptr<AnnEngine> NewHnswlibEngine(const EngineParams& params);
std::unique_ptr<AnnEngine> NewFaissHnswEngine(const EngineParams& params);
// FAISS IndexFlatL2: exact brute force, the baseline of ../shared/BENCHMARKS.md.
std::unique_ptr<AnnEngine> NewFaissFlatEngine(const EngineParams& params);

}  // namespace vj::bench

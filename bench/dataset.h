// TEXMEX .fvecs / .ivecs readers for the benchmark harness (each vector: int32 dimension, then values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace vj::bench {

template <typename T>
struct Matrix {
  size_t rows = 0;
  size_t dim = 0;
  std::vector<T> data;  // rows * dim, row-major
  const T* row(size_t i) const { return data.data() + i * dim; }
};

// InvalidArgument naming the file when it is missing, empty, or not a whole number of records of one
// dimension. `max_rows` (0 = all) keeps only the first rows.
StatusOr<Matrix<float>> ReadFvecs(const std::string& path, size_t max_rows = 0);
StatusOr<Matrix<int32_t>> ReadIvecs(const std::string& path, size_t max_rows = 0);

}  // namespace vj::bench

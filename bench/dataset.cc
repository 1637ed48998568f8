#include "bench/dataset.h"

#include <cstdio>
#include <cstring>

namespace vj::bench {
namespace {

template <typename T>
StatusOr<Matrix<T>> ReadVecs(const std::string& path, size_t max_rows) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::InvalidArgumentError("cannot open " + path);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  int32_t dim = 0;
  if (size < 4 || std::fread(&dim, 4, 1, f) != 1 || dim <= 0 || dim > (1 << 20)) {
    std::fclose(f);
    return absl::InvalidArgumentError(path + ": not a TEXMEX vecs file (bad first dimension)");
  }
  const size_t record = 4 + static_cast<size_t>(dim) * sizeof(T);
  if (static_cast<size_t>(size) % record != 0) {
    std::fclose(f);
    return absl::InvalidArgumentError(path + ": size is not a whole number of " +
                                      std::to_string(dim) + "-dimensional records");
  }
  Matrix<T> m;
  m.dim = static_cast<size_t>(dim);
  m.rows = static_cast<size_t>(size) / record;
  if (max_rows != 0 && max_rows < m.rows) m.rows = max_rows;
  m.data.resize(m.rows * m.dim);
  std::fseek(f, 0, SEEK_SET);
  std::vector<char> buffer(record);
  for (size_t i = 0; i < m.rows; ++i) {
    if (std::fread(buffer.data(), record, 1, f) != 1) {
      std::fclose(f);
      return absl::InvalidArgumentError(path + ": short read at record " + std::to_string(i));
    }
    int32_t d;
    std::memcpy(&d, buffer.data(), 4);
    if (d != dim) {
      std::fclose(f);
      return absl::InvalidArgumentError(path + ": record " + std::to_string(i) + " has dimension " +
                                        std::to_string(d) + ", expected " + std::to_string(dim));
    }
    std::memcpy(m.data.data() + i * m.dim, buffer.data() + 4, m.dim * sizeof(T));
  }
  std::fclose(f);
  return m;
}

}  // namespace

StatusOr<Matrix<float>> ReadFvecs(const std::string& path, size_t max_rows) {
  return ReadVecs<float>(path, max_rows);
}
StatusOr<Matrix<int32_t>> ReadIvecs(const std::string& path, size_t max_rows) {
  return ReadVecs<int32_t>(path, max_rows);
}

}  // namespace vj::bench

#include "core/sparse_vector.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "core/distance.h"

namespace vj {

Status ValidateSparseVector(const SparseVector& v, size_t max_nnz, const std::string& where) {
  if (v.indices.size() != v.values.size()) {
    return absl::InvalidArgumentError(where + ": indices and values must have the same length (got " +
                                      std::to_string(v.indices.size()) + " indices and " +
                                      std::to_string(v.values.size()) + " values)");
  }
  if (v.indices.size() > max_nnz) {
    return absl::InvalidArgumentError(where + ": " + std::to_string(v.indices.size()) +
                                      " non-zero entries is over the limit of " + std::to_string(max_nnz) +
                                      " (setting limits.sparse_vector_nnz)");
  }
  for (size_t i = 0; i < v.values.size(); ++i) {
    if (!std::isfinite(v.values[i])) {
      return absl::InvalidArgumentError(where + ".values[" + std::to_string(i) +
                                        "]: sparse vector contains NaN or infinite values");
    }
  }
  // A dot product of two sparse vectors is at most the product of their norms, times an idf weight
  // (ln of the point count: under 32 for any real collection); this bound keeps it a finite float.
  VJ_RETURN_IF_ERROR(CheckVectorValues(v.values.data(), v.values.size(), where + ": sparse vector",
                                       kMaxVectorNormSquared / 32));
  // Already sorted (the common case, and every stored vector): one pass; else a hash set.
  if (std::adjacent_find(v.indices.begin(), v.indices.end(), std::greater_equal<uint32_t>()) ==
      v.indices.end()) {
    return absl::OkStatus();
  }
  std::unordered_set<uint32_t> seen;
  seen.reserve(v.indices.size());
  for (uint32_t index : v.indices) {
    if (!seen.insert(index).second) {
      return absl::InvalidArgumentError(where + ".indices: index " + std::to_string(index) +
                                        " appears more than once (indices must be unique)");
    }
  }
  return absl::OkStatus();
}

void CanonicalizeSparseVector(SparseVector* v) {
  if (std::is_sorted(v->indices.begin(), v->indices.end())) return;
  std::vector<size_t> order(v->indices.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [v](size_t a, size_t b) { return v->indices[a] < v->indices[b]; });
  SparseVector sorted;
  sorted.indices.reserve(order.size());
  sorted.values.reserve(order.size());
  for (size_t i : order) {
    sorted.indices.push_back(v->indices[i]);
    sorted.values.push_back(v->values[i]);
  }
  *v = std::move(sorted);
}

float SparseDot(const SparseVector& a, const SparseVector& b) {
  float sum = 0;
  size_t i = 0, j = 0;
  while (i < a.indices.size() && j < b.indices.size()) {
    if (a.indices[i] < b.indices[j]) {
      ++i;
    } else if (a.indices[i] > b.indices[j]) {
      ++j;
    } else {
      sum += a.values[i++] * b.values[j++];
    }
  }
  return sum;
}

}  // namespace vj

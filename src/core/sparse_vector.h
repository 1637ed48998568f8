// SparseVector: a vector given by its non-zero entries (Qdrant's {"indices": [u32...], "values": [f32...]}),
// and the checks every writer and reader of one shares. Thread-safety: plain values and pure functions.
//
// Convention: a stored or indexed SparseVector is canonical: indices strictly increasing (so unique),
// one finite value per index. Requests may give indices in any order; CanonicalizeSparseVector sorts them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace vj {

struct SparseVector {
  std::vector<uint32_t> indices;
  std::vector<float> values;

  size_t nnz() const { return indices.size(); }
  friend bool operator==(const SparseVector&, const SparseVector&) = default;
};

// Named sparse vectors of a point (names are the collection's `sparse_vectors` keys).
using NamedSparseVectors = std::map<std::string, SparseVector>;

// The most non-zero entries one stored sparse vector may hold whatever the setting
// (limits.sparse_vector_nnz may only lower it): the decoder of stored records refuses more, so the
// writers never store more.
inline constexpr size_t kMaxSparseNnzHardLimit = size_t{1} << 20;

// InvalidArgument naming `where` unless indices and values have one length, at most `max_nnz`
// entries, unique indices and finite values. Does not require sorted indices.
Status ValidateSparseVector(const SparseVector& v, size_t max_nnz, const std::string& where);

// Sorts the entries by index (precondition: ValidateSparseVector passed).
void CanonicalizeSparseVector(SparseVector* v);

// Dot product of two canonical sparse vectors (a merge of the sorted indices).
float SparseDot(const SparseVector& a, const SparseVector& b);

}  // namespace vj

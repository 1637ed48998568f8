// Server-side inference: Qdrant's Document object, {"text": "...", "model": "qdrant/bm25", "options": {...}},
// accepted wherever a sparse vector is (a point's named vector, a query, a prefetch's query). The node
// serves one model, qdrant/bm25 (text/bm25.h): a document is encoded with BM25's term-frequency part, a
// query with 1 per distinct token, and the collection's `modifier: idf` supplies the IDF, so both sides
// are tokenized the same way by the same code. Other models are refused (400 naming the model).
// Options: language (stop words and stemmer; "english" by default, "none" for neither), k (1.2), b (0.75),
// avg_len (256). Thread-safety: pure functions (the default encoder is built once, immutable).
#pragma once

#include <string>

#include <boost/json.hpp>

#include "core/sparse_vector.h"
#include "core/status.h"

namespace vj {

// Which side of BM25 a Document stands for.
enum class InferenceSide { kDocument, kQuery };

// Whether `object` is a Document (it has "text") rather than {"indices", "values"}.
bool IsInferenceDocument(const boost::json::object& object);

// The sparse vector of a Document: validated as a given sparse vector would be (at most max_nnz entries)
// and canonical. InvalidArgument naming the field for an unknown model, option or field.
StatusOr<SparseVector> InferSparseVector(const boost::json::object& document, const std::string& where,
                                         InferenceSide side, size_t max_nnz);

}  // namespace vj

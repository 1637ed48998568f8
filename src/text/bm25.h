// Bm25Encoder: turns text into sparse vectors whose dot product is BM25 relevance, with the semantics of
// Qdrant's `qdrant/bm25` model: the document side carries the term-frequency part
//   tf * (k + 1) / (tf + k * (1 - b + b * doc_len / avg_len)),
// the query side carries 1 per distinct token, and the IDF comes from the sparse vector's
// `modifier: idf`, which the collection computes from its own statistics.
// Tokens: the word tokenizer, lowercase, stop words of the language dropped, tokens over
// max_token_len code points dropped, Snowball stemming; doc_len counts the tokens that remain. A token's
// index is |MurmurHash3_x86_32(token, seed 0)| read as a signed 32-bit integer (tokens that hash alike
// share an index and add their frequencies).
// Thread-safety: immutable after Create; Encode* may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/sparse_vector.h"
#include "core/status.h"
#include "text/tokenizer.h"

namespace vj::text {

// Encodings are core's SparseVector (core/sparse_vector.h), indices ascending and unique: what the
// collection stores and indexes, with no conversion between.
using vj::SparseVector;

struct Bm25Options {
  std::string language = "english";  // for stop words and the stemmer
  bool stem = true;
  bool stopwords = true;
  float k = 1.2f;
  float b = 0.75f;
  float avg_len = 256.0f;
  uint32_t max_token_len = 40;
};

class Bm25Encoder {
 public:
  // InvalidArgument for a language without a stemmer (when stem) or stop words (when stopwords), or
  // k < 0, b outside [0, 1], avg_len <= 0.
  static StatusOr<Bm25Encoder> Create(const Bm25Options& options);

  SparseVector EncodeDocument(std::string_view text) const;
  SparseVector EncodeQuery(std::string_view text) const;
  // The tokens EncodeDocument counts, in order.
  std::vector<std::string> Tokens(std::string_view text) const;

  static uint32_t TokenIndex(std::string_view token);

 private:
  Bm25Encoder(Bm25Options options, std::shared_ptr<const Tokenizer> tokenizer)
      : options_(std::move(options)), tokenizer_(std::move(tokenizer)) {}

  Bm25Options options_;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

// MurmurHash3 x86 32-bit (Austin Appleby's public-domain algorithm).
uint32_t MurmurHash3_32(std::string_view data, uint32_t seed);

}  // namespace vj::text

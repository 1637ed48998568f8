// TextIndex: the inverted index behind a full-text payload index: for each term (token, or token prefix
// with the prefix tokenizer) the Roaring bitmap of the points whose text holds it. With phrase_matching,
// and for points whose key holds several strings (an array: a condition holds when one element matches),
// it also keeps each string's word sequence, as word ids, to check phrases and per-element matches.
//
// Thread-safety: none; the owning PayloadIndex (guarded by its shard's lock) serializes writers against
// readers. Answer is const and may run concurrently with other const calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <roaring/roaring.hh>

// Debian 12's CRoaring declares Roaring in the global namespace (see payload_index.h).
namespace roaring {
using ::Roaring;
}  // namespace roaring

#include "text/text_match.h"
#include "text/tokenizer.h"

namespace vj {

class TextIndex {
 public:
  explicit TextIndex(std::shared_ptr<const text::Tokenizer> tokenizer) : tokenizer_(std::move(tokenizer)) {}

  const text::Tokenizer& tokenizer() const { return *tokenizer_; }

  // Indexes the strings a point's key holds (array elements separately). Call Remove before re-adding.
  void Add(uint32_t id, const std::vector<std::string_view>& values);
  void Remove(uint32_t id, const std::vector<std::string_view>& values);

  // The exact set of points with a string matching the query. A phrase query needs phrase_matching
  // (the caller checks); a query without tokens matches nothing.
  roaring::Roaring Answer(text::TextQueryKind kind, std::string_view query) const;
  // Whether point `id` matches query tokens (QueryTokens of the tokenizer), from the posting lists and
  // kept sequences alone: what Answer computes, for one point, without tokenizing its payload.
  bool Contains(text::TextQueryKind kind, const std::vector<std::string>& tokens, uint32_t id) const;
  // How many points hold the term (0 when unknown), for estimates.
  uint64_t TermCardinality(const std::string& term) const;
  size_t memory_bytes() const;

 private:
  using WordSequence = std::vector<uint32_t>;  // word ids
  const roaring::Roaring* Postings(const std::string& term) const;
  bool Verify(uint32_t id, text::TextQueryKind kind, const std::vector<std::string>& tokens) const;

  // Fields that never change after construction.
  const std::shared_ptr<const text::Tokenizer> tokenizer_;

  std::unordered_map<std::string, roaring::Roaring> postings_;  // term -> points; emptied terms erased
  // Word vocabulary for the kept sequences (ids are never reused; a word stays once seen).
  std::unordered_map<std::string, uint32_t> word_ids_;
  std::vector<std::string> words_;
  // Per point, the word sequence of each of its strings: kept with phrase_matching, or when the point
  // has more than one string.
  std::unordered_map<uint32_t, std::vector<WordSequence>> sequences_;
};

}  // namespace vj

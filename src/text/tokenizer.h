// Tokenizer: turns text into the normalized tokens a full-text index stores and its queries look up.
//
// For each word (split by the params' tokenizer) in order: lowercase (Unicode-aware, see unicode.h) when
// `lowercase`; dropped when its length in code points is outside [min_token_len, max_token_len]; dropped
// when it is a stop word (compared after lowercasing); stemmed when a stemmer is set.
// Tokenizers: word splits at every character that is not a letter, digit or mark; whitespace splits at
// Unicode white space only (punctuation stays in tokens); multilingual splits as word does and also
// makes each character of a script written without spaces (CJK, kana, Thai, Lao, Khmer, Myanmar) a
// token of its own, since there is no dictionary to segment them; prefix splits as word does, and a
// document additionally holds every prefix of each word (from min_token_len, or 1, up to max_token_len
// code points) so that a query word matches the words it begins.
// Thread-safety: immutable after Create; every method may be called concurrently.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "text/stemmer.h"
#include "text/text_params.h"

namespace vj::text {

class Tokenizer {
 public:
  // InvalidArgument for an unknown stemmer language.
  static StatusOr<std::shared_ptr<const Tokenizer>> Create(const TextIndexParams& params);

  const TextIndexParams& params() const { return params_; }

  // The normalized words of `text`, in order (a phrase is consecutive entries).
  void Words(std::string_view text, std::vector<std::string>* out) const;
  // The terms an index stores for the words of a document: the words themselves, plus every prefix of
  // each with the prefix tokenizer.
  void DocumentTerms(const std::vector<std::string>& words, std::vector<std::string>* out) const;
  // The tokens of a query: its words; with the prefix tokenizer a word longer than max_token_len is cut
  // to it (documents hold prefixes up to that length only).
  void QueryTokens(std::string_view text, std::vector<std::string>* out) const;
  // Whether a document word satisfies a query token: equal, or with the prefix tokenizer, begins with it.
  bool WordMatches(std::string_view word, std::string_view query_token) const;

 private:
  explicit Tokenizer(TextIndexParams params) : params_(std::move(params)) {}
  void Emit(std::string word, std::vector<std::string>* out) const;

  // Fields that never change after construction.
  TextIndexParams params_;
  std::unordered_set<std::string> stopwords_;
  std::optional<SnowballStemmer> stemmer_;
};

// Lowercases every code point that unicode.h maps.
std::string LowercaseUtf8(std::string_view s);

}  // namespace vj::text

// SnowballStemmer: Snowball stemming (Debian's libstemmer) of lowercase UTF-8 words.
//
// Thread-safety: Stem may be called concurrently; libstemmer's stemmers are not reentrant, so each
// thread keeps its own instance per language.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace vj::text {

class SnowballStemmer {
 public:
  // language: a Snowball algorithm name ("english", "german", ...); InvalidArgument listing the known
  // ones otherwise.
  static StatusOr<SnowballStemmer> Create(std::string language);

  const std::string& language() const { return language_; }
  // The stem of a word (the word itself when it has none).
  std::string Stem(std::string_view word) const;

 private:
  explicit SnowballStemmer(std::string language) : language_(std::move(language)) {}
  std::string language_;
};

}  // namespace vj::text

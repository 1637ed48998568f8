// How a full-text query matches one text value, once both are tokenized by the same Tokenizer.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace vj::text {

enum class TextQueryKind {
  kAll,     // match.text: every query token is among the value's words
  kAny,     // match.text_any: at least one is
  kPhrase,  // match.phrase: the query's tokens appear consecutively, in order
};

// A query without tokens (empty, or only stop words) matches nothing.
bool TokensMatch(const Tokenizer& tokenizer, TextQueryKind kind, const std::vector<std::string>& query_tokens,
                 const std::vector<std::string>& words);

}  // namespace vj::text

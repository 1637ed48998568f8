#include "text/text_match.h"

namespace vj::text {

namespace {

bool HasWord(const Tokenizer& tokenizer, const std::vector<std::string>& words, const std::string& token) {
  for (const std::string& w : words) {
    if (tokenizer.WordMatches(w, token)) return true;
  }
  return false;
}

}  // namespace

bool TokensMatch(const Tokenizer& tokenizer, TextQueryKind kind, const std::vector<std::string>& query_tokens,
                 const std::vector<std::string>& words) {
  if (query_tokens.empty()) return false;
  switch (kind) {
    case TextQueryKind::kAll:
      for (const std::string& t : query_tokens) {
        if (!HasWord(tokenizer, words, t)) return false;
      }
      return true;
    case TextQueryKind::kAny:
      for (const std::string& t : query_tokens) {
        if (HasWord(tokenizer, words, t)) return true;
      }
      return false;
    case TextQueryKind::kPhrase:
      for (size_t start = 0; start + query_tokens.size() <= words.size(); ++start) {
        size_t j = 0;
        while (j < query_tokens.size() && tokenizer.WordMatches(words[start + j], query_tokens[j])) ++j;
        if (j == query_tokens.size()) return true;
      }
      return false;
  }
  return false;
}

}  // namespace vj::text

#include "text/tokenizer.h"

#include "text/stopwords.h"
#include "text/unicode.h"

namespace vj::text {

std::string LowercaseUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8(s, &pos);
    const char32_t lower = ToLowerCodePoint(cp);
    if (lower == cp) {
      out.append(s.substr(start, pos - start));  // keeps malformed bytes as they were
    } else {
      AppendUtf8(lower, &out);
    }
  }
  return out;
}

StatusOr<std::shared_ptr<const Tokenizer>> Tokenizer::Create(const TextIndexParams& params) {
  std::shared_ptr<Tokenizer> t(new Tokenizer(params));
  for (const std::string& language : params.stopword_languages) {
    const std::vector<std::string_view>* list = BuiltInStopwords(language);
    if (list == nullptr) return absl::InvalidArgumentError("no built-in stop words for \"" + language + "\"");
    for (std::string_view w : *list) t->stopwords_.emplace(w);
  }
  for (const std::string& w : params.custom_stopwords) {
    t->stopwords_.insert(params.lowercase ? LowercaseUtf8(w) : w);
  }
  if (params.stemmer_language) {
    VJ_ASSIGN_OR_RETURN(SnowballStemmer stemmer, SnowballStemmer::Create(*params.stemmer_language));
    t->stemmer_.emplace(std::move(stemmer));
  }
  return std::shared_ptr<const Tokenizer>(std::move(t));
}

void Tokenizer::Emit(std::string word, std::vector<std::string>* out) const {
  if (word.empty()) return;
  if (params_.lowercase) word = LowercaseUtf8(word);
  if (params_.min_token_len || (params_.max_token_len && params_.tokenizer != TokenizerKind::kPrefix)) {
    const size_t n = CodePointCount(word);
    if (params_.min_token_len && n < *params_.min_token_len) return;
    // The prefix tokenizer keeps long words: their prefixes up to max_token_len are indexed.
    if (params_.max_token_len && params_.tokenizer != TokenizerKind::kPrefix && n > *params_.max_token_len) return;
  }
  if (stopwords_.count(word) != 0) return;
  if (stemmer_) word = stemmer_->Stem(word);
  if (!word.empty()) out->push_back(std::move(word));
}

void Tokenizer::Words(std::string_view text, std::vector<std::string>* out) const {
  std::string word;
  const bool whitespace = params_.tokenizer == TokenizerKind::kWhitespace;
  const bool multilingual = params_.tokenizer == TokenizerKind::kMultilingual;
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8(text, &pos);
    const bool inside = whitespace ? !IsWhitespace(cp) : IsWordChar(cp);
    if (!inside) {
      Emit(std::move(word), out);
      word.clear();
      continue;
    }
    if (multilingual && IsUnspacedScript(cp)) {
      Emit(std::move(word), out);
      word.clear();
      Emit(std::string(text.substr(start, pos - start)), out);
      continue;
    }
    word.append(text.substr(start, pos - start));
  }
  Emit(std::move(word), out);
}

void Tokenizer::DocumentTerms(const std::vector<std::string>& words, std::vector<std::string>* out) const {
  if (params_.tokenizer != TokenizerKind::kPrefix) {
    out->insert(out->end(), words.begin(), words.end());
    return;
  }
  const size_t from = std::max<size_t>(1, params_.min_token_len.value_or(1));
  for (const std::string& w : words) {
    size_t pos = 0;
    size_t chars = 0;
    while (pos < w.size()) {
      DecodeUtf8(w, &pos);
      ++chars;
      if (params_.max_token_len && chars > *params_.max_token_len) break;
      if (chars >= from) out->push_back(w.substr(0, pos));
    }
  }
}

void Tokenizer::QueryTokens(std::string_view text, std::vector<std::string>* out) const {
  Words(text, out);
  if (params_.tokenizer != TokenizerKind::kPrefix || !params_.max_token_len) return;
  for (std::string& w : *out) {
    size_t pos = 0;
    for (uint32_t chars = 0; pos < w.size() && chars < *params_.max_token_len; ++chars) DecodeUtf8(w, &pos);
    w.resize(pos);
  }
}

bool Tokenizer::WordMatches(std::string_view word, std::string_view query_token) const {
  if (params_.tokenizer == TokenizerKind::kPrefix) return word.substr(0, query_token.size()) == query_token;
  return word == query_token;
}

}  // namespace vj::text

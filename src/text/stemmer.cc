#include "text/stemmer.h"

#include <map>
#include <memory>

#include <libstemmer.h>

namespace vj::text {

namespace {

struct StemmerDeleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};

sb_stemmer* ThreadStemmer(const std::string& language) {
  thread_local std::map<std::string, std::unique_ptr<sb_stemmer, StemmerDeleter>> stemmers;
  auto it = stemmers.find(language);
  if (it == stemmers.end()) {
    it = stemmers.emplace(language, std::unique_ptr<sb_stemmer, StemmerDeleter>(
                                        sb_stemmer_new(language.c_str(), "UTF_8"))).first;
  }
  return it->second.get();
}

}  // namespace

StatusOr<SnowballStemmer> SnowballStemmer::Create(std::string language) {
  // sb_stemmer_new also accepts ISO codes and aliases ("en", "porter"); only the names sb_stemmer_list
  // gives are accepted here so that the stored config says one thing.
  std::string known;
  for (const char** name = sb_stemmer_list(); *name != nullptr; ++name) {
    if (language == *name) {
      if (ThreadStemmer(language) == nullptr) break;
      return SnowballStemmer(std::move(language));
    }
    known += known.empty() ? "" : ", ";
    known += *name;
  }
  return absl::InvalidArgumentError("unknown stemmer language \"" + language + "\": expected one of " + known);
}

std::string SnowballStemmer::Stem(std::string_view word) const {
  sb_stemmer* stemmer = ThreadStemmer(language_);
  if (stemmer == nullptr) return std::string(word);
  const sb_symbol* out =
      sb_stemmer_stem(stemmer, reinterpret_cast<const sb_symbol*>(word.data()), static_cast<int>(word.size()));
  if (out == nullptr) return std::string(word);  // out of memory inside libstemmer
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(sb_stemmer_length(stemmer)));
}

}  // namespace vj::text

#include "text/text_params.h"

#include "core/json_fields.h"
#include "text/stemmer.h"
#include "text/stopwords.h"

namespace vj::text {
namespace json = boost::json;

namespace {

// Token lengths beyond this are refused: a bound no word reaches is a typo, and prefix expansion
// multiplies index terms by it.
constexpr uint64_t kMaxTokenLenBound = 1024;

StatusOr<TokenizerKind> ParseTokenizer(std::string_view name, const std::string& where) {
  if (name == "word") return TokenizerKind::kWord;
  if (name == "whitespace") return TokenizerKind::kWhitespace;
  if (name == "prefix") return TokenizerKind::kPrefix;
  if (name == "multilingual") return TokenizerKind::kMultilingual;
  return absl::InvalidArgumentError(where + ": unknown tokenizer \"" + std::string(name) +
                                    "\": expected word, whitespace, prefix or multilingual");
}

Status ReadLanguage(const json::value& v, const std::string& where, std::vector<std::string>* out) {
  VJ_ASSIGN_OR_RETURN(std::string language, ReadString(v, where));
  if (BuiltInStopwords(language) == nullptr) {
    return absl::InvalidArgumentError(where + ": no built-in stop words for \"" + language +
                                      "\": expected " + std::string(BuiltInStopwordLanguages()) +
                                      " (or a custom list)");
  }
  out->push_back(std::move(language));
  return absl::OkStatus();
}

Status ParseStopwords(const json::value& v, const std::string& where, TextIndexParams* params) {
  if (v.is_string()) return ReadLanguage(v, where, &params->stopword_languages);
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"languages", "custom"}, where));
  if (const json::value* langs = FindField(*obj, "languages")) {
    VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*langs, where + ".languages"));
    for (size_t i = 0; i < arr->size(); ++i) {
      VJ_RETURN_IF_ERROR(
          ReadLanguage((*arr)[i], where + ".languages[" + std::to_string(i) + "]", &params->stopword_languages));
    }
  }
  if (const json::value* custom = FindField(*obj, "custom")) {
    VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*custom, where + ".custom"));
    if (arr->size() > kMaxCustomStopwords) {
      return absl::InvalidArgumentError(where + ".custom: " + std::to_string(arr->size()) +
                                        " words, at most " + std::to_string(kMaxCustomStopwords));
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string at = where + ".custom[" + std::to_string(i) + "]";
      VJ_ASSIGN_OR_RETURN(std::string word, ReadString((*arr)[i], at));
      if (word.size() > kMaxStopwordBytes) {
        return absl::InvalidArgumentError(at + ": longer than " + std::to_string(kMaxStopwordBytes) + " bytes");
      }
      params->custom_stopwords.push_back(std::move(word));
    }
  }
  return absl::OkStatus();
}

StatusOr<std::optional<uint32_t>> ReadTokenLen(const json::object& schema, std::string_view key,
                                               const std::string& where) {
  const json::value* v = FindField(schema, key);
  if (v == nullptr) return std::optional<uint32_t>();
  VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*v, where));
  if (n > kMaxTokenLenBound) {
    return absl::InvalidArgumentError(where + ": " + std::to_string(n) + " is over the limit of " +
                                      std::to_string(kMaxTokenLenBound));
  }
  return std::optional<uint32_t>(static_cast<uint32_t>(n));
}

}  // namespace

std::string_view TokenizerKindName(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::kWord: return "word";
    case TokenizerKind::kWhitespace: return "whitespace";
    case TokenizerKind::kPrefix: return "prefix";
    case TokenizerKind::kMultilingual: return "multilingual";
  }
  return "word";
}

StatusOr<TextIndexParams> ParseTextIndexParams(const json::object& schema, std::string_view where_view) {
  const std::string where(where_view);
  VJ_RETURN_IF_ERROR(CheckKnownFields(schema,
                                      {"type", "tokenizer", "lowercase", "min_token_len", "max_token_len",
                                       "phrase_matching", "stopwords", "stemmer", "ascii_folding", "on_disk"},
                                      where));
  TextIndexParams params;
  if (const json::value* v = FindField(schema, "tokenizer")) {
    VJ_ASSIGN_OR_RETURN(std::string name, ReadString(*v, where + ".tokenizer"));
    VJ_ASSIGN_OR_RETURN(params.tokenizer, ParseTokenizer(name, where + ".tokenizer"));
  }
  if (const json::value* v = FindField(schema, "lowercase")) {
    VJ_ASSIGN_OR_RETURN(params.lowercase, ReadBool(*v, where + ".lowercase"));
  }
  VJ_ASSIGN_OR_RETURN(params.min_token_len, ReadTokenLen(schema, "min_token_len", where + ".min_token_len"));
  VJ_ASSIGN_OR_RETURN(params.max_token_len, ReadTokenLen(schema, "max_token_len", where + ".max_token_len"));
  if (params.min_token_len && params.max_token_len && *params.min_token_len > *params.max_token_len) {
    return absl::InvalidArgumentError(where + ": min_token_len (" + std::to_string(*params.min_token_len) +
                                      ") is greater than max_token_len (" +
                                      std::to_string(*params.max_token_len) + ")");
  }
  if (params.max_token_len && *params.max_token_len == 0) {
    return absl::InvalidArgumentError(where + ".max_token_len: must be at least 1");
  }
  if (const json::value* v = FindField(schema, "phrase_matching")) {
    VJ_ASSIGN_OR_RETURN(params.phrase_matching, ReadBool(*v, where + ".phrase_matching"));
  }
  if (const json::value* v = FindField(schema, "stopwords")) {
    VJ_RETURN_IF_ERROR(ParseStopwords(*v, where + ".stopwords", &params));
  }
  if (const json::value* v = FindField(schema, "stemmer")) {
    const std::string at = where + ".stemmer";
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*v, at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"type", "language"}, at));
    const json::value* type = FindField(*obj, "type");
    if (type == nullptr) return absl::InvalidArgumentError(at + ".type: missing (expected \"snowball\")");
    VJ_ASSIGN_OR_RETURN(std::string type_name, ReadString(*type, at + ".type"));
    if (type_name != "snowball") {
      return absl::InvalidArgumentError(at + ".type: unknown stemmer \"" + type_name + "\": expected snowball");
    }
    const json::value* language = FindField(*obj, "language");
    if (language == nullptr) return absl::InvalidArgumentError(at + ".language: missing");
    VJ_ASSIGN_OR_RETURN(std::string name, ReadString(*language, at + ".language"));
    auto stemmer = SnowballStemmer::Create(name);
    if (!stemmer.ok()) return absl::InvalidArgumentError(at + ".language: " + std::string(stemmer.status().message()));
    params.stemmer_language = std::move(name);
  }
  for (std::string_view unsupported : {"ascii_folding", "on_disk"}) {
    if (const json::value* v = FindField(schema, unsupported)) {
      const std::string at = where + "." + std::string(unsupported);
      VJ_ASSIGN_OR_RETURN(bool on, ReadBool(*v, at));
      if (on) return absl::InvalidArgumentError(at + ": true is not supported; leave it out or set false");
    }
  }
  return params;
}

json::object TextIndexParamsToJson(const TextIndexParams& params) {
  json::object out{{"type", "text"},
                   {"tokenizer", TokenizerKindName(params.tokenizer)},
                   {"lowercase", params.lowercase},
                   {"phrase_matching", params.phrase_matching}};
  if (params.min_token_len) out["min_token_len"] = *params.min_token_len;
  if (params.max_token_len) out["max_token_len"] = *params.max_token_len;
  if (!params.stopword_languages.empty() || !params.custom_stopwords.empty()) {
    json::array languages;
    for (const std::string& l : params.stopword_languages) languages.emplace_back(l);
    json::array custom;
    for (const std::string& w : params.custom_stopwords) custom.emplace_back(w);
    out["stopwords"] = json::object{{"languages", std::move(languages)}, {"custom", std::move(custom)}};
  }
  if (params.stemmer_language) {
    out["stemmer"] = json::object{{"type", "snowball"}, {"language", *params.stemmer_language}};
  }
  return out;
}

}  // namespace vj::text

// TextIndexParams: the options of a full-text payload index (Qdrant's field_schema {"type": "text", ...}),
// which are also the options of the tokenizer that both the index and the queries on it use.
//
// JSON (all optional but "type"): tokenizer word|whitespace|prefix|multilingual (default word),
// lowercase (default true), min_token_len, max_token_len (code points; unset = no bound),
// phrase_matching (default false), stopwords ("english" or {"languages": [...], "custom": [...]}),
// stemmer ({"type": "snowball", "language": "english"}), ascii_folding (only false is accepted), on_disk
// (only false is accepted: the index lives in memory).
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/status.h"

namespace vj::text {

enum class TokenizerKind { kWord, kWhitespace, kPrefix, kMultilingual };

struct TextIndexParams {
  TokenizerKind tokenizer = TokenizerKind::kWord;
  bool lowercase = true;
  std::optional<uint32_t> min_token_len;
  std::optional<uint32_t> max_token_len;
  bool phrase_matching = false;
  std::vector<std::string> stopword_languages;  // built-in lists ("english")
  std::vector<std::string> custom_stopwords;    // as given; lowercased when `lowercase`
  std::optional<std::string> stemmer_language;  // a Snowball algorithm name ("english")

  bool operator==(const TextIndexParams&) const = default;
};

// Longest stop-word list and word accepted in params (they are stored with the collection's config).
inline constexpr size_t kMaxCustomStopwords = 10000;
inline constexpr size_t kMaxStopwordBytes = 256;

// Reads the params from a field_schema object (its "type" is checked by the caller). `where` prefixes
// messages ("field_schema"). InvalidArgument naming the field for anything unknown or out of range.
StatusOr<TextIndexParams> ParseTextIndexParams(const boost::json::object& schema, std::string_view where);
// The field_schema object, "type": "text" included; ParseTextIndexParams reads it back unchanged.
boost::json::object TextIndexParamsToJson(const TextIndexParams& params);

std::string_view TokenizerKindName(TokenizerKind kind);

}  // namespace vj::text

// Unicode helpers for the tokenizer: UTF-8 decoding/encoding, a character classification good enough to
// split words, and simple (one code point to one code point) lowercase mapping.
//
// Lowercasing covers ASCII, Latin-1, Latin Extended-A, Latin Extended Additional (Vietnamese), Greek,
// Cyrillic (with its supplement), Armenian and fullwidth Latin; other scripts are left as they are.
// Character classes: letters and digits of those scripts, and every code point outside the punctuation,
// symbol and space blocks listed in unicode.cc, count as word characters.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vj::text {

// Decodes the code point at s[*pos] and advances *pos. Malformed bytes decode as U+FFFD, one byte each.
char32_t DecodeUtf8(std::string_view s, size_t* pos);
void AppendUtf8(char32_t cp, std::string* out);

char32_t ToLowerCodePoint(char32_t cp);
bool IsWhitespace(char32_t cp);
// A letter, digit or mark: what the word tokenizer keeps inside tokens.
bool IsWordChar(char32_t cp);
// Scripts written without spaces between words (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar):
// the multilingual tokenizer makes each such character a token of its own.
bool IsUnspacedScript(char32_t cp);

// The number of code points in a UTF-8 string.
size_t CodePointCount(std::string_view s);

}  // namespace vj::text

#include "text/unicode.h"

namespace vj::text {

char32_t DecodeUtf8(std::string_view s, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = byte(*pos);
  int extra = 0;
  char32_t cp = 0;
  if (c < 0x80) {
    ++*pos;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    extra = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3;
    cp = c & 0x07;
  } else {
    ++*pos;
    return 0xFFFD;
  }
  if (*pos + extra >= s.size()) {  // truncated sequence
    ++*pos;
    return 0xFFFD;
  }
  for (int i = 1; i <= extra; ++i) {
    const unsigned char b = byte(*pos + i);
    if ((b & 0xC0) != 0x80) {
      ++*pos;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are malformed.
  static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*pos;
    return 0xFFFD;
  }
  *pos += extra + 1;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {

bool InRange(char32_t cp, char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; }

// Blocks where upper and lower case alternate, upper case on the even code point.
bool EvenIsUpper(char32_t cp) {
  return InRange(cp, 0x0100, 0x012F) || InRange(cp, 0x0132, 0x0137) || InRange(cp, 0x014A, 0x0177) ||
         InRange(cp, 0x0460, 0x0481) || InRange(cp, 0x048A, 0x04BF) || InRange(cp, 0x04D0, 0x052F) ||
         InRange(cp, 0x1E00, 0x1E95) || InRange(cp, 0x1EA0, 0x1EFF) || InRange(cp, 0x03D8, 0x03EF);
}

// Blocks where the odd code point is upper case.
bool OddIsUpper(char32_t cp) {
  return InRange(cp, 0x0139, 0x0148) || InRange(cp, 0x0179, 0x017E) || InRange(cp, 0x04C1, 0x04CE);
}

}  // namespace

char32_t ToLowerCodePoint(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (InRange(cp, 0x00C0, 0x00DE) && cp != 0x00D7) return cp + 0x20;
  if (cp == 0x0130) return 'i';  // İ
  if (cp == 0x0178) return 0x00FF;  // Ÿ
  if (EvenIsUpper(cp)) return (cp % 2 == 0) ? cp + 1 : cp;
  if (OddIsUpper(cp)) return (cp % 2 == 1) ? cp + 1 : cp;
  // Greek
  if (InRange(cp, 0x0391, 0x03AB) && cp != 0x03A2) return cp + 0x20;
  if (cp == 0x0386) return 0x03AC;
  if (InRange(cp, 0x0388, 0x038A)) return cp + 0x25;
  if (cp == 0x038C) return 0x03CC;
  if (cp == 0x038E || cp == 0x038F) return cp + 0x3F;
  // Cyrillic
  if (InRange(cp, 0x0410, 0x042F)) return cp + 0x20;
  if (InRange(cp, 0x0400, 0x040F)) return cp + 0x50;
  if (cp == 0x04C0) return 0x04CF;
  // Armenian
  if (InRange(cp, 0x0531, 0x0556)) return cp + 0x30;
  // Fullwidth Latin
  if (InRange(cp, 0xFF21, 0xFF3A)) return cp + 0x20;
  return cp;
}

bool IsWhitespace(char32_t cp) {
  return cp == ' ' || InRange(cp, 0x09, 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         InRange(cp, 0x2000, 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

bool IsWordChar(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
  }
  if (cp == 0xFFFD) return false;
  // Latin-1: letters, and the ordinal and micro signs; the rest is punctuation and symbols.
  if (cp < 0x100) return cp == 0xAA || cp == 0xB5 || cp == 0xBA || (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7);
  if (InRange(cp, 0x02C2, 0x02C5) || InRange(cp, 0x02D2, 0x02DF)) return false;  // modifier symbols
  if (cp == 0x037E || cp == 0x0387) return false;                                  // Greek punctuation
  if (InRange(cp, 0x055A, 0x055F) || cp == 0x0589) return false;                   // Armenian punctuation
  if (InRange(cp, 0x05BE, 0x05C6) && cp != 0x05BF && cp != 0x05C1 && cp != 0x05C2 && cp != 0x05C4 &&
      cp != 0x05C5) {
    return false;  // Hebrew punctuation
  }
  if (InRange(cp, 0x0600, 0x060F) || cp == 0x061B || InRange(cp, 0x061D, 0x061F) || InRange(cp, 0x066A, 0x066D) ||
      cp == 0x06D4) {
    return false;  // Arabic punctuation
  }
  if (cp == 0x0964 || cp == 0x0965 || cp == 0x0E2F || cp == 0x0E5A || cp == 0x0E5B) return false;
  if (IsWhitespace(cp)) return false;
  if (InRange(cp, 0x2000, 0x2BFF)) return false;   // general punctuation, symbols, arrows, math, boxes
  if (InRange(cp, 0x2E00, 0x2E7F)) return false;   // supplemental punctuation
  if (InRange(cp, 0x3000, 0x3003) || InRange(cp, 0x3008, 0x3020) || cp == 0x3030 || cp == 0x30FB) return false;
  if (InRange(cp, 0xFE10, 0xFE1F) || InRange(cp, 0xFE30, 0xFE6F)) return false;  // vertical/small forms
  if (InRange(cp, 0xFF00, 0xFF0F) || InRange(cp, 0xFF1A, 0xFF20) || InRange(cp, 0xFF3B, 0xFF40) ||
      InRange(cp, 0xFF5B, 0xFF65)) {
    return false;  // fullwidth punctuation
  }
  if (InRange(cp, 0xE000, 0xF8FF) || InRange(cp, 0xFFF0, 0xFFFF)) return false;  // private use, specials
  if (InRange(cp, 0x1F000, 0x1FAFF)) return false;  // emoji, pictographs, game symbols
  return true;
}

bool IsUnspacedScript(char32_t cp) {
  return InRange(cp, 0x4E00, 0x9FFF) || InRange(cp, 0x3400, 0x4DBF) || InRange(cp, 0x20000, 0x2FA1F) ||
         InRange(cp, 0xF900, 0xFAFF) || InRange(cp, 0x3040, 0x30FF) || InRange(cp, 0x31F0, 0x31FF) ||
         InRange(cp, 0xFF66, 0xFF9F) || InRange(cp, 0x0E00, 0x0E7F) || InRange(cp, 0x0E80, 0x0EFF) ||
         InRange(cp, 0x1780, 0x17FF) || InRange(cp, 0x1000, 0x109F);
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (size_t pos = 0; pos < s.size();) {
    DecodeUtf8(s, &pos);
    ++n;
  }
  return n;
}

}  // namespace vj::text

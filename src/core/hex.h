// The value of one hexadecimal digit, or -1: shared by UUID parsing and URL percent-decoding.
// Thread-safety: a pure function.
#pragma once

namespace vj {

inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace vj

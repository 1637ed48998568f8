// Helpers shared by the fuzz targets: a property check that reports through libFuzzer (abort is a
// crash it records with the input), and the JSON text of a value for comparisons.
// Thread-safety: none needed (libFuzzer calls a target from one thread).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/crc32c.h"

// A property the code under test promises (a round trip, a bound); a violation is a finding.
#define VJ_FUZZ_CHECK(cond, what)                                              \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "VJ_FUZZ_CHECK failed: %s (%s)\n", #cond, (what)); \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace vj::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::string Json(const boost::json::value& v) { return boost::json::serialize(v); }

// For a binary format: whatever `decode` accepts from `bytes` re-encodes to bytes that decode again
// and re-encode identically. `decode` returns a StatusOr, `encode` a std::string.
template <typename Decode, typename Encode>
void CheckBinaryRoundTrip(std::string_view bytes, Decode decode, Encode encode, const char* what) {
  auto decoded = decode(bytes);
  if (!decoded.ok()) return;
  const std::string encoded = encode(*decoded);
  auto again = decode(encoded);
  VJ_FUZZ_CHECK(again.ok(), std::string(again.status().message()).c_str());
  VJ_FUZZ_CHECK(encode(*again) == encoded, what);
}

// Overwrites the 4 bytes at `at` with the CRC32C of bytes[from, at), little-endian: lets the fuzzer
// reach the fields a checksum guards.
inline void StoreCrc32c(std::string& bytes, size_t from, size_t at) {
  const uint32_t crc = Crc32c(bytes.data() + from, at - from);
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
}

}  // namespace vj::fuzz

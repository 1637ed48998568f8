// Helpers shared by the fuzz targets: a property check that reports through libFuzzer (abort is a
// crash it records with the input), and the JSON text of a value for comparisons.
// Thread-safety: none needed (libFuzzer calls a target from one thread).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json.hpp>

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

}  // namespace vj::fuzz

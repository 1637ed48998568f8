// PreciseJsonHandler: the Boost.JSON basic_parser handler behind ParseJson (core/payload.h), in a header
// so that a parser that decodes some parts of a document differently (api/fast_body.h) reads numbers
// exactly as ParseJson does. Doubles are re-read with std::from_chars from their text (Boost 1.81 rounds
// some decimal numbers to a neighbouring double, so payloads would not round-trip), and numbers outside
// the double range are refused instead of becoming infinity (which serializes as invalid JSON).
// Thread-safety: one handler per parse.
#pragma once

#include <boost/json/basic_parser.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace vj {

enum class NumberError { kNone, kOutOfRange };

// Reads a JSON number (already checked against the grammar by the parser) exactly, without
// from_chars, when its value is a decimal mantissa of at most 2^53 times a power of ten in
// [1e-22, 1e22]: both are exact doubles, so one IEEE multiplication or division gives the correctly
// rounded result (Clinger's fast path). That covers nearly every number a client writes for a vector
// component ("0.0123", "-1.5e-3"); false sends the rest to from_chars.
inline bool ReadShortDecimal(std::string_view text, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  constexpr uint64_t kMaxExactMantissa = uint64_t{1} << 53;
  const char* p = text.data();
  const char* const end = p + text.size();
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  uint64_t mantissa = 0;
  int exponent = 0;
  auto digit = [&](char c) { return static_cast<unsigned>(c - '0') <= 9; };
  for (; p < end && digit(*p); ++p) {
    mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
    if (mantissa > kMaxExactMantissa) return false;
  }
  if (p < end && *p == '.') {
    for (++p; p < end && digit(*p); ++p) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
      if (mantissa > kMaxExactMantissa) return false;
      --exponent;
    }
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    const bool negative_exponent = p < end && *p == '-';
    if (p < end && (*p == '-' || *p == '+')) ++p;
    int written = 0;
    for (; p < end && digit(*p); ++p) {
      written = written * 10 + (*p - '0');
      if (written > 1000) return false;
    }
    exponent += negative_exponent ? -written : written;
  }
  if (p != end || exponent < -22 || exponent > 22) return false;
  double value = static_cast<double>(mantissa);
  value = exponent < 0 ? value / kPow10[-exponent] : value * kPow10[exponent];
  *out = negative ? -value : value;
  return true;
}

class PreciseJsonHandler {
 public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  PreciseJsonHandler() = default;
  // `stack` holds the parser's stack of values under construction (the tree's storage is st.reset's).
  explicit PreciseJsonHandler(boost::json::storage_ptr stack) : st(std::move(stack)) {}

  boost::json::value_stack st;
  NumberError number_error = NumberError::kNone;

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_object_begin(boost::json::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(boost::json::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(int64_t i, boost::json::string_view, boost::json::error_code&) {
    number_.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, boost::json::string_view, boost::json::error_code&) {
    number_.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double, boost::json::string_view s, boost::json::error_code& ec) {
    double d = 0;
    if (!ReadDouble(s, &d, ec)) return false;
    st.push_double(d);
    return true;
  }
  // The value of a double's text (its last part, after any on_number_part), as ParseJson reads it;
  // false (with ec and number_error set) when it is outside the double range.
  bool ReadDouble(boost::json::string_view s, double* out, boost::json::error_code& ec) {
    double d = 0;
    if (number_.empty() && ReadShortDecimal(std::string_view(s.data(), s.size()), &d)) {
      *out = d;
      return true;
    }
    number_.append(s.data(), s.size());
    auto [end, err] = std::from_chars(number_.data(), number_.data() + number_.size(), d);
    if (err == std::errc::result_out_of_range) {
      // from_chars leaves d untouched here; strtod tells overflow (inf) from underflow (0, subnormal).
      d = std::strtod(number_.c_str(), nullptr);
      if (std::isfinite(d)) err = std::errc();
    }
    if (err != std::errc() || end != number_.data() + number_.size()) {
      number_error = NumberError::kOutOfRange;
      ec = boost::json::error::exponent_overflow;
      return false;
    }
    number_.clear();
    *out = d;
    return true;
  }
  bool on_bool(bool b, boost::json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(boost::json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

 protected:
  std::string number_;  // the text of the number being read, across buffer boundaries
};

}  // namespace vj

// ParseJson: Boost.JSON's parser with a handler of our own, for two reasons Boost 1.81's stock parser
// cannot serve: doubles are re-read with std::from_chars from their text (Boost 1.81 rounds some
// decimal numbers to a neighbouring double, so payloads would not round-trip), and numbers outside the
// double range are refused instead of becoming infinity (which serializes as invalid JSON).
#include <boost/json/basic_parser_impl.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/payload.h"

namespace vj {
namespace json = boost::json;
namespace {

enum class NumberError { kNone, kOutOfRange };

// Reads a JSON number (already checked against the grammar by the parser) exactly, without
// from_chars, when its value is a decimal mantissa of at most 2^53 times a power of ten in
// [1e-22, 1e22]: both are exact doubles, so one IEEE multiplication or division gives the correctly
// rounded result (Clinger's fast path). That covers nearly every number a client writes for a vector
// component ("0.0123", "-1.5e-3"); false sends the rest to from_chars.
bool ReadShortDecimal(std::string_view text, double* out) {
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

class PreciseHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  NumberError number_error = NumberError::kNone;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(int64_t i, json::string_view, json::error_code&) {
    number_.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, json::error_code&) {
    number_.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double, json::string_view s, json::error_code& ec) {
    double d = 0;
    if (number_.empty() && ReadShortDecimal(std::string_view(s.data(), s.size()), &d)) {
      st.push_double(d);
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
      ec = json::error::exponent_overflow;
      return false;
    }
    number_.clear();
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::string number_;  // the text of the number being read, across buffer boundaries
};

}  // namespace

StatusOr<json::value> ParseJson(std::string_view text, size_t max_depth) {
  json::parse_options opts;
  opts.max_depth = max_depth;
  opts.allow_invalid_utf8 = false;
  json::basic_parser<PreciseHandler> parser(opts);
  parser.handler().st.reset(json::storage_ptr());
  json::error_code ec;
  size_t n = 0;
  try {
    n = parser.write_some(false, text.data(), text.size(), ec);
  } catch (const std::exception& e) {  // allocation failure or a limit inside value_stack
    return absl::InvalidArgumentError(std::string("JSON cannot be parsed: ") + e.what());
  }
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) {
    if (parser.handler().number_error == NumberError::kOutOfRange) {
      return absl::InvalidArgumentError("JSON number out of range near byte " + std::to_string(n));
    }
    if (ec == json::error::too_deep) {
      return absl::InvalidArgumentError("JSON nesting deeper than " + std::to_string(max_depth) +
                                        " levels");
    }
    return absl::InvalidArgumentError("malformed JSON at byte " + std::to_string(n) + ": " +
                                      ec.message());
  }
  return parser.handler().st.release();
}

}  // namespace vj

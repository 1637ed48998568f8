// ParseJson: Boost.JSON's parser with a handler of our own (core/json_parse_handler.h says why).
#include <boost/json/basic_parser_impl.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json_parse_handler.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;

StatusOr<json::value> ParseJson(std::string_view text, size_t max_depth) {
  json::parse_options opts;
  opts.max_depth = max_depth;
  opts.allow_invalid_utf8 = false;
  json::basic_parser<PreciseJsonHandler> parser(opts);
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

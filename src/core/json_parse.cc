// ParseJson: Boost.JSON's parser with a handler of our own (core/json_parse_handler.h says why).
#include <boost/json/basic_parser_impl.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json_memory.h"
#include "core/json_parse_handler.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;

StatusOr<json::value> ParseJson(std::string_view text, size_t max_depth) {
  return ParseJson(text, max_depth, nullptr);
}

StatusOr<json::value> ParseJson(std::string_view text, size_t max_depth, JsonBodyMemory* memory) {
  json::parse_options opts;
  opts.max_depth = max_depth;
  opts.allow_invalid_utf8 = false;
  const json::storage_ptr storage = memory != nullptr ? memory->storage() : json::storage_ptr();
  json::basic_parser<PreciseJsonHandler> parser(opts, storage);
  parser.handler().st.reset(storage);
  json::error_code ec;
  size_t n = 0;
  if (memory != nullptr) memory->BeginStrict();
  try {
    n = parser.write_some(false, text.data(), text.size(), ec);
  } catch (const JsonMemoryExceeded&) {
    memory->EndStrict();
    return memory->Exceeded();
  } catch (const std::exception& e) {  // allocation failure or a limit inside value_stack
    if (memory != nullptr) memory->EndStrict();
    return absl::InvalidArgumentError(std::string("JSON cannot be parsed: ") + e.what());
  }
  if (memory != nullptr) memory->EndStrict();
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

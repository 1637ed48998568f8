// Built-in stop-word lists (lowercase). Thread-safety: immutable data.
#pragma once

#include <string_view>
#include <vector>

namespace vj::text {

// The list for a language name ("english"), or nullptr when there is none built in.
const std::vector<std::string_view>* BuiltInStopwords(std::string_view language);
// Names of the built-in lists, for error messages.
std::string_view BuiltInStopwordLanguages();

}  // namespace vj::text

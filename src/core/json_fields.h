// Strict readers for fields of untrusted JSON request bodies. Each returns InvalidArgument whose message
// starts with `where` (the field's path, e.g. "points[3].vector") and says what was expected, so a user
// can find the problem in their request. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/status.h"

namespace vj {

// InvalidArgument naming the first key of `object` not in `known`.
Status CheckKnownFields(const boost::json::object& object,
                        std::initializer_list<std::string_view> known, const std::string& where);

StatusOr<const boost::json::object*> ReadObject(const boost::json::value& v, const std::string& where);
StatusOr<const boost::json::array*> ReadArray(const boost::json::value& v, const std::string& where);
StatusOr<std::string> ReadString(const boost::json::value& v, const std::string& where);
StatusOr<bool> ReadBool(const boost::json::value& v, const std::string& where);
// Accepts JSON integers >= 0 (and doubles with an integral value).
StatusOr<uint64_t> ReadUint(const boost::json::value& v, const std::string& where);
// Accepts any finite JSON number.
StatusOr<double> ReadNumber(const boost::json::value& v, const std::string& where);

// The field's value, or nullptr when absent or JSON null (Qdrant clients send null for "unset").
const boost::json::value* FindField(const boost::json::object& object, std::string_view key);

// Describes a JSON value's type for messages ("a string", "an array", ...).
std::string_view JsonTypeName(const boost::json::value& v);

}  // namespace vj

#include "core/json_fields.h"

#include <cmath>

namespace vj {
namespace json = boost::json;

namespace {
Status Expected(const std::string& where, std::string_view what, const json::value& got) {
  return absl::InvalidArgumentError(where + ": expected " + std::string(what) + ", got " +
                                    std::string(JsonTypeName(got)));
}
}  // namespace

std::string_view JsonTypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

Status CheckKnownFields(const json::object& object, std::initializer_list<std::string_view> known,
                        const std::string& where) {
  for (const auto& kv : object) {
    bool found = false;
    for (std::string_view k : known) {
      if (kv.key() == k) {
        found = true;
        break;
      }
    }
    if (!found) {
      std::string prefix = where.empty() ? "" : where + ": ";
      return absl::InvalidArgumentError(prefix + "unknown field \"" + std::string(kv.key()) + "\"");
    }
  }
  return absl::OkStatus();
}

StatusOr<const json::object*> ReadObject(const json::value& v, const std::string& where) {
  if (const json::object* o = v.if_object()) return o;
  return Expected(where, "an object", v);
}

StatusOr<const json::array*> ReadArray(const json::value& v, const std::string& where) {
  if (const json::array* a = v.if_array()) return a;
  return Expected(where, "an array", v);
}

StatusOr<std::string> ReadString(const json::value& v, const std::string& where) {
  if (const json::string* s = v.if_string()) return std::string(*s);
  return Expected(where, "a string", v);
}

StatusOr<bool> ReadBool(const json::value& v, const std::string& where) {
  if (const bool* b = v.if_bool()) return *b;
  return Expected(where, "a boolean", v);
}

StatusOr<uint64_t> ReadUint(const json::value& v, const std::string& where) {
  if (const uint64_t* u = v.if_uint64()) return *u;
  if (const int64_t* i = v.if_int64()) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
    return absl::InvalidArgumentError(where + ": expected a non-negative integer, got " +
                                      std::to_string(*i));
  }
  if (const double* d = v.if_double()) {
    if (std::isfinite(*d) && *d >= 0 && *d == std::floor(*d) && *d < 1.8446744073709552e19) {
      return static_cast<uint64_t>(*d);
    }
    return absl::InvalidArgumentError(where + ": expected a non-negative integer, got " +
                                      json::serialize(v));
  }
  return Expected(where, "a non-negative integer", v);
}

StatusOr<double> ReadNumber(const json::value& v, const std::string& where) {
  if (const double* d = v.if_double()) {
    if (!std::isfinite(*d)) return absl::InvalidArgumentError(where + ": number is not finite");
    return *d;
  }
  if (const int64_t* i = v.if_int64()) return static_cast<double>(*i);
  if (const uint64_t* u = v.if_uint64()) return static_cast<double>(*u);
  return Expected(where, "a number", v);
}

const json::value* FindField(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

}  // namespace vj

#include "core/payload.h"

#include <charconv>
#include <cmath>

#include "core/payload_limits.h"

namespace vj {
namespace json = boost::json;

namespace {

// Bytes that end an unquoted key. Qdrant's unquoted keys are letters, digits, '_' and '-'; this grammar
// also accepts other characters there (spaces, ':', ...) because stored collection configs written
// before the grammar was tightened name payload indexes that way, and a config that no longer parses
// would keep its collection from opening.
bool EndsRawKey(char c) { return c == '.' || c == '[' || c == ']' || c == '"'; }

}  // namespace

StatusOr<PayloadPath> ParsePayloadPath(std::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("payload key must not be empty");
  auto bad = [&](const std::string& why) {
    // The key is quoted in the message, cut short: it may be the longest part of a hostile request.
    std::string shown(path.substr(0, 64));
    if (path.size() > 64) shown += "...";
    return absl::InvalidArgumentError("invalid payload key \"" + shown + "\": " + why);
  };
  if (path.size() > kMaxPayloadPathBytes) {
    return bad("longer than " + std::to_string(kMaxPayloadPathBytes) + " bytes");
  }
  PayloadPath steps;
  size_t i = 0;
  while (true) {
    if (steps.size() == kMaxPayloadPathSegments) {
      return bad("more than " + std::to_string(kMaxPayloadPathSegments) + " segments");
    }
    PathStep step;
    if (i < path.size() && path[i] == '"') {
      // A quoted key: any bytes but '"' and '\\' (Qdrant has no escapes inside quotes).
      const size_t close = path.find_first_of("\"\\", i + 1);
      if (close == std::string_view::npos) return bad("unclosed '\"'");
      if (path[close] != '"') return bad("'\\' inside a quoted key");
      step.key = std::string(path.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      const size_t start = i;
      while (i < path.size() && !EndsRawKey(path[i])) ++i;
      if (i == start) {
        if (i == path.size()) return bad("ends with '.'");
        if (path[i] == '.') return bad("empty segment at byte " + std::to_string(i));
        return bad(std::string("unexpected '") + path[i] + "' at byte " + std::to_string(i));
      }
      step.key = std::string(path.substr(start, i - start));
    }
    if (i < path.size() && path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string_view::npos) return bad("unclosed '['");
      std::string_view inner = path.substr(i + 1, close - i - 1);
      if (inner.empty()) {
        step.index = PathStep::Index::kAll;
      } else {
        size_t pos = 0;
        auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), pos);
        if (ec != std::errc() || p != inner.data() + inner.size()) {
          return bad("array index is not a number");
        }
        if (pos > kMaxPayloadPathIndex) {
          return bad("array index above " + std::to_string(kMaxPayloadPathIndex));
        }
        step.index = PathStep::Index::kOne;
        step.position = pos;
      }
      i = close + 1;
      if (i < path.size() && path[i] == '[') return bad("two array indexes in a row are not supported");
    }
    steps.push_back(std::move(step));
    if (i == path.size()) return steps;
    if (path[i] != '.') {
      return bad(std::string("expected '.' at byte ") + std::to_string(i) + ", got '" + path[i] + "'");
    }
    ++i;
  }
}

std::string FormatPayloadPath(const PayloadPath& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out += '.';
    const std::string& key = path[i].key;
    bool quote = key.empty();
    for (char c : key) quote = quote || EndsRawKey(c);
    if (quote) {
      out += '"';
      out += key;
      out += '"';
    } else {
      out += key;
    }
    if (path[i].index == PathStep::Index::kAll) out += "[]";
    if (path[i].index == PathStep::Index::kOne) out += "[" + std::to_string(path[i].position) + "]";
  }
  return out;
}

namespace {

void Walk(const json::value& v, const PayloadPath& path, size_t step, bool expand,
          std::vector<const json::value*>* out) {
  if (step == path.size()) {
    if (expand && v.is_array()) {
      for (const auto& e : v.get_array()) out->push_back(&e);
    } else {
      out->push_back(&v);
    }
    return;
  }
  const json::object* obj = v.if_object();
  if (obj == nullptr) {
    // Qdrant lets "a.b" reach into every object of an array "a" too.
    if (const json::array* arr = v.if_array()) {
      for (const auto& e : *arr) {
        if (e.is_object()) Walk(e, path, step, expand, out);
      }
    }
    return;
  }
  const PathStep& s = path[step];
  auto it = obj->find(s.key);
  if (it == obj->end()) return;
  const json::value& child = it->value();
  switch (s.index) {
    case PathStep::Index::kNone:
      Walk(child, path, step + 1, expand, out);
      break;
    case PathStep::Index::kAll:
      if (const json::array* arr = child.if_array()) {
        for (const auto& e : *arr) Walk(e, path, step + 1, expand, out);
      }
      break;
    case PathStep::Index::kOne:
      if (const json::array* arr = child.if_array(); arr && s.position < arr->size()) {
        Walk((*arr)[s.position], path, step + 1, expand, out);
      }
      break;
  }
}

}  // namespace

void CollectValues(const Payload& payload, const PayloadPath& path, bool expand_arrays,
                   std::vector<const json::value*>* out) {
  if (path.empty()) return;
  const PathStep& s = path[0];
  auto it = payload.find(s.key);
  if (it == payload.end()) return;
  const json::value& child = it->value();
  switch (s.index) {
    case PathStep::Index::kNone:
      Walk(child, path, 1, expand_arrays, out);
      break;
    case PathStep::Index::kAll:
      if (const json::array* arr = child.if_array()) {
        for (const auto& e : *arr) Walk(e, path, 1, expand_arrays, out);
      }
      break;
    case PathStep::Index::kOne:
      if (const json::array* arr = child.if_array(); arr && s.position < arr->size()) {
        Walk((*arr)[s.position], path, 1, expand_arrays, out);
      }
      break;
  }
}

}  // namespace vj

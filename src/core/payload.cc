#include "core/payload.h"

#include <charconv>
#include <cmath>

namespace vj {
namespace json = boost::json;

StatusOr<PayloadPath> ParsePayloadPath(std::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("payload key must not be empty");
  PayloadPath steps;
  size_t i = 0;
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError("invalid payload key \"" + std::string(path) + "\": " + why);
  };
  while (i < path.size()) {
    PathStep step;
    size_t start = i;
    while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
    step.key = std::string(path.substr(start, i - start));
    if (step.key.empty()) return bad("empty segment");
    if (i < path.size() && path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string_view::npos) return bad("unclosed '['");
      std::string_view inner = path.substr(i + 1, close - i - 1);
      if (inner.empty()) {
        step.index = PathStep::Index::kAll;
      } else {
        size_t pos = 0;
        auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), pos);
        if (ec != std::errc() || p != inner.data() + inner.size()) return bad("array index is not a number");
        step.index = PathStep::Index::kOne;
        step.position = pos;
      }
      i = close + 1;
    }
    steps.push_back(std::move(step));
    if (i < path.size()) {
      if (path[i] != '.') return bad("expected '.' after ']'");
      ++i;
      if (i == path.size()) return bad("ends with '.'");
    }
  }
  return steps;
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

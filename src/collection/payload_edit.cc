#include "collection/payload_edit.h"

#include <string_view>

namespace vj {
namespace json = boost::json;

namespace {

std::vector<std::string> SplitDots(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// Copies the value at `parts` of `from` into the same place of `to`, creating objects on the way.
void CopyPath(const json::object& from, const std::vector<std::string>& parts, size_t i,
              json::object& to) {
  auto it = from.find(parts[i]);
  if (it == from.end()) return;
  if (i + 1 == parts.size()) {
    to[parts[i]] = it->value();
    return;
  }
  const json::object* child = it->value().if_object();
  if (child == nullptr) return;
  json::value& slot = to[parts[i]];
  if (!slot.is_object()) slot = json::object();
  CopyPath(*child, parts, i + 1, slot.get_object());
}

void ErasePath(json::object& obj, const std::vector<std::string>& parts, size_t i) {
  auto it = obj.find(parts[i]);
  if (it == obj.end()) return;
  if (i + 1 == parts.size()) {
    obj.erase(it);
    return;
  }
  if (json::object* child = it->value().if_object()) ErasePath(*child, parts, i + 1);
}

}  // namespace

void MergePayload(Payload& target, const Payload& patch, const std::optional<std::string>& key) {
  json::object* dest = &target;
  if (key && !key->empty()) {
    for (const std::string& part : SplitDots(*key)) {
      json::value& slot = (*dest)[part];
      if (!slot.is_object()) slot = json::object();
      dest = &slot.get_object();
    }
  }
  for (const auto& kv : patch) (*dest)[kv.key()] = kv.value();
}

void DeletePayloadKeys(Payload& target, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    if (target.erase(key) > 0) continue;  // a top-level key that itself contains dots
    ErasePath(target, SplitDots(key), 0);
  }
}

std::optional<Payload> SelectPayload(const Payload& payload, const PayloadSelector& selector) {
  switch (selector.mode) {
    case PayloadSelector::Mode::kNone:
      return std::nullopt;
    case PayloadSelector::Mode::kAll:
      return payload;
    case PayloadSelector::Mode::kInclude: {
      Payload out;
      for (const std::string& key : selector.keys) {
        if (auto it = payload.find(key); it != payload.end()) {
          out[key] = it->value();
        } else {
          CopyPath(payload, SplitDots(key), 0, out);
        }
      }
      return out;
    }
    case PayloadSelector::Mode::kExclude: {
      Payload out = payload;
      DeletePayloadKeys(out, selector.keys);
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace vj

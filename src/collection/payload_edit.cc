#include "collection/payload_edit.h"

#include <algorithm>

#include "core/payload_limits.h"

namespace vj {
namespace json = boost::json;

namespace {

// What a merge may still write, in bytes of JSON: every copy of the patch and every null that extends
// an array is charged, so "a[].b[65535]" over a large array, or a big patch merged into every element,
// fails fast instead of building gigabytes before the result's size is checked.
class MergeBudget {
 public:
  explicit MergeBudget(size_t patch_bytes) : patch_bytes_(std::max<size_t>(patch_bytes, 1)) {}
  Status ChargePatch() { return Charge(patch_bytes_); }
  Status ChargeNulls(size_t n) { return Charge(n * 5); }  // "null,"

 private:
  Status Charge(size_t bytes) {
    if (bytes > left_) {
      return absl::InvalidArgumentError("payload: the merge would write more than " +
                                        std::to_string(kMaxPayloadBytes) + " bytes");
    }
    left_ -= bytes;
    return absl::OkStatus();
  }
  const size_t patch_bytes_;
  size_t left_ = kMaxPayloadBytes;
};

Status SetInObject(json::object& obj, const PayloadPath& path, size_t i, const Payload& patch,
                   MergeBudget& budget);

// Applies path[i..] below `dest` (the merge target when i == path.size()).
Status SetBelow(json::value& dest, const PayloadPath& path, size_t i, const Payload& patch,
                MergeBudget& budget) {
  if (!dest.is_object()) dest = json::object();
  if (i < path.size()) return SetInObject(dest.get_object(), path, i, patch, budget);
  VJ_RETURN_IF_ERROR(budget.ChargePatch());
  json::object& obj = dest.get_object();
  for (const auto& kv : patch) obj[kv.key()] = kv.value();
  return absl::OkStatus();
}

Status SetInObject(json::object& obj, const PayloadPath& path, size_t i, const Payload& patch,
                   MergeBudget& budget) {
  const PathStep& step = path[i];
  json::value& slot = obj[step.key];  // null when new
  switch (step.index) {
    case PathStep::Index::kNone:
      return SetBelow(slot, path, i + 1, patch, budget);
    case PathStep::Index::kOne: {
      if (!slot.is_array()) slot = json::array();
      json::array& arr = slot.get_array();
      if (step.position >= arr.size()) {
        VJ_RETURN_IF_ERROR(budget.ChargeNulls(step.position + 1 - arr.size()));
        arr.resize(step.position + 1);
      }
      return SetBelow(arr[step.position], path, i + 1, patch, budget);
    }
    case PathStep::Index::kAll:
      if (!slot.is_array()) {
        slot = json::array();
        return absl::OkStatus();
      }
      for (json::value& e : slot.get_array()) VJ_RETURN_IF_ERROR(SetBelow(e, path, i + 1, patch, budget));
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

void EraseInObject(json::object& obj, const PayloadPath& path, size_t i);

// Continues a deletion at path[i] inside `v`, which must be an object to go on.
void EraseBelow(json::value& v, const PayloadPath& path, size_t i) {
  if (json::object* obj = v.if_object()) EraseInObject(*obj, path, i);
}

void EraseInObject(json::object& obj, const PayloadPath& path, size_t i) {
  const PathStep& step = path[i];
  const bool last = i + 1 == path.size();
  auto it = obj.find(step.key);
  if (it == obj.end()) return;
  if (step.index == PathStep::Index::kNone) {
    if (last) {
      obj.erase(it);
    } else {
      EraseBelow(it->value(), path, i + 1);
    }
    return;
  }
  json::array* arr = it->value().if_array();
  if (arr == nullptr) return;
  if (step.index == PathStep::Index::kOne) {
    if (step.position >= arr->size()) return;
    if (last) {
      arr->erase(arr->begin() + static_cast<std::ptrdiff_t>(step.position));
    } else {
      EraseBelow((*arr)[step.position], path, i + 1);
    }
    return;
  }
  if (last) {
    arr->clear();
  } else {
    for (json::value& e : *arr) EraseBelow(e, path, i + 1);
  }
}

// Copies what `path` names in `from` into the same place of `to`, creating objects on the way; an
// index step copies the whole array it indexes.
void CopyPath(const json::object& from, const PayloadPath& path, json::object& to) {
  const json::object* src = &from;
  json::object* dst = &to;
  for (size_t i = 0; i < path.size(); ++i) {
    auto it = src->find(path[i].key);
    if (it == src->end()) return;
    if (i + 1 == path.size() || path[i].index != PathStep::Index::kNone) {
      (*dst)[path[i].key] = it->value();
      return;
    }
    const json::object* child = it->value().if_object();
    if (child == nullptr) return;
    json::value& slot = (*dst)[path[i].key];
    if (!slot.is_object()) slot = json::object();
    src = child;
    dst = &slot.get_object();
  }
}

}  // namespace

Status MergePayload(Payload& target, const Payload& patch, size_t patch_bytes, const PayloadPath* key) {
  MergeBudget budget(patch_bytes);
  if (key == nullptr || key->empty()) {
    VJ_RETURN_IF_ERROR(budget.ChargePatch());
    for (const auto& kv : patch) target[kv.key()] = kv.value();
    return absl::OkStatus();
  }
  return SetInObject(target, *key, 0, patch, budget);
}

void DeletePayloadPaths(Payload& target, const std::vector<PayloadPath>& paths) {
  for (const PayloadPath& path : paths) {
    if (!path.empty()) EraseInObject(target, path, 0);
  }
}

StatusOr<std::vector<PayloadPath>> ParsePayloadPaths(const std::vector<std::string>& keys,
                                                     const std::string& where) {
  std::vector<PayloadPath> paths;
  paths.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    StatusOr<PayloadPath> path = ParsePayloadPath(keys[i]);
    if (!path.ok()) return WithContext(path.status(), where + "[" + std::to_string(i) + "]");
    paths.push_back(std::move(*path));
  }
  return paths;
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
        StatusOr<PayloadPath> path = ParsePayloadPath(key);
        if (path.ok()) CopyPath(payload, *path, out);
      }
      return out;
    }
    case PayloadSelector::Mode::kExclude: {
      Payload out = payload;
      for (const std::string& key : selector.keys) {
        StatusOr<PayloadPath> path = ParsePayloadPath(key);
        if (path.ok()) DeletePayloadPaths(out, {*path});
      }
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace vj

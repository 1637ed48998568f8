#include "collection/aggregations.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/distance.h"

namespace vj {
namespace json = boost::json;

namespace {

// A value's identity for grouping and counting: integers by value whatever their JSON kind (1 and 1.0
// meet, as match conditions treat them), strings by text.
std::optional<std::string> ValueKey(const json::value& v, bool with_bools, json::value* canonical) {
  if (const json::string* s = v.if_string()) {
    *canonical = *s;
    return "s" + std::string(*s);
  }
  std::optional<int64_t> n;
  if (const int64_t* i = v.if_int64()) n = *i;
  if (const uint64_t* u = v.if_uint64(); u != nullptr && *u <= static_cast<uint64_t>(INT64_MAX)) {
    n = static_cast<int64_t>(*u);
  }
  if (const double* d = v.if_double();
      d != nullptr && std::isfinite(*d) && std::trunc(*d) == *d && std::fabs(*d) < 9007199254740992.0) {
    n = static_cast<int64_t>(*d);
  }
  if (n) {
    *canonical = *n;
    return "i" + std::to_string(*n);
  }
  if (const bool* b = v.if_bool(); b != nullptr && with_bools) {
    *canonical = *b;
    return *b ? "btrue" : "bfalse";
  }
  return std::nullopt;
}

// Values of `path` in `payload` as (key, canonical value), each key once, in payload order.
std::vector<std::pair<std::string, json::value>> DistinctValues(const Payload& payload, const PayloadPath& path,
                                                                bool with_bools) {
  std::vector<const json::value*> values;
  CollectValues(payload, path, /*expand_arrays=*/true, &values);
  std::vector<std::pair<std::string, json::value>> out;
  for (const json::value* v : values) {
    json::value canonical;
    std::optional<std::string> key = ValueKey(*v, with_bools, &canonical);
    if (!key) continue;
    if (std::any_of(out.begin(), out.end(), [&](const auto& e) { return e.first == *key; })) continue;
    out.emplace_back(std::move(*key), std::move(canonical));
  }
  return out;
}

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer: PointId::Hash is the identity for integers
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<json::value> GroupValues(const Payload& payload, const PayloadPath& path) {
  std::vector<json::value> out;
  for (auto& [key, value] : DistinctValues(payload, path, /*with_bools=*/false)) out.push_back(std::move(value));
  return out;
}

std::vector<PointGroup> AssembleGroups(const std::vector<PointView>& candidates, const PayloadPath& path,
                                       size_t group_size, size_t limit, bool* complete) {
  std::vector<PointGroup> groups;  // in the order of their best hit
  std::unordered_map<std::string, size_t> position;
  for (const PointView& p : candidates) {
    if (!p.payload) continue;
    for (auto& [key, value] : DistinctValues(*p.payload, path, /*with_bools=*/false)) {
      auto [it, inserted] = position.emplace(key, groups.size());
      if (inserted) groups.push_back(PointGroup{std::move(value), {}});
      PointGroup& g = groups[it->second];
      if (g.hits.size() < group_size) g.hits.push_back(p);
    }
  }
  if (groups.size() > limit) groups.resize(limit);
  *complete = groups.size() == limit &&
              std::all_of(groups.begin(), groups.end(), [&](const PointGroup& g) { return g.hits.size() == group_size; });
  return groups;
}

void FacetCounts::Add(const json::value& value, uint64_t n) {
  json::value canonical;
  std::optional<std::string> key = ValueKey(value, /*with_bools=*/true, &canonical);
  if (!key) return;
  auto [it, inserted] = by_value.try_emplace(*key, FacetHit{std::move(canonical), 0});
  it->second.count += n;
}

void FacetCounts::Merge(const FacetCounts& other) {
  for (const auto& [key, hit] : other.by_value) Add(hit.value, hit.count);
}

std::vector<FacetHit> FacetCounts::Top(size_t limit) const {
  std::vector<FacetHit> out;
  out.reserve(by_value.size());
  for (const auto& [key, hit] : by_value) out.push_back(hit);
  // by_value is ordered by key: bools ("b"), then integers ("i") and strings ("s") by text; order
  // integers by value for the ties.
  auto rank = [](const json::value& v) { return v.is_bool() ? 0 : v.is_int64() ? 1 : 2; };
  std::stable_sort(out.begin(), out.end(), [&](const FacetHit& a, const FacetHit& b) {
    if (a.count != b.count) return a.count > b.count;
    if (rank(a.value) != rank(b.value)) return rank(a.value) < rank(b.value);
    if (a.value.is_int64()) return a.value.get_int64() < b.value.get_int64();
    if (a.value.is_string()) return a.value.get_string() < b.value.get_string();
    return false;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

void CountFacetValues(const Payload& payload, const PayloadPath& path, PayloadSchemaType type,
                      FacetCounts* counts) {
  for (auto& [key, value] : DistinctValues(payload, path, /*with_bools=*/true)) {
    const bool counted = type == PayloadSchemaType::kInteger ? value.is_int64()
                         : type == PayloadSchemaType::kBool  ? value.is_bool()
                                                             : value.is_string();
    if (counted) counts->Add(value, 1);
  }
}

std::vector<MatrixResult::Entry> NearestPairs(Metric metric, const std::vector<std::vector<float>>& vectors,
                                              size_t limit) {
  std::vector<MatrixResult::Entry> out;
  const size_t n = vectors.size();
  std::vector<std::pair<float, size_t>> row;
  for (size_t i = 0; i < n; ++i) {
    row.clear();
    for (size_t j = 0; j < n; ++j) {
      if (j == i || vectors[j].size() != vectors[i].size()) continue;
      row.emplace_back(Distance(metric, vectors[i].data(), vectors[j].data(), vectors[i].size()), j);
    }
    const size_t keep = std::min(limit, row.size());
    std::partial_sort(row.begin(), row.begin() + keep, row.end());
    for (size_t k = 0; k < keep; ++k) out.push_back({i, row[k].second, DistanceToScore(metric, row[k].first)});
  }
  return out;
}

std::vector<PointId> SampleIds(std::vector<PointId> ids, size_t n) {
  if (ids.size() > n) {
    auto by_hash = [](const PointId& a, const PointId& b) {
      const uint64_t x = Mix(a.Hash()), y = Mix(b.Hash());
      return x != y ? x < y : a < b;
    };
    std::nth_element(ids.begin(), ids.begin() + n, ids.end(), by_hash);
    ids.resize(n);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace vj

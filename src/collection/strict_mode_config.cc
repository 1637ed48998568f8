#include "collection/strict_mode_config.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

struct BoolField {
  const char* name;
  std::optional<bool> StrictModeConfig::*member;
};
constexpr BoolField kBoolFields[] = {
    {"enabled", &StrictModeConfig::enabled},
    {"unindexed_filtering_retrieve", &StrictModeConfig::unindexed_filtering_retrieve},
    {"unindexed_filtering_update", &StrictModeConfig::unindexed_filtering_update},
    {"search_allow_exact", &StrictModeConfig::search_allow_exact},
};

struct CountField {
  const char* name;
  std::optional<uint64_t> StrictModeConfig::*member;
  uint64_t min;
  uint64_t max;
};
// Counts are kept below 2^53 so that every JSON reader reads them back exactly.
constexpr uint64_t kMaxCount = (1ull << 53) - 1;
constexpr CountField kCountFields[] = {
    {"max_query_limit", &StrictModeConfig::max_query_limit, 1, kMaxCount},
    {"max_timeout", &StrictModeConfig::max_timeout, 1, kMaxCount},
    {"search_max_hnsw_ef", &StrictModeConfig::search_max_hnsw_ef, 0, kMaxCount},
    {"upsert_max_batchsize", &StrictModeConfig::upsert_max_batchsize, 0, kMaxCount},
    {"search_max_batchsize", &StrictModeConfig::search_max_batchsize, 0, kMaxCount},
    {"max_collection_vector_size_bytes", &StrictModeConfig::max_collection_vector_size_bytes, 0, kMaxCount},
    {"read_rate_limit", &StrictModeConfig::read_rate_limit, 1, kMaxCount},
    {"write_rate_limit", &StrictModeConfig::write_rate_limit, 1, kMaxCount},
    {"max_collection_payload_size_bytes", &StrictModeConfig::max_collection_payload_size_bytes, 0, kMaxCount},
    {"max_points_count", &StrictModeConfig::max_points_count, 1, kMaxCount},
    {"filter_max_conditions", &StrictModeConfig::filter_max_conditions, 0, kMaxCount},
    {"condition_max_size", &StrictModeConfig::condition_max_size, 0, kMaxCount},
    {"max_payload_index_count", &StrictModeConfig::max_payload_index_count, 0, kMaxCount},
    {"max_resident_memory_percent", &StrictModeConfig::max_resident_memory_percent, 1, 100},
};

}  // namespace

StatusOr<StrictModeConfig> ParseStrictModeConfig(const json::value& v, const std::string& where) {
  StrictModeConfig config;
  if (v.is_null()) return config;
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  std::vector<std::string_view> known;
  for (const BoolField& f : kBoolFields) known.push_back(f.name);
  for (const CountField& f : kCountFields) known.push_back(f.name);
  known.push_back("search_max_oversampling");
  for (const auto& kv : *obj) {
    const std::string field = where + "." + std::string(kv.key());
    if (kv.key() == "multivector_config") {
      if (!kv.value().is_null()) return absl::InvalidArgumentError(field + ": multivectors are not supported");
      continue;
    }
    if (kv.key() == "sparse_config") {
      if (!kv.value().is_null()) return absl::InvalidArgumentError(field + ": sparse vectors are not supported");
      continue;
    }
    if (std::find(known.begin(), known.end(), std::string_view(kv.key())) == known.end()) {
      return absl::InvalidArgumentError(field + ": unknown field \"" + std::string(kv.key()).substr(0, 64) + "\"");
    }
  }
  for (const BoolField& f : kBoolFields) {
    const json::value* value = FindField(*obj, f.name);
    if (value == nullptr || value->is_null()) continue;
    VJ_ASSIGN_OR_RETURN(config.*f.member, ReadBool(*value, where + "." + f.name));
  }
  for (const CountField& f : kCountFields) {
    const json::value* value = FindField(*obj, f.name);
    if (value == nullptr || value->is_null()) continue;
    const std::string field = where + "." + f.name;
    VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*value, field));
    if (n < f.min || n > f.max) {
      return absl::InvalidArgumentError(field + ": must be between " + std::to_string(f.min) + " and " +
                                        std::to_string(f.max));
    }
    config.*f.member = n;
  }
  if (const json::value* o = FindField(*obj, "search_max_oversampling"); o != nullptr && !o->is_null()) {
    VJ_ASSIGN_OR_RETURN(double x, ReadNumber(*o, where + ".search_max_oversampling"));
    if (!std::isfinite(x) || x < 0 || x > 1e6) {
      return absl::InvalidArgumentError(where + ".search_max_oversampling: must be between 0 and 1000000");
    }
    config.search_max_oversampling = x;
  }
  return config;
}

json::object StrictModeConfigToJson(const StrictModeConfig& config) {
  json::object out;
  for (const BoolField& f : kBoolFields) {
    if (config.*f.member) out[f.name] = *(config.*f.member);
  }
  for (const CountField& f : kCountFields) {
    if (config.*f.member) out[f.name] = *(config.*f.member);
  }
  if (config.search_max_oversampling) out["search_max_oversampling"] = *config.search_max_oversampling;
  return out;
}

StrictModeConfig MergeStrictModeConfig(const StrictModeConfig& base, const StrictModeConfig& update) {
  StrictModeConfig out = base;
  for (const BoolField& f : kBoolFields) {
    if (update.*f.member) out.*f.member = update.*f.member;
  }
  for (const CountField& f : kCountFields) {
    if (update.*f.member) out.*f.member = update.*f.member;
  }
  if (update.search_max_oversampling) out.search_max_oversampling = update.search_max_oversampling;
  return out;
}

}  // namespace vj

#include "collection/collection_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/durable_file.h"
#include "core/tenant_id.h"
#include "core/json_fields.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;

namespace {

constexpr size_t kMaxDimension = 65536;

StatusOr<HnswParams> ParseHnsw(const json::value& v, const std::string& where, HnswParams params) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj,
                                      {"m", "ef_construct", "full_scan_threshold",
                                       "max_indexing_threads", "on_disk", "payload_m", "ef"},
                                      where));
  if (const json::value* m = FindField(*obj, "m")) {
    VJ_ASSIGN_OR_RETURN(params.m, ReadUint(*m, where + ".m"));
    if (params.m < 2 || params.m > 128) {
      return absl::InvalidArgumentError(where + ".m: must be between 2 and 128");
    }
  }
  if (const json::value* ef = FindField(*obj, "ef_construct")) {
    VJ_ASSIGN_OR_RETURN(params.ef_construct, ReadUint(*ef, where + ".ef_construct"));
    if (params.ef_construct < 4 || params.ef_construct > 4096) {
      return absl::InvalidArgumentError(where + ".ef_construct: must be between 4 and 4096");
    }
  }
  if (const json::value* ef = FindField(*obj, "ef")) {
    VJ_ASSIGN_OR_RETURN(params.ef_search, ReadUint(*ef, where + ".ef"));
    if (params.ef_search < 1 || params.ef_search > 65536) {
      return absl::InvalidArgumentError(where + ".ef: must be between 1 and 65536");
    }
  }
  if (const json::value* t = FindField(*obj, "full_scan_threshold")) {
    VJ_ASSIGN_OR_RETURN(params.full_scan_threshold_kb, ReadUint(*t, where + ".full_scan_threshold"));
  }
  // max_indexing_threads, on_disk and payload_m are accepted for compatibility; the index ignores them.
  if (const json::value* v2 = FindField(*obj, "max_indexing_threads")) {
    VJ_RETURN_IF_ERROR(ReadUint(*v2, where + ".max_indexing_threads").status());
  }
  if (const json::value* v2 = FindField(*obj, "on_disk")) {
    VJ_RETURN_IF_ERROR(ReadBool(*v2, where + ".on_disk").status());
  }
  if (const json::value* v2 = FindField(*obj, "payload_m")) {
    VJ_RETURN_IF_ERROR(ReadUint(*v2, where + ".payload_m").status());
  }
  return params;
}

StatusOr<QuantizationConfig> ParseQuantization(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  if (obj->size() != 1) {
    return absl::InvalidArgumentError(where + ": expected exactly one of \"scalar\" or \"binary\"");
  }
  QuantizationConfig config;
  const auto& [kind, body] = *obj->begin();
  const std::string inner = where + "." + std::string(kind);
  VJ_ASSIGN_OR_RETURN(const json::object* params, ReadObject(body, inner));
  if (kind == "scalar") {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*params, {"type", "quantile", "always_ram", "ranges"}, inner));
    const json::value* type = FindField(*params, "type");
    if (type == nullptr) return absl::InvalidArgumentError(inner + ".type: missing");
    VJ_ASSIGN_OR_RETURN(std::string type_name, ReadString(*type, inner + ".type"));
    if (type_name != "int8") return absl::InvalidArgumentError(inner + ".type: only \"int8\" is supported");
    if (const json::value* q = FindField(*params, "quantile")) {
      VJ_ASSIGN_OR_RETURN(double quantile, ReadNumber(*q, inner + ".quantile"));
      if (quantile < 0.5 || quantile > 1.0) {
        return absl::InvalidArgumentError(inner + ".quantile: must be between 0.5 and 1");
      }
      config.quantile = static_cast<float>(quantile);
    }
    if (const json::value* r = FindField(*params, "ranges")) {
      VJ_ASSIGN_OR_RETURN(std::string ranges, ReadString(*r, inner + ".ranges"));
      if (ranges == "auto") {
        config.ranges = Sq8Ranges::kAuto;
      } else if (ranges == "global") {
        config.ranges = Sq8Ranges::kGlobal;
      } else if (ranges == "per_dimension") {
        config.ranges = Sq8Ranges::kPerDimension;
      } else {
        return absl::InvalidArgumentError(inner + ".ranges: expected \"auto\", \"global\" or \"per_dimension\"");
      }
    }
  } else if (kind == "binary") {
    config.kind = QuantizationConfig::Kind::kBinary;
    VJ_RETURN_IF_ERROR(CheckKnownFields(*params, {"always_ram"}, inner));
  } else if (kind == "product") {
    return absl::InvalidArgumentError(inner + ": product quantization is not supported");
  } else {
    return absl::InvalidArgumentError(where + ": expected \"scalar\" or \"binary\", got \"" +
                                      std::string(kind) + "\"");
  }
  if (const json::value* ram = FindField(*params, "always_ram")) {
    VJ_ASSIGN_OR_RETURN(config.always_ram, ReadBool(*ram, inner + ".always_ram"));
  }
  return config;
}

json::value QuantizationToJson(const std::optional<QuantizationConfig>& q) {
  if (!q) return nullptr;
  if (q->kind == QuantizationConfig::Kind::kBinary) {
    return json::object{{"binary", json::object{{"always_ram", q->always_ram}}}};
  }
  json::object scalar{{"type", "int8"}, {"quantile", q->quantile}, {"always_ram", q->always_ram}};
  if (q->ranges == Sq8Ranges::kGlobal) scalar["ranges"] = "global";
  if (q->ranges == Sq8Ranges::kPerDimension) scalar["ranges"] = "per_dimension";
  return json::object{{"scalar", std::move(scalar)}};
}

StatusOr<VectorParams> ParseVectorParams(const json::value& v, const std::string& where,
                                         const HnswParams& base) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(
      *obj, {"size", "distance", "hnsw_config", "on_disk", "quantization_config", "datatype",
             "multivector_config"},
      where));
  VectorParams params;
  const json::value* size = FindField(*obj, "size");
  if (size == nullptr) return absl::InvalidArgumentError(where + ".size: missing");
  VJ_ASSIGN_OR_RETURN(params.size, ReadUint(*size, where + ".size"));
  if (params.size == 0 || params.size > kMaxDimension) {
    return absl::InvalidArgumentError(where + ".size: must be between 1 and " +
                                      std::to_string(kMaxDimension));
  }
  const json::value* distance = FindField(*obj, "distance");
  if (distance == nullptr) return absl::InvalidArgumentError(where + ".distance: missing");
  VJ_ASSIGN_OR_RETURN(std::string name, ReadString(*distance, where + ".distance"));
  auto metric = ParseMetric(name);
  if (!metric.ok()) return absl::InvalidArgumentError(where + ".distance: " + StatusMessage(metric.status()));
  params.distance = *metric;
  if (const json::value* h = FindField(*obj, "hnsw_config")) {
    VJ_ASSIGN_OR_RETURN(HnswParams hnsw, ParseHnsw(*h, where + ".hnsw_config", base));
    params.hnsw = hnsw;
  }
  if (const json::value* d = FindField(*obj, "on_disk")) {
    VJ_ASSIGN_OR_RETURN(params.on_disk, ReadBool(*d, where + ".on_disk"));
  }
  if (const json::value* q = FindField(*obj, "quantization_config")) {
    VJ_ASSIGN_OR_RETURN(params.quantization, ParseQuantization(*q, where + ".quantization_config"));
  }
  if (const json::value* dt = FindField(*obj, "datatype")) {
    VJ_ASSIGN_OR_RETURN(std::string type, ReadString(*dt, where + ".datatype"));
    if (type != "float32") {
      return absl::InvalidArgumentError(where + ".datatype: only \"float32\" is supported");
    }
  }
  if (FindField(*obj, "multivector_config") != nullptr) {
    return absl::InvalidArgumentError(where + ".multivector_config: multivectors are not supported");
  }
  return params;
}

StatusOr<SparseVectorParams> ParseSparseVectorParams(const json::value& v, const std::string& where) {
  SparseVectorParams params;
  if (v.is_null()) return params;
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"index", "modifier"}, where));
  if (const json::value* index = FindField(*obj, "index"); index != nullptr && !index->is_null()) {
    const std::string at = where + ".index";
    VJ_ASSIGN_OR_RETURN(const json::object* iobj, ReadObject(*index, at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*iobj, {"on_disk", "full_scan_threshold", "datatype"}, at));
    if (const json::value* d = FindField(*iobj, "on_disk"); d != nullptr && !d->is_null()) {
      VJ_ASSIGN_OR_RETURN(params.on_disk, ReadBool(*d, at + ".on_disk"));
    }
    if (const json::value* t = FindField(*iobj, "full_scan_threshold"); t != nullptr && !t->is_null()) {
      VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*t, at + ".full_scan_threshold"));
      if (n > (uint64_t{1} << 32)) return absl::InvalidArgumentError(at + ".full_scan_threshold: too large");
      params.full_scan_threshold = static_cast<size_t>(n);
    }
    if (const json::value* dt = FindField(*iobj, "datatype"); dt != nullptr && !dt->is_null()) {
      VJ_ASSIGN_OR_RETURN(std::string type, ReadString(*dt, at + ".datatype"));
      if (type != "float32") return absl::InvalidArgumentError(at + ".datatype: only \"float32\" is supported");
    }
  }
  if (const json::value* m = FindField(*obj, "modifier"); m != nullptr && !m->is_null()) {
    VJ_ASSIGN_OR_RETURN(std::string modifier, ReadString(*m, where + ".modifier"));
    if (modifier == "idf") {
      params.idf = true;
    } else if (modifier != "none") {
      return absl::InvalidArgumentError(where + ".modifier: expected \"none\" or \"idf\", got \"" + modifier + "\"");
    }
  }
  return params;
}

json::object SparseVectorParamsToJson(const SparseVectorParams& p) {
  json::object index{{"on_disk", p.on_disk}};
  if (p.full_scan_threshold) index["full_scan_threshold"] = *p.full_scan_threshold;
  return json::object{{"index", std::move(index)}, {"modifier", p.idf ? "idf" : "none"}};
}

json::object SparseVectorsToJson(const CollectionConfig& config) {
  json::object out;
  for (const auto& [name, params] : config.sparse_vectors) out[name] = SparseVectorParamsToJson(params);
  return out;
}

bool IsVectorParamsObject(const json::object& obj) {
  return obj.contains("size") || obj.contains("distance");
}

StatusOr<uint32_t> ReadCount(const json::object& obj, std::string_view key, uint32_t max) {
  const json::value* v = FindField(obj, key);
  if (v == nullptr) return 1u;
  std::string where(key);
  VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*v, where));
  if (n < 1 || n > max) {
    return absl::InvalidArgumentError(where + ": must be between 1 and " + std::to_string(max));
  }
  return static_cast<uint32_t>(n);
}

json::object HnswToJson(const HnswParams& h) {
  return json::object{{"m", h.m},
                      {"ef_construct", h.ef_construct},
                      {"full_scan_threshold", h.full_scan_threshold_kb},
                      {"ef", h.ef_search}};
}

json::object VectorParamsToJson(const VectorParams& p) {
  json::object o{{"size", p.size}, {"distance", std::string(MetricName(p.distance))}};
  if (p.hnsw) o["hnsw_config"] = HnswToJson(*p.hnsw);
  if (p.on_disk) o["on_disk"] = true;
  if (p.quantization) o["quantization_config"] = QuantizationToJson(p.quantization);
  return o;
}

json::value VectorsToJson(const CollectionConfig& config) {
  if (config.has_unnamed_vector()) return VectorParamsToJson(config.vectors.begin()->second);
  json::object named;
  for (const auto& [name, params] : config.vectors) named[name] = VectorParamsToJson(params);
  return named;
}

}  // namespace

std::optional<QuantizationConfig> CollectionConfig::EffectiveQuantization(
    const std::string& vector_name) const {
  auto it = vectors.find(vector_name);
  if (it != vectors.end() && it->second.quantization) return it->second.quantization;
  return quantization;
}

HnswParams CollectionConfig::EffectiveHnsw(const std::string& vector_name) const {
  auto it = vectors.find(vector_name);
  if (it != vectors.end() && it->second.hnsw) return *it->second.hnsw;
  return hnsw;
}

StatusOr<CollectionConfig> ParseCollectionConfig(const json::value& body) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(body, "body"));
  VJ_RETURN_IF_ERROR(CheckKnownFields(
      *obj,
      {"vectors", "hnsw_config", "shard_number", "replication_factor", "write_consistency_factor",
       "on_disk_payload", "wal_config", "optimizers_config", "quantization_config", "sparse_vectors",
       "init_from", "sharding_method", "strict_mode_config", "payload_schema"},
      ""));
  CollectionConfig config;
  if (const json::value* h = FindField(*obj, "hnsw_config")) {
    VJ_ASSIGN_OR_RETURN(config.hnsw, ParseHnsw(*h, "hnsw_config", HnswParams{}));
  }
  if (const json::value* sparse = FindField(*obj, "sparse_vectors"); sparse != nullptr && !sparse->is_null()) {
    VJ_ASSIGN_OR_RETURN(const json::object* s, ReadObject(*sparse, "sparse_vectors"));
    for (const auto& kv : *s) {
      std::string name(kv.key());
      if (name.empty() || name.size() > 255) {
        return absl::InvalidArgumentError("sparse_vectors: sparse vector names must have 1 to 255 characters");
      }
      VJ_ASSIGN_OR_RETURN(config.sparse_vectors[name],
                          ParseSparseVectorParams(kv.value(), "sparse_vectors." + name));
    }
  }
  const json::value* vectors = FindField(*obj, "vectors");
  if (vectors == nullptr && config.sparse_vectors.empty()) {
    return absl::InvalidArgumentError("vectors: missing (give vectors, sparse_vectors, or both)");
  }
  static const json::value kNoVectors = json::object();
  if (vectors == nullptr) vectors = &kNoVectors;
  VJ_ASSIGN_OR_RETURN(const json::object* vobj, ReadObject(*vectors, "vectors"));
  if (IsVectorParamsObject(*vobj)) {
    VJ_ASSIGN_OR_RETURN(config.vectors[""], ParseVectorParams(*vectors, "vectors", config.hnsw));
  } else {
    if (vobj->empty() && config.sparse_vectors.empty()) {
      return absl::InvalidArgumentError("vectors: at least one vector (or a sparse vector) is required");
    }
    for (const auto& kv : *vobj) {
      std::string name(kv.key());
      if (name.empty() || name.size() > 255) {
        return absl::InvalidArgumentError("vectors: vector names must have 1 to 255 characters");
      }
      VJ_ASSIGN_OR_RETURN(config.vectors[name],
                          ParseVectorParams(kv.value(), "vectors." + name, config.hnsw));
    }
  }
  VJ_ASSIGN_OR_RETURN(config.shard_number, ReadCount(*obj, "shard_number", 1024));
  VJ_ASSIGN_OR_RETURN(config.replication_factor, ReadCount(*obj, "replication_factor", 16));
  VJ_ASSIGN_OR_RETURN(config.write_consistency_factor,
                      ReadCount(*obj, "write_consistency_factor", 16));
  if (const json::value* q = FindField(*obj, "quantization_config")) {
    VJ_ASSIGN_OR_RETURN(config.quantization, ParseQuantization(*q, "quantization_config"));
  }
  for (const auto& [name, params] : config.sparse_vectors) {
    if (config.vectors.count(name) != 0) {
      return absl::InvalidArgumentError("sparse_vectors." + name + ": a dense vector has the same name; names of "
                                        "vectors and sparse vectors must differ");
    }
  }
  if (FindField(*obj, "init_from") != nullptr) {
    return absl::InvalidArgumentError("init_from: not supported");
  }
  // Qdrant's optimizer knobs have no counterpart here (every point is indexed as it is written; graphs are
  // rebuilt without their tombstones by the shard itself): an empty object is accepted, a setting refused
  // by name rather than silently ignored.
  if (const json::value* o = FindField(*obj, "optimizers_config")) {
    VJ_ASSIGN_OR_RETURN(const json::object* opt, ReadObject(*o, "optimizers_config"));
    for (const auto& kv : *opt) {
      if (kv.value().is_null()) continue;
      return absl::InvalidArgumentError("optimizers_config." + std::string(kv.key()) +
                                        ": not supported (VJVector indexes every point as it is written and "
                                        "compacts its indexes itself); leave optimizers_config out");
    }
  }
  // Payloads are stored in RocksDB and held in memory for filters; there is no on-disk-only mode.
  if (const json::value* d = FindField(*obj, "on_disk_payload")) {
    VJ_ASSIGN_OR_RETURN(bool on_disk, ReadBool(*d, "on_disk_payload"));
    if (on_disk) {
      return absl::InvalidArgumentError("on_disk_payload: true is not supported (payloads are kept in memory for "
                                        "filtering, and stored durably either way); leave it out or set false");
    }
  }
  if (const json::value* schema = FindField(*obj, "payload_schema")) {
    VJ_ASSIGN_OR_RETURN(const json::object* s, ReadObject(*schema, "payload_schema"));
    for (const auto& kv : *s) {
      std::string where = "payload_schema." + std::string(kv.key());
      auto parsed = ParsePayloadFieldSchema(kv.value(), where);
      if (!parsed.ok()) return parsed.status();
      // Only stored configs carry payload_schema (a create request may not). A key that the path
      // grammar refuses was written by an older version: its index is dropped with a warning rather
      // than making the collection, and so the node, fail to load.
      if (Status key = ParsePayloadPath(kv.key()).status(); !key.ok()) {
        spdlog::warn("payload index on key \"{}\" dropped: {}", std::string(kv.key()), StatusMessage(key));
        continue;
      }
      config.payload_schema[std::string(kv.key())] = *parsed;
    }
  }
  if (const json::value* strict = FindField(*obj, "strict_mode_config")) {
    VJ_ASSIGN_OR_RETURN(config.strict_mode, ParseStrictModeConfig(*strict, "strict_mode_config"));
  }
  // wal_config and sharding_method are accepted so that Qdrant clients' defaults work; this engine has
  // no such knobs.
  return config;
}

json::object CollectionConfigToJson(const CollectionConfig& config) {
  json::object out{{"vectors", VectorsToJson(config)},
                   {"hnsw_config", HnswToJson(config.hnsw)},
                   {"shard_number", config.shard_number},
                   {"replication_factor", config.replication_factor},
                   {"write_consistency_factor", config.write_consistency_factor}};
  if (config.quantization) out["quantization_config"] = QuantizationToJson(config.quantization);
  if (!config.sparse_vectors.empty()) out["sparse_vectors"] = SparseVectorsToJson(config);
  json::object schema;
  for (const auto& [key, type] : config.payload_schema) {
    schema[key] = PayloadFieldSchemaToJson(type);
  }
  out["payload_schema"] = std::move(schema);
  if (config.strict_mode != StrictModeConfig{}) out["strict_mode_config"] = StrictModeConfigToJson(config.strict_mode);
  return out;
}

json::object CollectionInfoConfigJson(const CollectionConfig& config) {
  json::object params{{"vectors", VectorsToJson(config)},
                      {"shard_number", config.shard_number},
                      {"replication_factor", config.replication_factor},
                      {"write_consistency_factor", config.write_consistency_factor},
                      {"on_disk_payload", false}};
  if (!config.sparse_vectors.empty()) params["sparse_vectors"] = SparseVectorsToJson(config);
  json::object hnsw = HnswToJson(config.hnsw);
  hnsw["max_indexing_threads"] = 0;
  hnsw["on_disk"] = false;
  hnsw.erase("ef");
  return json::object{
      {"params", std::move(params)},
      {"hnsw_config", std::move(hnsw)},
      {"optimizer_config", json::object{{"indexing_threshold", 0}, {"flush_interval_sec", 0}}},
      {"wal_config", json::object{{"wal_capacity_mb", 0}, {"wal_segments_ahead", 0}}},
      {"quantization_config", QuantizationToJson(config.quantization)},
      {"strict_mode_config", StrictModeConfigToJson(config.strict_mode)}};
}

namespace {

// The first setting named inside `value` (a dotted path below `where`), skipping nulls and empty objects;
// "" when there is none.
std::string FirstSetting(const json::value& value, const std::string& where, int depth = 0) {
  if (value.is_null()) return "";
  const json::object* obj = value.if_object();
  if (obj == nullptr || depth >= 3) return where;
  for (const auto& kv : *obj) {
    std::string inner = FirstSetting(kv.value(), where + "." + std::string(kv.key()), depth + 1);
    if (!inner.empty()) return inner;
  }
  return "";
}

Status Unchangeable(const std::string& setting) {
  return absl::InvalidArgumentError(setting + ": cannot be changed after the collection is created; "
                                              "PATCH /collections/{name} changes hnsw_config, quantization_config "
                                              "(collection-wide or per vector) and strict_mode_config");
}

// quantization_config of a PATCH: an object as at create, or "Disabled".
StatusOr<std::optional<QuantizationConfig>> ParseQuantizationDiff(const json::value& v, const std::string& where) {
  if (const json::string* s = v.if_string()) {
    if (*s == "Disabled") return std::optional<QuantizationConfig>();
    return absl::InvalidArgumentError(where + ": expected an object or \"Disabled\"");
  }
  VJ_ASSIGN_OR_RETURN(QuantizationConfig q, ParseQuantization(v, where));
  return std::optional<QuantizationConfig>(q);
}

}  // namespace

StatusOr<CollectionConfig> ApplyCollectionUpdate(const CollectionConfig& current, const json::object& body) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(body,
                                      {"strict_mode_config", "vectors", "optimizers_config", "params", "hnsw_config",
                                       "quantization_config", "sparse_vectors", "metadata"},
                                      ""));
  for (const char* fixed : {"optimizers_config", "params", "sparse_vectors", "metadata"}) {
    if (const json::value* v = FindField(body, fixed)) {
      if (!v->is_object()) return absl::InvalidArgumentError(std::string(fixed) + ": expected an object");
      if (std::string setting = FirstSetting(*v, fixed); !setting.empty()) return Unchangeable(setting);
    }
  }
  CollectionConfig updated = current;
  if (const json::value* h = FindField(body, "hnsw_config")) {
    VJ_ASSIGN_OR_RETURN(updated.hnsw, ParseHnsw(*h, "hnsw_config", current.hnsw));
  }
  if (const json::value* q = FindField(body, "quantization_config")) {
    VJ_ASSIGN_OR_RETURN(updated.quantization, ParseQuantizationDiff(*q, "quantization_config"));
  }
  if (const json::value* vectors = FindField(body, "vectors")) {
    VJ_ASSIGN_OR_RETURN(const json::object* vobj, ReadObject(*vectors, "vectors"));
    for (const auto& kv : *vobj) {
      const std::string name(kv.key());
      const std::string where = "vectors." + name;
      auto it = updated.vectors.find(name);
      if (it == updated.vectors.end()) {
        return absl::InvalidArgumentError(where + ": no vector \"" + name + "\" in this collection" +
                                          (name.empty() ? "" : " (an unnamed vector is \"\")"));
      }
      if (kv.value().is_null()) continue;
      VJ_ASSIGN_OR_RETURN(const json::object* diff, ReadObject(kv.value(), where));
      VJ_RETURN_IF_ERROR(CheckKnownFields(*diff, {"hnsw_config", "quantization_config", "on_disk"}, where));
      if (const json::value* d = FindField(*diff, "on_disk")) {
        VJ_ASSIGN_OR_RETURN(bool on_disk, ReadBool(*d, where + ".on_disk"));
        if (on_disk != it->second.on_disk) return Unchangeable(where + ".on_disk");
      }
      if (const json::value* h = FindField(*diff, "hnsw_config")) {
        VJ_ASSIGN_OR_RETURN(it->second.hnsw, ParseHnsw(*h, where + ".hnsw_config", updated.EffectiveHnsw(name)));
      }
      if (const json::value* q = FindField(*diff, "quantization_config")) {
        VJ_ASSIGN_OR_RETURN(it->second.quantization, ParseQuantizationDiff(*q, where + ".quantization_config"));
      }
    }
  }
  return updated;
}

bool SameIndexSettings(const CollectionConfig& a, const CollectionConfig& b) {
  if (a.vectors.size() != b.vectors.size()) return false;
  for (const auto& [name, params] : a.vectors) {
    if (b.vectors.count(name) == 0) return false;
    if (json::serialize(HnswToJson(a.EffectiveHnsw(name))) != json::serialize(HnswToJson(b.EffectiveHnsw(name))) ||
        json::serialize(QuantizationToJson(a.EffectiveQuantization(name))) !=
            json::serialize(QuantizationToJson(b.EffectiveQuantization(name)))) {
      return false;
    }
  }
  return true;
}

Status ValidateUserCollectionName(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return absl::InvalidArgumentError("collection name must have 1 to 255 characters");
  }
  if (name[0] == '.') return absl::InvalidArgumentError("collection name must not start with '.'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(
          "collection name may only contain letters, digits, '_', '-' and '.', got \"" +
          std::string(name) + "\"");
    }
  }
  return absl::OkStatus();
}

Status ValidateCollectionName(std::string_view name) {
  const size_t sep = name.find(kTenantSeparator);
  if (sep == std::string_view::npos) return ValidateUserCollectionName(name);
  if (name.size() > 255) return absl::InvalidArgumentError("collection name must have 1 to 255 characters");
  if (!ValidTenantId(name.substr(0, sep))) {
    return absl::InvalidArgumentError("collection name \"" + std::string(name) +
                                      "\": the part before '~' is not a tenant id");
  }
  return ValidateUserCollectionName(name.substr(sep + 1));
}

Status SaveCollectionConfig(const std::string& dir, const CollectionConfig& config) {
  return WriteFileDurably(dir + "/config.json", json::serialize(CollectionConfigToJson(config)));
}

StatusOr<CollectionConfig> LoadCollectionConfig(const std::string& dir) {
  auto bytes = ReadDurableFile(dir + "/config.json");
  if (absl::IsNotFound(bytes.status())) return absl::NotFoundError("no config.json in " + dir);
  if (!bytes.ok()) return bytes.status();
  auto parsed = ParseJson(*bytes);
  if (!parsed.ok()) {
    return absl::DataLossError(dir + "/config.json is unreadable: " + StatusMessage(parsed.status()));
  }
  auto config = ParseCollectionConfig(*parsed);
  if (!config.ok()) {
    return absl::DataLossError(dir + "/config.json is invalid: " + StatusMessage(config.status()));
  }
  return config;
}

}  // namespace vj

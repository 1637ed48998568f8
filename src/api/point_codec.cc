#include "api/point_codec.h"

#include "api/aggregation_codec.h"

#include <cmath>
#include <limits>

#include "api/request_limits.h"
#include "core/json_fields.h"
#include "core/payload_limits.h"

namespace vj {
namespace json = boost::json;

StatusOr<PointId> ParsePointId(const json::value& v, const std::string& where) {
  if (const uint64_t* u = v.if_uint64()) return PointId::Num(*u);
  if (const int64_t* i = v.if_int64()) {
    if (*i >= 0) return PointId::Num(static_cast<uint64_t>(*i));
    return absl::InvalidArgumentError(where + ": point id must be an unsigned integer or a UUID, got " +
                                      std::to_string(*i));
  }
  if (const json::string* s = v.if_string()) {
    auto id = PointId::ParseUuid(std::string_view(s->data(), s->size()));
    if (!id.ok()) return WithContext(id.status(), where);
    return id;
  }
  return absl::InvalidArgumentError(where + ": point id must be an unsigned integer or a UUID, got " +
                                    std::string(JsonTypeName(v)));
}

StatusOr<std::vector<PointId>> ParsePointIds(const json::value& v, const std::string& where,
                                             size_t max_count) {
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(v, where));
  if (arr->size() > max_count) return OverLimit(where, arr->size(), "points", max_count, "points_per_request");
  std::vector<PointId> ids;
  ids.reserve(arr->size());
  for (size_t i = 0; i < arr->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(PointId id, ParsePointId((*arr)[i], where + "[" + std::to_string(i) + "]"));
    ids.push_back(id);
  }
  return ids;
}

json::value PointIdToJson(const PointId& id) {
  if (id.is_uuid()) return json::value(id.ToString());
  return json::value(id.num());
}

StatusOr<std::vector<float>> ParseFloatVector(const json::value& v, const std::string& where) {
  const json::array* arr = v.if_array();
  if (arr == nullptr) {
    return absl::InvalidArgumentError(where + ": expected an array of numbers, got " +
                                      std::string(JsonTypeName(v)));
  }
  std::vector<float> out(arr->size());
  constexpr double kMax = std::numeric_limits<float>::max();
  for (size_t i = 0; i < arr->size(); ++i) {
    const json::value& e = (*arr)[i];
    double d;
    if (const double* p = e.if_double()) {
      d = *p;
    } else if (const int64_t* p = e.if_int64()) {
      d = static_cast<double>(*p);
    } else if (const uint64_t* p = e.if_uint64()) {
      d = static_cast<double>(*p);
    } else {
      return absl::InvalidArgumentError(where + "[" + std::to_string(i) + "]: expected a number, got " +
                                        std::string(JsonTypeName(e)));
    }
    if (!std::isfinite(d) || d > kMax || d < -kMax) {
      return absl::InvalidArgumentError(where + "[" + std::to_string(i) +
                                        "]: vector contains NaN or infinite values (or values out of "
                                        "float32 range)");
    }
    out[i] = static_cast<float>(d);
  }
  return out;
}

StatusOr<SparseVector> ParseSparseVector(const json::value& v, const std::string& where, size_t max_nnz,
                                         InferenceSide side) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, where));
  if (IsInferenceDocument(*obj)) return InferSparseVector(*obj, where, side, max_nnz);
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"indices", "values"}, where));
  const json::value* indices = FindField(*obj, "indices");
  if (indices == nullptr) return absl::InvalidArgumentError(where + ".indices: missing");
  const json::value* values = FindField(*obj, "values");
  if (values == nullptr) return absl::InvalidArgumentError(where + ".values: missing");
  VJ_ASSIGN_OR_RETURN(const json::array* iarr, ReadArray(*indices, where + ".indices"));
  VJ_ASSIGN_OR_RETURN(const json::array* varr, ReadArray(*values, where + ".values"));
  // Before decoding any element, so that an oversized vector costs no more than its parse.
  if (iarr->size() > max_nnz) {
    return OverLimit(where + ".indices", iarr->size(), "non-zero entries", max_nnz, "sparse_vector_nnz");
  }
  SparseVector out;
  out.indices.reserve(iarr->size());
  for (size_t i = 0; i < iarr->size(); ++i) {
    const json::value& e = (*iarr)[i];
    const std::string at = where + ".indices[" + std::to_string(i) + "]";
    uint64_t index = 0;
    if (const uint64_t* u = e.if_uint64()) {
      index = *u;
    } else if (const int64_t* s = e.if_int64(); s != nullptr && *s >= 0) {
      index = static_cast<uint64_t>(*s);
    } else {
      return absl::InvalidArgumentError(at + ": expected an integer between 0 and 4294967295, got " +
                                        (e.is_number() ? std::string("a negative or fractional number")
                                                       : std::string(JsonTypeName(e))));
    }
    if (index > 0xFFFFFFFFull) {
      return absl::InvalidArgumentError(at + ": " + std::to_string(index) + " is over 4294967295 (indices are u32)");
    }
    out.indices.push_back(static_cast<uint32_t>(index));
  }
  VJ_ASSIGN_OR_RETURN(out.values, ParseFloatVector(*values, where + ".values"));
  VJ_RETURN_IF_ERROR(ValidateSparseVector(out, max_nnz, where));
  CanonicalizeSparseVector(&out);
  return out;
}

json::object SparseVectorToJson(const SparseVector& v) {
  json::array indices, values;
  indices.reserve(v.indices.size());
  values.reserve(v.values.size());
  for (uint32_t i : v.indices) indices.emplace_back(static_cast<uint64_t>(i));
  for (float f : v.values) values.emplace_back(static_cast<double>(f));
  return json::object{{"indices", std::move(indices)}, {"values", std::move(values)}};
}

Status ParsePointVectors(const json::value& v, const std::string& where, size_t max_nnz, NamedVectors* dense,
                         NamedSparseVectors* sparse) {
  if (v.is_array()) {
    VJ_ASSIGN_OR_RETURN((*dense)[""], ParseFloatVector(v, where));
    return absl::OkStatus();
  }
  const json::object* obj = v.if_object();
  if (obj == nullptr) {
    return absl::InvalidArgumentError(where + ": expected an array of numbers or an object of named "
                                              "vectors, got " + std::string(JsonTypeName(v)));
  }
  for (const auto& kv : *obj) {
    std::string name(kv.key());
    if (kv.value().is_object()) {
      VJ_ASSIGN_OR_RETURN((*sparse)[name], ParseSparseVector(kv.value(), where + "." + name, max_nnz));
    } else {
      VJ_ASSIGN_OR_RETURN((*dense)[name], ParseFloatVector(kv.value(), where + "." + name));
    }
  }
  return absl::OkStatus();
}

json::value PointVectorsToJson(const NamedVectors& dense, const NamedSparseVectors& sparse) {
  auto to_array = [](const std::vector<float>& v) {
    json::array a;
    a.reserve(v.size());
    for (float f : v) a.emplace_back(static_cast<double>(f));
    return a;
  };
  if (sparse.empty() && dense.size() == 1 && dense.begin()->first.empty()) return to_array(dense.begin()->second);
  json::object named;
  for (const auto& [name, v] : dense) named[name] = to_array(v);
  for (const auto& [name, v] : sparse) named[name] = SparseVectorToJson(v);
  return named;
}

namespace {

StatusOr<Payload> ParsePayloadObject(const json::value* v, const std::string& where) {
  if (v == nullptr) return Payload();
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*v, where));
  VJ_RETURN_IF_ERROR(CheckPayloadLimits(*obj, where));
  return *obj;
}

StatusOr<std::vector<PointInput>> ParsePointList(const json::value& v, size_t max_points, size_t max_nnz) {
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(v, "points"));
  if (arr->size() > max_points) {
    return OverLimit("points", arr->size(), "points", max_points, "points_per_request");
  }
  std::vector<PointInput> points;
  points.reserve(arr->size());
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string where = "points[" + std::to_string(i) + "]";
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject((*arr)[i], where));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"id", "vector", "payload"}, where));
    PointInput p;
    const json::value* id = FindField(*obj, "id");
    if (id == nullptr) return absl::InvalidArgumentError(where + ".id: missing");
    VJ_ASSIGN_OR_RETURN(p.id, ParsePointId(*id, where + ".id"));
    const json::value* vector = FindField(*obj, "vector");
    if (vector == nullptr) return absl::InvalidArgumentError(where + ".vector: missing");
    VJ_RETURN_IF_ERROR(ParsePointVectors(*vector, where + ".vector", max_nnz, &p.vectors, &p.sparse));
    VJ_ASSIGN_OR_RETURN(p.payload, ParsePayloadObject(FindField(*obj, "payload"), where + ".payload"));
    points.push_back(std::move(p));
  }
  return points;
}

StatusOr<std::vector<PointInput>> ParseBatch(const json::value& v, size_t max_points, size_t max_nnz) {
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, "batch"));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"ids", "vectors", "payloads"}, "batch"));
  const json::value* ids_json = FindField(*obj, "ids");
  if (ids_json == nullptr) return absl::InvalidArgumentError("batch.ids: missing");
  VJ_ASSIGN_OR_RETURN(std::vector<PointId> ids, ParsePointIds(*ids_json, "batch.ids", max_points));
  std::vector<PointInput> points(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) points[i].id = ids[i];
  const json::value* vectors = FindField(*obj, "vectors");
  if (vectors == nullptr) return absl::InvalidArgumentError("batch.vectors: missing");
  if (const json::array* arr = vectors->if_array()) {
    if (arr->size() != ids.size()) {
      return absl::InvalidArgumentError("batch.vectors: expected " + std::to_string(ids.size()) +
                                        " vectors (one per id), got " + std::to_string(arr->size()));
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      VJ_ASSIGN_OR_RETURN(points[i].vectors[""],
                          ParseFloatVector((*arr)[i], "batch.vectors[" + std::to_string(i) + "]"));
    }
  } else if (const json::object* named = vectors->if_object()) {
    for (const auto& kv : *named) {
      const std::string where = "batch.vectors." + std::string(kv.key());
      VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(kv.value(), where));
      if (arr->size() != ids.size()) {
        return absl::InvalidArgumentError(where + ": expected " + std::to_string(ids.size()) +
                                          " vectors (one per id), got " + std::to_string(arr->size()));
      }
      for (size_t i = 0; i < ids.size(); ++i) {
        const std::string at = where + "[" + std::to_string(i) + "]";
        if ((*arr)[i].is_object()) {
          VJ_ASSIGN_OR_RETURN(points[i].sparse[std::string(kv.key())], ParseSparseVector((*arr)[i], at, max_nnz));
        } else {
          VJ_ASSIGN_OR_RETURN(points[i].vectors[std::string(kv.key())], ParseFloatVector((*arr)[i], at));
        }
      }
    }
  } else {
    return absl::InvalidArgumentError("batch.vectors: expected an array or an object of named vectors");
  }
  if (const json::value* payloads = FindField(*obj, "payloads")) {
    VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*payloads, "batch.payloads"));
    if (arr->size() != ids.size()) {
      return absl::InvalidArgumentError("batch.payloads: expected " + std::to_string(ids.size()) +
                                        " payloads (one per id), got " + std::to_string(arr->size()));
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      const json::value& p = (*arr)[i];
      VJ_ASSIGN_OR_RETURN(points[i].payload,
                          ParsePayloadObject(p.is_null() ? nullptr : &p,
                                             "batch.payloads[" + std::to_string(i) + "]"));
    }
  }
  return points;
}

StatusOr<std::vector<std::string>> ParseStringList(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(v, where));
  std::vector<std::string> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(std::string s, ReadString((*arr)[i], where + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(s));
  }
  return out;
}

// A with_payload list: strings that parse as payload paths.
StatusOr<std::vector<std::string>> ParsePathList(const json::value& v, const std::string& where,
                                               size_t max_keys) {
  if (const json::array* arr = v.if_array(); arr != nullptr && arr->size() > max_keys) {
    return OverLimit(where, arr->size(), "keys", max_keys, "payload_keys");
  }
  VJ_ASSIGN_OR_RETURN(std::vector<std::string> keys, ParseStringList(v, where));
  for (size_t i = 0; i < keys.size(); ++i) {
    Status parsed = ParsePayloadPath(keys[i]).status();
    if (!parsed.ok()) return WithContext(parsed, where + "[" + std::to_string(i) + "]");
  }
  return keys;
}

}  // namespace

StatusOr<std::vector<PointInput>> ParseUpsertBody(const json::object& body, size_t max_points, size_t max_nnz) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"points", "batch", "shard_key"}, ""));
  const json::value* points = FindField(body, "points");
  const json::value* batch = FindField(body, "batch");
  if ((points == nullptr) == (batch == nullptr)) {
    return absl::InvalidArgumentError("expected exactly one of \"points\" or \"batch\"");
  }
  if (points != nullptr) return ParsePointList(*points, max_points, max_nnz);
  return ParseBatch(*batch, max_points, max_nnz);
}

StatusOr<PayloadSelector> ParsePayloadSelector(const json::value* v, PayloadSelector fallback,
                                               size_t max_keys) {
  if (v == nullptr) return fallback;
  PayloadSelector selector;
  if (const bool* b = v->if_bool()) {
    selector.mode = *b ? PayloadSelector::Mode::kAll : PayloadSelector::Mode::kNone;
    return selector;
  }
  if (v->is_array()) {
    selector.mode = PayloadSelector::Mode::kInclude;
    VJ_ASSIGN_OR_RETURN(selector.keys, ParsePathList(*v, "with_payload", max_keys));
    return selector;
  }
  if (const json::object* obj = v->if_object()) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"include", "exclude"}, "with_payload"));
    if (const json::value* inc = FindField(*obj, "include")) {
      selector.mode = PayloadSelector::Mode::kInclude;
      VJ_ASSIGN_OR_RETURN(selector.keys, ParsePathList(*inc, "with_payload.include", max_keys));
      return selector;
    }
    if (const json::value* exc = FindField(*obj, "exclude")) {
      selector.mode = PayloadSelector::Mode::kExclude;
      VJ_ASSIGN_OR_RETURN(selector.keys, ParsePathList(*exc, "with_payload.exclude", max_keys));
      return selector;
    }
  }
  return absl::InvalidArgumentError(
      "with_payload: expected a boolean, a list of keys, or {\"include\"|\"exclude\": [...]}");
}

StatusOr<VectorSelector> ParseVectorSelector(const json::value* v) {
  VectorSelector selector;
  if (v == nullptr) return selector;
  if (const bool* b = v->if_bool()) {
    selector.all = *b;
    return selector;
  }
  if (v->is_array()) {
    VJ_ASSIGN_OR_RETURN(selector.names, ParseStringList(*v, "with_vector"));
    return selector;
  }
  return absl::InvalidArgumentError("with_vector: expected a boolean or a list of vector names");
}

boost::json::object PointViewToJson(const PointView& point) {
  json::object out;
  out["id"] = PointIdToJson(point.id);
  if (point.score) {
    out["version"] = 0;
    out["score"] = *point.score;
  }
  if (point.payload) out["payload"] = *point.payload;
  if (point.order_value) out["order_value"] = OrderValueToJson(*point.order_value);
  if (!point.vectors.empty() || !point.sparse.empty()) out["vector"] = PointVectorsToJson(point.vectors, point.sparse);
  return out;
}

}  // namespace vj

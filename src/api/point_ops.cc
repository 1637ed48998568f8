#include "api/point_ops.h"

#include <memory>

#include "api/filter_codec.h"
#include "api/point_codec.h"
#include "api/service.h"
#include "api/strict_mode.h"
#include "collection/payload_edit.h"
#include "core/json_fields.h"
#include "core/payload_limits.h"

namespace vj {
namespace json = boost::json;

namespace {

// set_payload's "key" must parse, and the patch placed under it must fit the payload depth limit
// whatever the stored payload holds (each key and each index on the way adds a level). The shard checks
// the merged result as well; this refuses the request before any shard sees it.
Status CheckPatchUnderKey(const std::string& key, const Payload& patch) {
  StatusOr<PayloadPath> path = ParsePayloadPath(key);
  if (!path.ok()) return WithContext(path.status(), "key");
  size_t levels = 0;
  for (const PathStep& step : *path) levels += step.index == PathStep::Index::kNone ? 1 : 2;
  size_t patch_depth = 1;
  for (const auto& kv : patch) patch_depth = std::max(patch_depth, 1 + JsonDepth(kv.value()));
  if (levels + patch_depth > kMaxPayloadDepth) {
    return absl::InvalidArgumentError("payload: under key \"" + key.substr(0, 64) + "\" it would nest " +
                                      std::to_string(levels + patch_depth) + " levels deep, the limit is " +
                                      std::to_string(kMaxPayloadDepth));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::optional<Filter>> ParseOptionalFilter(const json::object& body, const RequestLimits& limits) {
  const json::value* filter = FindField(body, "filter");
  if (filter == nullptr) return std::optional<Filter>();
  VJ_ASSIGN_OR_RETURN(Filter parsed, ParseFilter(*filter, "filter", limits.filter));
  return std::optional<Filter>(std::move(parsed));
}

StatusOr<PointSelector> ParseSelector(const json::object& body, const RequestLimits& limits) {
  PointSelector selector;
  const json::value* points = FindField(body, "points");
  VJ_ASSIGN_OR_RETURN(selector.filter, ParseOptionalFilter(body, limits));
  if ((points == nullptr) == !selector.filter.has_value()) {
    return absl::InvalidArgumentError("expected exactly one of \"points\" (a list of ids) or \"filter\"");
  }
  if (points != nullptr) {
    if (points->is_object()) {  // Qdrant also accepts {"points": {"filter": ...}}
      return absl::InvalidArgumentError("points: expected a list of ids; use \"filter\" for a filter");
    }
    VJ_ASSIGN_OR_RETURN(selector.ids, ParsePointIds(*points, "points", limits.max_points_per_request));
  }
  return selector;
}

StatusOr<PointWrite> ParseUpsertWrite(const Call& call, const Collection& collection, const json::object& body,
                                      uint64_t* upserted) {
  VJ_ASSIGN_OR_RETURN(std::vector<PointInput> points, ParseUpsertBody(body, call.limits().max_points_per_request, call.limits().max_sparse_nnz));
  return PrepareUpsert(call, collection, std::move(points), upserted);
}

StatusOr<PointWrite> PrepareUpsert(const Call& call, const Collection& collection, std::vector<PointInput> points,
                                   uint64_t* upserted) {
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitUpsert(points.size()));
  const uint64_t earlier = upserted != nullptr ? *upserted : 0;
  VJ_RETURN_IF_ERROR(CheckTenantPointQuota(call, earlier + points.size()));
  if (upserted != nullptr) *upserted = earlier + points.size();
  const CollectionConfig config = collection.config();
  for (const PointInput& p : points) VJ_RETURN_IF_ERROR(ValidatePointVectors(config, p));
  auto held = std::make_shared<std::vector<PointInput>>(std::move(points));
  return PointWrite([held](Collection& c, bool wait, const RequestContext& context) {
    return c.Upsert(std::move(*held), wait, context);
  });
}

StatusOr<PointWrite> ParseDeleteWrite(const Call& call, const Collection& collection, const json::object& body) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"points", "filter", "shard_key"}, ""));
  VJ_ASSIGN_OR_RETURN(PointSelector selector, ParseSelector(body, call.limits()));
  return PrepareDelete(call, collection, std::move(selector));
}

StatusOr<PointWrite> PrepareDelete(const Call& call, const Collection& collection, PointSelector selector) {
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitWrite(selector));
  auto held = std::make_shared<PointSelector>(std::move(selector));
  return PointWrite([held](Collection& c, bool wait, const RequestContext& context) {
    return c.Delete(*held, wait, context);
  });
}

StatusOr<WriteOutcome> RunPointWrite(Collection& collection, const PointWrite& write, bool wait,
                                     const RequestContext& context) {
  VJ_RETURN_IF_ERROR(write(collection, wait, context));
  return WriteOutcome{collection.last_sequence(), wait};
}

StatusOr<PointWrite> ParsePayloadWrite(const Call& call, const Collection& collection, PayloadUpdate op,
                                       const json::object& body) {
  Payload payload;
  std::vector<std::string> keys;
  std::optional<std::string> key;
  if (op == PayloadUpdate::kSet || op == PayloadUpdate::kOverwrite) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"payload", "points", "filter", "key", "shard_key"}, ""));
    const json::value* p = FindField(body, "payload");
    if (p == nullptr) return absl::InvalidArgumentError("payload: missing");
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(*p, "payload"));
    VJ_RETURN_IF_ERROR(CheckPayloadLimits(*obj, "payload"));
    payload = *obj;
    if (const json::value* k = FindField(body, "key")) {
      VJ_ASSIGN_OR_RETURN(key, ReadString(*k, "key"));
      VJ_RETURN_IF_ERROR(CheckPatchUnderKey(*key, payload));
    }
  } else if (op == PayloadUpdate::kDeleteKeys) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"keys", "points", "filter", "shard_key"}, ""));
    const json::value* k = FindField(body, "keys");
    if (k == nullptr) return absl::InvalidArgumentError("keys: missing");
    VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*k, "keys"));
    if (arr->size() > call.limits().max_payload_keys) {
      return OverLimit("keys", arr->size(), "keys", call.limits().max_payload_keys, "payload_keys");
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      VJ_ASSIGN_OR_RETURN(std::string s, ReadString((*arr)[i], "keys[" + std::to_string(i) + "]"));
      keys.push_back(std::move(s));
    }
    VJ_RETURN_IF_ERROR(ParsePayloadPaths(keys, "keys").status());
  } else {
    VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"points", "filter", "shard_key"}, ""));
  }
  VJ_ASSIGN_OR_RETURN(PointSelector selector, ParseSelector(body, call.limits()));
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitWrite(selector));
  struct Held {
    PointSelector selector;
    Payload payload;
    std::vector<std::string> keys;
    std::optional<std::string> key;
  };
  auto held = std::make_shared<Held>(Held{std::move(selector), std::move(payload), std::move(keys), std::move(key)});
  return PointWrite([held, op](Collection& c, bool wait, const RequestContext& context) {
    return c.UpdatePayload(op, held->selector, std::move(held->payload), std::move(held->keys), held->key, wait,
                           context);
  });
}

StatusOr<PointWrite> ParseUpdateVectorsWrite(const Call& call, const Collection& collection,
                                             const json::object& body) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"points", "shard_key", "update_filter"}, ""));
  if (FindField(body, "update_filter") != nullptr) {
    return absl::InvalidArgumentError("update_filter: not supported; update the vectors of the points by id");
  }
  const json::value* points_json = FindField(body, "points");
  if (points_json == nullptr) return absl::InvalidArgumentError("points: missing");
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*points_json, "points"));
  const size_t max_points = call.limits().max_points_per_request;
  if (arr->size() > max_points) return OverLimit("points", arr->size(), "points", max_points, "points_per_request");
  if (arr->empty()) return absl::InvalidArgumentError("points: expected at least one point");
  std::vector<PointInput> points;
  points.reserve(arr->size());
  const CollectionConfig config = collection.config();
  for (size_t i = 0; i < arr->size(); ++i) {
    const std::string where = "points[" + std::to_string(i) + "]";
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject((*arr)[i], where));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"id", "vector"}, where));
    const json::value* id = FindField(*obj, "id");
    if (id == nullptr) return absl::InvalidArgumentError(where + ".id: missing");
    const json::value* vector = FindField(*obj, "vector");
    if (vector == nullptr) return absl::InvalidArgumentError(where + ".vector: missing");
    PointInput p;
    VJ_ASSIGN_OR_RETURN(p.id, ParsePointId(*id, where + ".id"));
    VJ_RETURN_IF_ERROR(ParsePointVectors(*vector, where + ".vector", call.limits().max_sparse_nnz, &p.vectors,
                                         &p.sparse));
    VJ_RETURN_IF_ERROR(ValidateVectorUpdate(config, p));
    points.push_back(std::move(p));
  }
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitUpsert(points.size()));
  auto held = std::make_shared<std::vector<PointInput>>(std::move(points));
  return PointWrite([held](Collection& c, bool wait, const RequestContext& context) {
    return c.UpdateVectors(std::move(*held), wait, context);
  });
}

StatusOr<PointWrite> ParseDeleteVectorsWrite(const Call& call, const Collection& collection,
                                             const json::object& body) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"points", "filter", "vector", "shard_key"}, ""));
  const json::value* vector = FindField(body, "vector");
  if (vector == nullptr) return absl::InvalidArgumentError("vector: missing (the names of the vectors to delete)");
  VJ_ASSIGN_OR_RETURN(const json::array* arr, ReadArray(*vector, "vector"));
  const CollectionConfig config = collection.config();
  if (arr->size() > config.vectors.size() + config.sparse_vectors.size()) {
    return absl::InvalidArgumentError("vector: " + std::to_string(arr->size()) + " names, the collection has " +
                                      std::to_string(config.vectors.size()) + " vectors");
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < arr->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(std::string name, ReadString((*arr)[i], "vector[" + std::to_string(i) + "]"));
    names.push_back(std::move(name));
  }
  VJ_RETURN_IF_ERROR(ValidateVectorNames(config, names, "vector"));
  VJ_ASSIGN_OR_RETURN(PointSelector selector, ParseSelector(body, call.limits()));
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitWrite(selector));
  struct Held {
    PointSelector selector;
    std::vector<std::string> names;
  };
  auto held = std::make_shared<Held>(Held{std::move(selector), std::move(names)});
  return PointWrite([held](Collection& c, bool wait, const RequestContext& context) {
    return c.DeleteVectors(held->selector, held->names, wait, context);
  });
}

StatusOr<json::value> ApplyPointWrite(const Call& call, const PointWriteParser& parse) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(bool wait, call.Wait());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(PointWrite write, parse(*collection, body));
  VJ_ASSIGN_OR_RETURN(WriteOutcome outcome, RunPointWrite(*collection, write, wait, call.context));
  return json::object{{"operation_id", outcome.operation_id},
                      {"status", outcome.completed ? "completed" : "acknowledged"}};
}

}  // namespace vj

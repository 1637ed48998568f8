// Point endpoints: upsert, retrieve, delete, payload updates, scroll, count.
#include <charconv>

#include "api/aggregation_codec.h"
#include "api/filter_codec.h"
#include "api/handlers.h"
#include "api/point_codec.h"
#include "api/strict_mode.h"
#include "collection/order_by.h"
#include "collection/payload_edit.h"
#include "core/json_fields.h"
#include "core/payload_limits.h"

namespace vj {
namespace json = boost::json;

namespace {

json::array ViewsToJson(const std::vector<PointView>& views) {
  json::array out;
  out.reserve(views.size());
  for (const PointView& v : views) out.push_back(PointViewToJson(v));
  return out;
}

StatusOr<std::optional<Filter>> ParseOptionalFilter(const json::object& body, const RequestLimits& limits) {
  const json::value* filter = FindField(body, "filter");
  if (filter == nullptr) return std::optional<Filter>();
  VJ_ASSIGN_OR_RETURN(Filter parsed, ParseFilter(*filter, "filter", limits.filter));
  return std::optional<Filter>(std::move(parsed));
}

// {"points": [ids]} or {"filter": {...}}: exactly one.
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

StatusOr<size_t> ParseLimit(const json::object& body, size_t fallback, const RequestLimits& limits) {
  const json::value* limit = FindField(body, "limit");
  if (limit == nullptr) return fallback;
  VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*limit, "limit"));
  if (n > limits.max_limit) return OverLimit("limit", n, "points", limits.max_limit, "limit");
  return static_cast<size_t>(n);
}

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

StatusOr<json::value> PayloadWrite(const Call& call, PayloadUpdate op) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(bool wait, call.Wait());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
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
  VJ_RETURN_IF_ERROR(StrictMode::For(call, *collection).AdmitWrite(selector));
  VJ_RETURN_IF_ERROR(
      collection->UpdatePayload(op, selector, std::move(payload), std::move(keys), key, wait));
  return UpdateResult(*collection, wait);
}

}  // namespace

StatusOr<json::value> HandleUpsert(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(bool wait, call.Wait());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_ASSIGN_OR_RETURN(std::vector<PointInput> points,
                      ParseUpsertBody(body, call.limits().max_points_per_request));
  VJ_RETURN_IF_ERROR(StrictMode::For(call, *collection).AdmitUpsert(points.size()));
  VJ_RETURN_IF_ERROR(collection->Upsert(std::move(points), wait));
  return UpdateResult(*collection, wait);
}

StatusOr<json::value> HandleRetrieve(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(
      CheckKnownFields(body, {"ids", "with_payload", "with_vector", "shard_key"}, ""));
  const json::value* ids_json = FindField(body, "ids");
  if (ids_json == nullptr) return absl::InvalidArgumentError("ids: missing");
  VJ_ASSIGN_OR_RETURN(std::vector<PointId> ids,
                      ParsePointIds(*ids_json, "ids", call.limits().max_points_per_request));
  VJ_ASSIGN_OR_RETURN(PayloadSelector with_payload,
                      ParsePayloadSelector(FindField(body, "with_payload"),
                                           {PayloadSelector::Mode::kAll, {}}, call.limits().max_payload_keys));
  VJ_ASSIGN_OR_RETURN(VectorSelector with_vector, ParseVectorSelector(FindField(body, "with_vector")));
  VJ_RETURN_IF_ERROR(StrictMode::For(call, *collection).AdmitRetrieve(ids.size()));
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                      collection->Retrieve(ids, with_payload, with_vector));
  return ViewsToJson(views);
}

StatusOr<json::value> HandleGetPoint(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  const std::string& text = call.params[1];
  StatusOr<PointId> id = PointId::ParseUuid(text);
  if (!id.ok()) {
    uint64_t n = 0;
    bool digits = !text.empty() && text.size() <= 20;
    for (char c : text) digits = digits && c >= '0' && c <= '9';
    if (!digits) {
      return absl::InvalidArgumentError("point id must be an unsigned integer or a UUID, got \"" +
                                        text + "\"");
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return absl::InvalidArgumentError("point id out of range: \"" + text + "\"");
    }
    id = PointId::Num(n);
  }
  VJ_RETURN_IF_ERROR(StrictMode::For(call, *collection).AdmitRetrieve(1));
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                      collection->Retrieve({*id}, {PayloadSelector::Mode::kAll, {}}, {true, {}}));
  if (views.empty()) return absl::NotFoundError("No point with id " + id->ToString() + " found");
  return PointViewToJson(views[0]);
}

StatusOr<json::value> HandleDeletePoints(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(bool wait, call.Wait());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"points", "filter", "shard_key"}, ""));
  VJ_ASSIGN_OR_RETURN(PointSelector selector, ParseSelector(body, call.limits()));
  VJ_RETURN_IF_ERROR(StrictMode::For(call, *collection).AdmitWrite(selector));
  VJ_RETURN_IF_ERROR(collection->Delete(selector, wait));
  return UpdateResult(*collection, wait);
}

StatusOr<json::value> HandleSetPayload(const Call& call) { return PayloadWrite(call, PayloadUpdate::kSet); }
StatusOr<json::value> HandleOverwritePayload(const Call& call) {
  return PayloadWrite(call, PayloadUpdate::kOverwrite);
}
StatusOr<json::value> HandleDeletePayload(const Call& call) {
  return PayloadWrite(call, PayloadUpdate::kDeleteKeys);
}
StatusOr<json::value> HandleClearPayload(const Call& call) {
  return PayloadWrite(call, PayloadUpdate::kClear);
}

StatusOr<json::value> HandleScroll(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.OptionalBody());
  VJ_RETURN_IF_ERROR(CheckKnownFields(
      body, {"offset", "limit", "filter", "with_payload", "with_vector", "shard_key", "order_by"}, ""));
  ScrollRequest request;
  request.deadline = deadline;
  if (const json::value* order_by = FindField(body, "order_by")) {
    VJ_ASSIGN_OR_RETURN(request.order_by, ParseOrderBy(*order_by));
    if (FindField(body, "offset") != nullptr) {
      return absl::InvalidArgumentError(
          "offset: cannot be used with order_by; continue from the last order_value with order_by.start_from");
    }
    VJ_RETURN_IF_ERROR(CheckOrderByIndex(collection->config(), *request.order_by));
  }
  if (const json::value* offset = FindField(body, "offset")) {
    VJ_ASSIGN_OR_RETURN(request.offset, ParsePointId(*offset, "offset"));
  }
  VJ_ASSIGN_OR_RETURN(request.limit, ParseLimit(body, 10, call.limits()));
  VJ_ASSIGN_OR_RETURN(request.filter, ParseOptionalFilter(body, call.limits()));
  VJ_ASSIGN_OR_RETURN(request.with_payload,
                      ParsePayloadSelector(FindField(body, "with_payload"),
                                           {PayloadSelector::Mode::kAll, {}}, call.limits().max_payload_keys));
  VJ_ASSIGN_OR_RETURN(request.with_vector, ParseVectorSelector(FindField(body, "with_vector")));
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_RETURN_IF_ERROR(strict.AdmitScroll(request.limit, request.filter));
  VJ_ASSIGN_OR_RETURN(ScrollResult result, collection->Scroll(request));
  json::value next = nullptr;
  if (result.next_page_offset) next = PointIdToJson(*result.next_page_offset);
  return json::object{{"points", ViewsToJson(result.points)}, {"next_page_offset", std::move(next)}};
}

StatusOr<json::value> HandleCount(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.OptionalBody());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"filter", "exact", "shard_key"}, ""));
  VJ_ASSIGN_OR_RETURN(std::optional<Filter> filter, ParseOptionalFilter(body, call.limits()));
  bool exact = true;
  if (const json::value* e = FindField(body, "exact")) {
    VJ_ASSIGN_OR_RETURN(exact, ReadBool(*e, "exact"));
  }
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_RETURN_IF_ERROR(strict.AdmitCount(filter));
  VJ_ASSIGN_OR_RETURN(uint64_t count, collection->Count(filter, exact, deadline));
  return json::object{{"count", count}};
}

}  // namespace vj

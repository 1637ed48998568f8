// Point endpoints: upsert, retrieve, delete, payload updates, scroll, count.
#include <charconv>

#include "api/aggregation_codec.h"
#include "api/filter_codec.h"
#include "api/handlers.h"
#include "api/point_codec.h"
#include "api/point_ops.h"
#include "api/service.h"
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

StatusOr<size_t> ParseLimit(const json::object& body, size_t fallback, const RequestLimits& limits) {
  const json::value* limit = FindField(body, "limit");
  if (limit == nullptr) return fallback;
  VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*limit, "limit"));
  if (n > limits.max_limit) return OverLimit("limit", n, "points", limits.max_limit, "limit");
  return static_cast<size_t>(n);
}

StatusOr<json::value> PayloadWrite(const Call& call, PayloadUpdate op) {
  return ApplyPointWrite(call, [&](const Collection& c, const json::object& body) {
    return ParsePayloadWrite(call, c, op, body);
  });
}

}  // namespace

StatusOr<json::value> HandleUpsert(const Call& call) {
  return ApplyPointWrite(call, [&](const Collection& c, const json::object& body) { return ParseUpsertWrite(call, c, body); });
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
  VJ_ASSIGN_OR_RETURN(std::vector<PointView> views,
                      RetrievePoints(call, *collection, {std::move(ids), std::move(with_payload), std::move(with_vector)}));
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
  return ApplyPointWrite(call, [&](const Collection& c, const json::object& body) { return ParseDeleteWrite(call, c, body); });
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
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.OptionalBody());
  VJ_RETURN_IF_ERROR(CheckKnownFields(
      body, {"offset", "limit", "filter", "with_payload", "with_vector", "shard_key", "order_by"}, ""));
  ScrollRequest request;
  if (const json::value* order_by = FindField(body, "order_by")) {
    VJ_ASSIGN_OR_RETURN(request.order_by, ParseOrderBy(*order_by));
    if (FindField(body, "offset") != nullptr) {
      return absl::InvalidArgumentError(
          "offset: cannot be used with order_by; continue from the last order_value with order_by.start_from");
    }
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
  VJ_ASSIGN_OR_RETURN(ScrollResult result, ScrollPoints(call, *collection, std::move(request)));
  json::value next = nullptr;
  if (result.next_page_offset) next = PointIdToJson(*result.next_page_offset);
  return json::object{{"points", ViewsToJson(result.points)}, {"next_page_offset", std::move(next)}};
}

StatusOr<json::value> HandleCount(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(json::object body, call.OptionalBody());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"filter", "exact", "shard_key"}, ""));
  VJ_ASSIGN_OR_RETURN(std::optional<Filter> filter, ParseOptionalFilter(body, call.limits()));
  bool exact = true;
  if (const json::value* e = FindField(body, "exact")) {
    VJ_ASSIGN_OR_RETURN(exact, ReadBool(*e, "exact"));
  }
  VJ_ASSIGN_OR_RETURN(uint64_t count, CountPoints(call, *collection, filter, exact));
  return json::object{{"count", count}};
}

StatusOr<std::vector<PointView>> RetrievePoints(const Call& call, const Collection& collection,
                                                const RetrieveRequest& request) {
  VJ_RETURN_IF_ERROR(StrictMode::For(call, collection).AdmitRetrieve(request.ids.size()));
  return collection.Retrieve(request.ids, request.with_payload, request.with_vector);
}

StatusOr<ScrollResult> ScrollPoints(const Call& call, const Collection& collection, ScrollRequest request) {
  if (request.order_by) {
    if (request.offset) {
      return absl::InvalidArgumentError(
          "offset: cannot be used with order_by; continue from the last order_value with order_by.start_from");
    }
    VJ_RETURN_IF_ERROR(CheckOrderByIndex(collection.config(), *request.order_by));
  }
  const StrictMode strict = StrictMode::For(call, collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_RETURN_IF_ERROR(strict.AdmitScroll(request.limit, request.filter));
  VJ_ASSIGN_OR_RETURN(request.deadline, call.RequestDeadline());
  return collection.Scroll(request);
}

StatusOr<uint64_t> CountPoints(const Call& call, const Collection& collection, const std::optional<Filter>& filter,
                               bool exact) {
  const StrictMode strict = StrictMode::For(call, collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_RETURN_IF_ERROR(strict.AdmitCount(filter));
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  return collection.Count(filter, exact, deadline);
}

}  // namespace vj

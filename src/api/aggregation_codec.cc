#include "api/aggregation_codec.h"

#include <cmath>

#include "api/point_codec.h"
#include "core/datetime.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

StatusOr<OrderBy> ParseOrderBy(const json::value& v) {
  OrderBy order;
  const json::value* key = &v;
  const json::object* obj = v.if_object();
  if (obj != nullptr) {
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"key", "direction", "start_from"}, "order_by"));
    key = FindField(*obj, "key");
    if (key == nullptr) return absl::InvalidArgumentError("order_by.key: missing");
  } else if (!v.is_string()) {
    return absl::InvalidArgumentError("order_by: expected a payload key or {\"key\", \"direction\", \"start_from\"}");
  }
  VJ_ASSIGN_OR_RETURN(order.key, ReadString(*key, "order_by.key"));
  if (StatusOr<PayloadPath> path = ParsePayloadPath(order.key); !path.ok()) {
    return absl::InvalidArgumentError("order_by.key: " + std::string(path.status().message()));
  }
  if (obj == nullptr) return order;
  if (const json::value* d = FindField(*obj, "direction")) {
    VJ_ASSIGN_OR_RETURN(std::string direction, ReadString(*d, "order_by.direction"));
    if (direction != "asc" && direction != "desc") {
      return absl::InvalidArgumentError("order_by.direction: expected \"asc\" or \"desc\", got \"" + direction + "\"");
    }
    order.descending = direction == "desc";
  }
  if (const json::value* s = FindField(*obj, "start_from")) {
    double from = 0;
    if (const json::string* text = s->if_string()) {
      // A date-time, for a datetime index: its microseconds since the epoch.
      std::optional<int64_t> micros = ParseDateTimeMicros(*text);
      if (!micros) {
        return absl::InvalidArgumentError("order_by.start_from: expected a number or an RFC 3339 date-time, got \"" +
                                          std::string(*text) + "\"");
      }
      from = static_cast<double>(*micros);
    } else {
      VJ_ASSIGN_OR_RETURN(from, ReadNumber(*s, "order_by.start_from"));
    }
    if (!std::isfinite(from)) return absl::InvalidArgumentError("order_by.start_from: must be finite");
    order.start_from = from;
  }
  return order;
}

json::object OrderByToJson(const OrderBy& order_by) {
  json::object out{{"key", order_by.key}, {"direction", order_by.descending ? "desc" : "asc"}};
  if (order_by.start_from) out["start_from"] = *order_by.start_from;
  return out;
}

json::value OrderValueToJson(double value) {
  if (std::trunc(value) == value && std::fabs(value) < 9007199254740992.0) return static_cast<int64_t>(value);
  return value;
}

namespace {

json::array HitsToJson(const std::vector<PointView>& hits) {
  json::array out;
  out.reserve(hits.size());
  for (const PointView& v : hits) out.push_back(PointViewToJson(v));
  return out;
}

}  // namespace

json::object GroupsToJson(const std::vector<PointGroup>& groups, const std::vector<json::value>& lookups) {
  json::array out;
  out.reserve(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    json::object g{{"id", groups[i].id}, {"hits", HitsToJson(groups[i].hits)}};
    if (i < lookups.size() && !lookups[i].is_null()) g["lookup"] = lookups[i];
    out.push_back(std::move(g));
  }
  return json::object{{"groups", std::move(out)}};
}

json::object FacetHitsToJson(const std::vector<FacetHit>& hits) {
  json::array out;
  out.reserve(hits.size());
  for (const FacetHit& h : hits) out.push_back(json::object{{"value", h.value}, {"count", h.count}});
  return json::object{{"hits", std::move(out)}};
}

json::object MatrixPairsToJson(const MatrixResult& result) {
  json::array pairs;
  pairs.reserve(result.entries.size());
  for (const MatrixResult::Entry& e : result.entries) {
    pairs.push_back(json::object{{"a", PointIdToJson(result.ids[e.row])},
                                 {"b", PointIdToJson(result.ids[e.col])},
                                 {"score", static_cast<double>(e.score)}});
  }
  return json::object{{"pairs", std::move(pairs)}};
}

json::object MatrixOffsetsToJson(const MatrixResult& result) {
  json::array rows, cols, scores, ids;
  for (const MatrixResult::Entry& e : result.entries) {
    rows.push_back(static_cast<uint64_t>(e.row));
    cols.push_back(static_cast<uint64_t>(e.col));
    scores.push_back(static_cast<double>(e.score));
  }
  for (const PointId& id : result.ids) ids.push_back(PointIdToJson(id));
  return json::object{{"offsets_row", std::move(rows)},
                      {"offsets_col", std::move(cols)},
                      {"scores", std::move(scores)},
                      {"ids", std::move(ids)}};
}

}  // namespace vj

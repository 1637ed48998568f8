#include "api/strict_mode.h"

#include <cmath>
#include <variant>

#include <absl/strings/numbers.h>

#include "core/retry_after.h"

namespace vj {
namespace {

// Qdrant's message shape: "<what>. Help: <how to fix it>", naming the strict mode field.
Status Refusal(const std::string& what, const std::string& help) {
  return absl::InvalidArgumentError("Strict mode: " + what + ". Help: " + help);
}

Status OverStrictLimit(const std::string& what, uint64_t value, const char* field, uint64_t limit) {
  return Refusal(what + " " + std::to_string(value) + " is over strict_mode_config." + field + " (" +
                     std::to_string(limit) + ")",
                 "lower it, or raise the limit with PATCH /collections/{name}");
}

struct FilterShape {
  uint64_t conditions = 0;      // Qdrant's total_conditions_count: nested filters count their own
  uint64_t max_input_size = 0;  // the longest match.any / match.except / has_id list
  const std::string* unindexed_key = nullptr;
};

void Measure(const Filter& filter, const std::map<std::string, PayloadSchemaType>& indexed, FilterShape* shape);

void Measure(const Condition& c, const std::map<std::string, PayloadSchemaType>& indexed, FilterShape* shape) {
  auto key_seen = [&](const std::string& key) {
    if (shape->unindexed_key == nullptr && indexed.count(key) == 0) shape->unindexed_key = &key;
  };
  if (const auto* nested = std::get_if<std::shared_ptr<const Filter>>(&c)) {
    if (*nested) Measure(**nested, indexed, shape);
    return;
  }
  ++shape->conditions;
  if (const auto* field = std::get_if<FieldCondition>(&c)) {
    key_seen(field->key);
    if (field->match && (field->match->kind == MatchCondition::Kind::kAny ||
                         field->match->kind == MatchCondition::Kind::kExcept)) {
      shape->max_input_size = std::max<uint64_t>(shape->max_input_size, field->match->values.size());
    }
  } else if (const auto* empty = std::get_if<IsEmptyCondition>(&c)) {
    key_seen(empty->key);
  } else if (const auto* null = std::get_if<IsNullCondition>(&c)) {
    key_seen(null->key);
  } else if (const auto* ids = std::get_if<HasIdCondition>(&c)) {
    shape->max_input_size = std::max<uint64_t>(shape->max_input_size, ids->ids.size());
  }
}

void Measure(const Filter& filter, const std::map<std::string, PayloadSchemaType>& indexed, FilterShape* shape) {
  for (const auto* list : {&filter.must, &filter.should, &filter.must_not}) {
    for (const Condition& c : *list) Measure(c, indexed, shape);
  }
  if (filter.min_should) {
    for (const Condition& c : filter.min_should->conditions) Measure(c, indexed, shape);
  }
}

}  // namespace

StrictMode::StrictMode(std::string collection, std::optional<StrictModeConfig> config,
                       std::map<std::string, PayloadSchemaType> indexed, RateLimiter* rates)
    : collection_(std::move(collection)),
      config_(config && config->is_enabled() ? std::move(config) : std::nullopt),
      indexed_(std::move(indexed)),
      rates_(rates) {}

StrictMode StrictMode::For(const Call& call, const Collection& collection) {
  if (call.shard) return StrictMode(collection.name(), std::nullopt, {}, nullptr);
  if (!collection.strict_mode().is_enabled()) return StrictMode(collection.name(), std::nullopt, {}, nullptr);
  CollectionConfig config = collection.config();  // the payload schema too, only when strict mode is on
  std::map<std::string, PayloadSchemaType> indexed;
  for (const auto& [key, schema] : config.payload_schema) indexed[key] = schema.type;
  return StrictMode(collection.name(), std::move(config.strict_mode), std::move(indexed),
                    call.options.strict_mode_rates.get());
}

Status StrictMode::Charge(bool write, size_t cost) const {
  const std::optional<uint64_t>& per_minute = write ? config_->write_rate_limit : config_->read_rate_limit;
  if (!per_minute || rates_ == nullptr) return absl::OkStatus();
  const char* field = write ? "write_rate_limit" : "read_rate_limit";
  const RateLimit limit{static_cast<double>(*per_minute) / 60.0, static_cast<double>(*per_minute)};
  const RateDecision d = rates_->CheckKey("collection:" + collection_, limit, write, static_cast<double>(cost));
  if (d.allowed) return absl::OkStatus();
  if (d.over_capacity) {
    return Refusal("this " + std::string(write ? "write" : "read") + " costs " + std::to_string(cost) +
                       " tokens, more than strict_mode_config." + field + " allows in a minute (" +
                       std::to_string(*per_minute) + ")",
                   "split the request");
  }
  return RetryAfterError(std::string(write ? "Write" : "Read") + " rate limit exceeded (strict_mode_config." +
                             field + ": " + std::to_string(*per_minute) + " a minute on this node). Retry after " +
                             std::to_string(d.retry_after_s) + "s",
                         d.retry_after_s);
}

Status StrictMode::AdmitTimeout(const Call& call) const {
  if (!on() || !config_->max_timeout) return absl::OkStatus();
  if (auto it = call.request.query.find("timeout"); it != call.request.query.end()) {
    double asked = 0;
    // A malformed value is Call::RequestDeadline's to refuse.
    if (absl::SimpleAtod(it->second, &asked) && std::isfinite(asked) &&
        asked > static_cast<double>(*config_->max_timeout)) {
      return OverStrictLimit("timeout", static_cast<uint64_t>(std::ceil(asked)), "max_timeout",
                             *config_->max_timeout);
    }
  }
  return absl::OkStatus();
}

Status StrictMode::AdmitScroll(size_t limit, const std::optional<Filter>& filter) const {
  if (!on()) return absl::OkStatus();
  if (config_->max_query_limit && limit > *config_->max_query_limit) {
    return OverStrictLimit("limit", limit, "max_query_limit", *config_->max_query_limit);
  }
  VJ_RETURN_IF_ERROR(CheckReadFilter(filter));
  return Charge(false, 1);
}

Status StrictMode::CheckQueryShape(const QueryRequest& request) const {
  if (config_->search_max_hnsw_ef && request.hnsw_ef > *config_->search_max_hnsw_ef) {
    return OverStrictLimit("params.hnsw_ef", request.hnsw_ef, "search_max_hnsw_ef", *config_->search_max_hnsw_ef);
  }
  if (request.exact && config_->search_allow_exact == false) {
    return Refusal("exact search (params.exact) is not allowed: strict_mode_config.search_allow_exact is false",
                   "leave params.exact out");
  }
  if (config_->max_query_limit && request.limit > *config_->max_query_limit) {
    return OverStrictLimit("limit", request.limit, "max_query_limit", *config_->max_query_limit);
  }
  return CheckReadFilter(request.filter);
}

Status StrictMode::AdmitQuery(const QueryRequest& request) const {
  if (!on()) return absl::OkStatus();
  VJ_RETURN_IF_ERROR(CheckQueryShape(request));
  return Charge(false, 1);
}

Status StrictMode::CheckPlanShape(const QueryPlan& plan) const {
  std::vector<const QueryNode*> nodes{&plan.root};
  while (!nodes.empty()) {
    const QueryNode* node = nodes.back();
    nodes.pop_back();
    VJ_RETURN_IF_ERROR(CheckQueryShape(node->search));
    for (const QueryNode& child : node->prefetch) nodes.push_back(&child);
  }
  return absl::OkStatus();
}

Status StrictMode::AdmitQueryPlan(const QueryPlan& plan) const {
  if (!on()) return absl::OkStatus();
  VJ_RETURN_IF_ERROR(CheckPlanShape(plan));
  return Charge(false, 1);
}

Status StrictMode::AdmitQueries(const std::vector<QueryRequest>& requests, const std::string& field) const {
  if (!on()) return absl::OkStatus();
  for (size_t i = 0; i < requests.size(); ++i) {
    if (Status s = CheckQueryShape(requests[i]); !s.ok()) return WithContext(s, field + "[" + std::to_string(i) + "]");
  }
  return Charge(false, std::max<size_t>(1, requests.size()));
}

Status StrictMode::AdmitQueryPlans(const std::vector<QueryPlan>& plans, const std::string& field) const {
  if (!on()) return absl::OkStatus();
  for (size_t i = 0; i < plans.size(); ++i) {
    if (Status s = CheckPlanShape(plans[i]); !s.ok()) return WithContext(s, field + "[" + std::to_string(i) + "]");
  }
  return Charge(false, std::max<size_t>(1, plans.size()));
}

Status StrictMode::AdmitCount(const std::optional<Filter>& filter) const {
  if (!on()) return absl::OkStatus();
  VJ_RETURN_IF_ERROR(CheckReadFilter(filter));
  return Charge(false, 1);
}

Status StrictMode::AdmitRetrieve(size_t ids) const {
  if (!on()) return absl::OkStatus();
  return Charge(false, std::max<size_t>(1, ids));
}

Status StrictMode::AdmitUpsert(size_t points) const {
  if (!on()) return absl::OkStatus();
  if (config_->upsert_max_batchsize && points > *config_->upsert_max_batchsize) {
    return OverStrictLimit("points: an upsert of", points, "upsert_max_batchsize", *config_->upsert_max_batchsize);
  }
  return Charge(true, std::max<size_t>(1, points));
}

Status StrictMode::AdmitWrite(const PointSelector& selector) const {
  if (!on()) return absl::OkStatus();
  VJ_RETURN_IF_ERROR(CheckWriteFilter(selector.filter));
  return Charge(true, selector.filter ? 1 : std::max<size_t>(1, selector.ids.size()));
}

Status StrictMode::CheckFilter(const std::optional<Filter>& filter, const std::optional<bool>& allow_unindexed,
                               const char* allow_field) const {
  if (!on() || !filter) return absl::OkStatus();
  FilterShape shape;
  Measure(*filter, indexed_, &shape);
  if (allow_unindexed == false && shape.unindexed_key != nullptr) {
    return Refusal("Index required but not found for \"" + shape.unindexed_key->substr(0, 128) +
                       "\" (strict_mode_config." + allow_field + " is false)",
                   "create a payload index for this key or use a different filter");
  }
  if (config_->filter_max_conditions && shape.conditions > *config_->filter_max_conditions) {
    return OverStrictLimit("filter: the number of conditions", shape.conditions, "filter_max_conditions",
                           *config_->filter_max_conditions);
  }
  if (config_->condition_max_size && shape.max_input_size > *config_->condition_max_size) {
    return OverStrictLimit("filter: the size of a condition", shape.max_input_size, "condition_max_size",
                           *config_->condition_max_size);
  }
  return absl::OkStatus();
}

Status StrictMode::CheckReadFilter(const std::optional<Filter>& filter) const {
  if (!on()) return absl::OkStatus();
  return CheckFilter(filter, config_->unindexed_filtering_retrieve, "unindexed_filtering_retrieve");
}

Status StrictMode::CheckWriteFilter(const std::optional<Filter>& filter) const {
  if (!on()) return absl::OkStatus();
  return CheckFilter(filter, config_->unindexed_filtering_update, "unindexed_filtering_update");
}

Status StrictMode::CheckBatch(size_t queries) const {
  if (!on() || !config_->search_max_batchsize || queries <= *config_->search_max_batchsize) {
    return absl::OkStatus();
  }
  return OverStrictLimit("searches: a batch of", queries, "search_max_batchsize", *config_->search_max_batchsize);
}

Status StrictMode::CheckNewPayloadIndex(const std::string& key) const {
  if (!on() || !config_->max_payload_index_count || indexed_.count(key) != 0 ||
      indexed_.size() < *config_->max_payload_index_count) {
    return absl::OkStatus();
  }
  return OverStrictLimit("payload indexes: the collection would have", indexed_.size() + 1,
                         "max_payload_index_count", *config_->max_payload_index_count);
}

}  // namespace vj

// StrictMode: enforces a collection's strict_mode_config (collection/strict_mode_config.h) on one
// client request. Handlers build it once per request (StrictMode::For) and call the checks that apply
// to what they were asked; each check is a no-op when strict mode is off for the request.
//
// Refusals: a request over a shape limit (limit, timeout, hnsw_ef, exact, batch sizes, filters) is
// InvalidArgument (400) naming the strict mode field; a request over read_rate_limit or
// write_rate_limit is a RetryAfterError (429 with Retry-After). Rate limits are Qdrant's: requests a
// minute, a bucket of that many tokens refilled evenly over the minute; a read takes one token per query
// (a retrieve one per id), a write one per point it names (one for a filter). The buckets live in
// RestApiOptions::strict_mode_rates, so they are per node: in a cluster each node that takes client
// requests for the collection allows the rate on its own.
//
// Thread-safety: a StrictMode is used by the one request that built it; the rate buckets it charges are
// thread-safe (security/rate_limiter.h).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/handlers.h"
#include "collection/query_plan.h"
#include "collection/requests.h"
#include "collection/strict_mode_config.h"
#include "index/filter.h"
#include "security/rate_limiter.h"

namespace vj {

class StrictMode {
 public:
  // Off for a peer's shard request (the node that took the client's request checked it) and for a
  // collection whose strict mode is not enabled.
  static StrictMode For(const Call& call, const Collection& collection);
  // The same over an explicit config, payload indexes and buckets (for tests; `rates` may be null).
  StrictMode(std::string collection, std::optional<StrictModeConfig> config,
             std::map<std::string, PayloadSchemaType> indexed, RateLimiter* rates);

  bool on() const { return config_.has_value(); }

  // Each Admit* checks the request's shape, then takes its tokens from the collection's rate bucket, so
  // a refused shape costs nothing.
  // The ?timeout= query parameter of a read against max_timeout.
  Status AdmitTimeout(const Call& call) const;
  // A search or query: max_query_limit, search_max_hnsw_ef, search_allow_exact, the read filter; 1 read.
  Status AdmitQuery(const QueryRequest& request) const;
  // A query plan: AdmitQuery's shape checks on every node (the top level and each prefetch); 1 read.
  Status AdmitQueryPlan(const QueryPlan& plan) const;
  // A scroll: max_query_limit and the read filter; 1 read.
  Status AdmitScroll(size_t limit, const std::optional<Filter>& filter) const;
  // A count: the read filter; 1 read.
  Status AdmitCount(const std::optional<Filter>& filter) const;
  // A retrieve of `ids` points: one read per id.
  Status AdmitRetrieve(size_t ids) const;
  // An upsert of `points`: upsert_max_batchsize; one write per point.
  Status AdmitUpsert(size_t points) const;
  // A delete or payload write: the write filter; one write per id, or one for a filter.
  Status AdmitWrite(const PointSelector& selector) const;
  // search_max_batchsize for a batch of `queries`.
  Status CheckBatch(size_t queries) const;
  // A batch: every query's shape first (a refusal names `field`[i]), then one read per query taken at
  // once, so a batch is refused whole before any of its queries runs.
  Status AdmitQueries(const std::vector<QueryRequest>& requests, const std::string& field) const;
  Status AdmitQueryPlans(const std::vector<QueryPlan>& plans, const std::string& field) const;
  // max_payload_index_count before an index on `key` is created.
  Status CheckNewPayloadIndex(const std::string& key) const;
  // unindexed_filtering_retrieve / _update, filter_max_conditions and condition_max_size.
  Status CheckReadFilter(const std::optional<Filter>& filter) const;
  Status CheckWriteFilter(const std::optional<Filter>& filter) const;

 private:
  // AdmitQuery's checks of one search, and AdmitQueryPlan's of a plan, without the charge.
  Status CheckQueryShape(const QueryRequest& request) const;
  Status CheckPlanShape(const QueryPlan& plan) const;
  Status CheckFilter(const std::optional<Filter>& filter, const std::optional<bool>& allow_unindexed,
                     const char* allow_field) const;
  Status Charge(bool write, size_t cost) const;

  std::string collection_;
  std::optional<StrictModeConfig> config_;  // set when enforced
  std::map<std::string, PayloadSchemaType> indexed_;
  RateLimiter* rates_ = nullptr;
};

}  // namespace vj

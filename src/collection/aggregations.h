// The request and result types of the collection's aggregating reads (plain values): search groups,
// facet counts and the distance matrix of a sample, and the pure merge functions behind them (tested
// on their own in aggregations_test.cc).
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "collection/requests.h"
#include "core/payload.h"

namespace vj {

// Qdrant's search/query groups: the best `limit` groups of points sharing a value of `group_by` (a
// point joins one group per string or integer value the key reaches, arrays expanded), each with its
// best `group_size` hits; groups ordered by their best hit.
struct GroupRequest {
  QueryRequest query;  // its limit and offset are ignored
  std::string group_by;
  PayloadPath group_by_path;
  size_t group_size = 3;
  size_t limit = 10;  // number of groups
  // Candidates fetched at most, over all rounds (each round doubles the last): bounds the work of a
  // request whose groups do not fill.
  size_t max_candidates = 100000;
};

struct PointGroup {
  boost::json::value id;  // a string or an integer
  std::vector<PointView> hits;
};

// The groups that `candidates` (sorted best first, each with its payload holding `path`) make.
// `complete` is set when the answer cannot change with more candidates below these: `limit` groups
// each hold group_size hits. Hits keep their payloads as given.
std::vector<PointGroup> AssembleGroups(const std::vector<PointView>& candidates, const PayloadPath& path,
                                       size_t group_size, size_t limit, bool* complete);

// The group ids one payload holds under `path`: its string and integer values (arrays expanded),
// each once.
std::vector<boost::json::value> GroupValues(const Payload& payload, const PayloadPath& path);

// Qdrant's facet: how many matching points hold each value of `key` (a point counts once per distinct
// value), the `limit` largest counts, ties by value ascending (integers before strings).
struct FacetRequest {
  std::string key;
  PayloadPath path;
  PayloadSchemaType type = PayloadSchemaType::kKeyword;  // the key's index: which values count
  std::optional<Filter> filter;
  size_t limit = 10;
  Deadline deadline;
};

struct FacetHit {
  boost::json::value value;
  uint64_t count = 0;
};

// Counts keyed by a value's canonical text (FacetKey), merged over shards by adding.
struct FacetCounts {
  std::map<std::string, FacetHit> by_value;
  void Add(const boost::json::value& value, uint64_t n);
  void Merge(const FacetCounts& other);
  // The `limit` largest counts in Qdrant's order.
  std::vector<FacetHit> Top(size_t limit) const;
};

// Adds one point's distinct values under `path` of the kind `type` indexes (strings for keyword and
// uuid, integers for integer, bools for bool) to `counts`.
void CountFacetValues(const Payload& payload, const PayloadPath& path, PayloadSchemaType type,
                      FacetCounts* counts);

// Qdrant's search matrix: `sample` points matching the filter, each with its `limit` nearest other
// sampled points by `using_vector`.
struct MatrixRequest {
  std::optional<Filter> filter;
  size_t sample = 10;
  size_t limit = 3;
  std::string using_vector;
  Deadline deadline;
};

struct MatrixResult {
  std::vector<PointId> ids;  // the sample, in id order
  struct Entry {
    size_t row = 0, col = 0;  // indexes into ids
    float score = 0;
  };
  std::vector<Entry> entries;  // by row, each row's best first
};

// For each of `vectors` (one per id, as stored), its `limit` nearest others under `metric`, best first
// (ties by column).
std::vector<MatrixResult::Entry> NearestPairs(Metric metric, const std::vector<std::vector<float>>& vectors,
                                              size_t limit);

// The sample of `ids` matrix requests take: the `n` ids with the smallest hash (deterministic and
// spread over the id space), in id order.
std::vector<PointId> SampleIds(std::vector<PointId> ids, size_t n);

}  // namespace vj

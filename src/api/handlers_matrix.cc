// POST /collections/{c}/points/search/matrix/pairs and /offsets (Qdrant's shapes): a sample of the
// points matching a filter, each with its `limit` nearest others in the sample.
#include "api/aggregation_codec.h"
#include "api/filter_codec.h"
#include "api/handlers.h"
#include "api/strict_mode.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

namespace {

// The sample is compared pairwise (sample^2 distances): bounded so that one request stays cheap.
constexpr size_t kMaxMatrixSample = 1000;

StatusOr<MatrixResult> RunMatrix(const Call& call) {
  VJ_ASSIGN_OR_RETURN(Deadline deadline, call.RequestDeadline());
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  const StrictMode strict = StrictMode::For(call, *collection);
  VJ_RETURN_IF_ERROR(strict.AdmitTimeout(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.OptionalBody());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"filter", "sample", "limit", "using", "shard_key"}, ""));
  MatrixRequest request;
  request.deadline = deadline;
  if (const json::value* filter = FindField(body, "filter")) {
    VJ_ASSIGN_OR_RETURN(request.filter, ParseFilter(*filter, "filter", call.limits().filter));
  }
  if (const json::value* sample = FindField(body, "sample")) {
    VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*sample, "sample"));
    if (n < 2) return absl::InvalidArgumentError("sample: must be at least 2");
    if (n > kMaxMatrixSample) {
      return absl::InvalidArgumentError("sample: must be at most " + std::to_string(kMaxMatrixSample));
    }
    request.sample = n;
  }
  if (const json::value* limit = FindField(body, "limit")) {
    VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(*limit, "limit"));
    if (n == 0) return absl::InvalidArgumentError("limit: must be at least 1");
    if (n > kMaxMatrixSample) return absl::InvalidArgumentError("limit: must be at most " + std::to_string(kMaxMatrixSample));
    request.limit = n;
  }
  if (const json::value* u = FindField(body, "using")) {
    VJ_ASSIGN_OR_RETURN(request.using_vector, ReadString(*u, "using"));
  } else {
    const CollectionConfig config = collection->config();
    if (!config.has_unnamed_vector() && !config.vectors.empty()) request.using_vector = config.vectors.begin()->first;
  }
  VJ_RETURN_IF_ERROR(strict.AdmitCount(request.filter));
  return collection->SearchMatrix(request);
}

}  // namespace

StatusOr<json::value> HandleSearchMatrixPairs(const Call& call) {
  VJ_ASSIGN_OR_RETURN(MatrixResult result, RunMatrix(call));
  return MatrixPairsToJson(result);
}

StatusOr<json::value> HandleSearchMatrixOffsets(const Call& call) {
  VJ_ASSIGN_OR_RETURN(MatrixResult result, RunMatrix(call));
  return MatrixOffsetsToJson(result);
}

}  // namespace vj

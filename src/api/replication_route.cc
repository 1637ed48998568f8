#include "api/replication_route.h"

#include <absl/strings/numbers.h>

#include "api/error_mapping.h"

namespace vj {

StatusOr<ReplicationBatchRequest> ParseReplicationRequest(const RouteMatch& match, const Request& request) {
  // /internal/replication/{collection}/{shard}, matched by the route table.
  ReplicationBatchRequest out;
  if (match.params.size() != 2 || !absl::SimpleAtoi(match.params[1], &out.shard)) {
    return absl::NotFoundError("no such endpoint: " + request.method + " " + request.path);
  }
  out.collection = match.params[0];
  auto number = [&](const char* name, uint64_t* v) -> Status {
    auto it = request.query.find(name);
    if (it == request.query.end() || absl::SimpleAtoi(it->second, v)) return absl::OkStatus();
    return absl::InvalidArgumentError(std::string("replication: ") + name + " is not a number");
  };
  VJ_RETURN_IF_ERROR(number("term", &out.term));
  VJ_RETURN_IF_ERROR(number("start", &out.start));
  VJ_RETURN_IF_ERROR(number("sequence", &out.sequence));
  if (auto it = request.query.find("snapshot"); it != request.query.end()) out.phase = it->second;
  if (!out.phase.empty() && out.phase != "begin" && out.phase != "points" && out.phase != "end") {
    return absl::InvalidArgumentError("replication: unknown snapshot phase");
  }
  out.batch = request.body;
  return out;
}

Response ServeReplication(const RouteMatch& match, const Request& request, const ApplyReplicationFn& apply) {
  StatusOr<ReplicationBatchRequest> batch = ParseReplicationRequest(match, request);
  if (!batch.ok()) return PeerErrorResponse(batch.status());
  StatusOr<ReplicationAck> ack = apply(*batch);
  if (!ack.ok()) return PeerErrorResponse(ack.status());
  Response response;
  response.body = EncodeReplicationAck(*ack);
  return response;
}

}  // namespace vj

// The HTTP side of POST /internal/replication/{collection}/{shard} (the peer port): decodes the request
// into a ReplicationBatchRequest, hands it to the replica side (ClusterNode::ApplyReplication), and
// answers the ReplicationAck, or the error in the peer protocol's envelope (cluster/peer_protocol.h).
// Thread-safety: a pure function; `apply` must allow the caller's concurrency.
#pragma once

#include <functional>

#include "api/request.h"
#include "api/route_table.h"
#include "cluster/peer_protocol.h"

namespace vj {

using ApplyReplicationFn = std::function<StatusOr<ReplicationAck>(const ReplicationBatchRequest&)>;

// Numbers in the query that are not numbers are refused (400), not read as 0.
Response ServeReplication(const RouteMatch& match, const Request& request, const ApplyReplicationFn& apply);
// The batch borrows the request's body: use it while `request` lives.
StatusOr<ReplicationBatchRequest> ParseReplicationRequest(const RouteMatch& match, const Request& request);

}  // namespace vj

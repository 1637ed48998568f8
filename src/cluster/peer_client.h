// PeerClient: one shard's operations on another node, through that node's internal routes
// /internal/shards/{collection}/{shard}/... (api/rest_api.cc). Requests and answers use the public
// Qdrant JSON bodies (api/wire_codec.h), so the peer validates them with the same decoders as user
// requests; errors come back as the exact Status the peer returned (cluster/peer_protocol.h),
// Unavailable when the peer cannot be reached.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "cluster/http_client.h"
#include "collection/read_consistency.h"
#include "collection/requests.h"
#include "core/request_context.h"
#include "core/status.h"

namespace vj {

// Where one shard's replica lives: the peer's base URL and the shard.
struct PeerShard {
  std::string url;  // e.g. "http://127.0.0.1:6334"
  std::string collection;
  uint32_t shard = 0;
};

// Asks a read's peer where its replica stood (RestApiOptions::replica_position): filled into `out`, which
// must be set; with `primary` the peer answers only while it is the shard's acting primary (503 otherwise).
struct PositionRequest {
  ReplicaPosition* out = nullptr;
  bool primary = false;
};

// One attempt at a write this node forwards to a shard's primary (cluster/routed_shard.h): the request
// carries kForwardDeadlineHeader = apply_by_unix_ms (cluster/peer_protocol.h) and gives up after
// `timeout`. Afterwards `answered` tells whether the primary answered (an HTTP response came back,
// whatever it said): when it did not, the write may still be on its way, and only its deadline bounds
// when it could still be applied.
// `context` is the client's request the write belongs to: its request id (X-Request-Id) and trace
// context (traceparent, tracestate) go with the copy, so that the primary's logs and spans name it.
struct ForwardAttempt {
  int64_t apply_by_unix_ms = 0;
  std::chrono::milliseconds timeout{0};
  const RequestContext* context = nullptr;  // null: the thread's current context (tracing/tracer.h)
  bool answered = false;
};

class PeerClient {
 public:
  // `headers` go with every request (the cluster's internal token). `unreachable(url)`, when set, is
  // asked while a request waits: once it says the peer no longer answers, the request is abandoned
  // (Unavailable) instead of waiting for its timeout (a paused peer keeps its connections open).
  PeerClient(HttpClient& http, HttpHeaders headers, std::function<bool(const std::string& url)> unreachable = {})
      : http_(http), headers_(std::move(headers)), unreachable_(std::move(unreachable)) {}

  // Writes return the peer's last sequence of the shard (its operation_id). With `forward`, the write is
  // one forwarded to the shard's primary (see ForwardAttempt).
  StatusOr<uint64_t> Upsert(const PeerShard& to, const std::vector<PointInput>& points, bool wait,
                            ForwardAttempt* forward = nullptr);
  StatusOr<uint64_t> Delete(const PeerShard& to, const PointSelector& selector, bool wait,
                            ForwardAttempt* forward = nullptr);
  StatusOr<uint64_t> UpdateVectors(const PeerShard& to, const std::vector<PointInput>& points, bool wait,
                                   ForwardAttempt* forward = nullptr);
  StatusOr<uint64_t> DeleteVectors(const PeerShard& to, const PointSelector& selector,
                                   const std::vector<std::string>& names, bool wait,
                                   ForwardAttempt* forward = nullptr);
  StatusOr<uint64_t> UpdatePayload(const PeerShard& to, PayloadUpdate op, const PointSelector& selector,
                                   const Payload& payload, const std::vector<std::string>& keys,
                                   const std::optional<std::string>& key, bool wait,
                                   ForwardAttempt* forward = nullptr);
  StatusOr<uint64_t> CreatePayloadIndex(const PeerShard& to, const std::string& key, const PayloadFieldSchema& type,
                                        bool wait);
  StatusOr<uint64_t> DeletePayloadIndex(const PeerShard& to, const std::string& key, bool wait);

  // Reads; `position` (optional) asks where the peer's replica stood, see PositionRequest.
  StatusOr<std::vector<PointView>> Retrieve(const PeerShard& from, const std::vector<PointId>& ids,
                                            const PayloadSelector& with_payload,
                                            const VectorSelector& with_vector,
                                            const PositionRequest* position = nullptr);
  StatusOr<ScrollResult> Scroll(const PeerShard& from, const ScrollRequest& request,
                                const PositionRequest* position = nullptr);
  StatusOr<uint64_t> Count(const PeerShard& from, const std::optional<Filter>& filter, bool exact,
                           const PositionRequest* position = nullptr);
  StatusOr<std::vector<PointView>> Query(const PeerShard& from, const QueryRequest& request,
                                         const PositionRequest* position = nullptr);

 private:
  // Sends the request and returns the envelope's "result" (and fills position->out when asked).
  // `deadline`, when set, travels as the peer's ?timeout (what is left of it), so that a peer stops the
  // work when the client's request would have.
  StatusOr<boost::json::value> Call(std::string_view method, const PeerShard& shard, const std::string& path,
                                    const boost::json::object* body, const PositionRequest* position = nullptr,
                                    const Deadline& deadline = Deadline(), ForwardAttempt* forward = nullptr);
  StatusOr<uint64_t> Write(std::string_view method, const PeerShard& shard, const std::string& path,
                           const boost::json::object& body, bool wait, ForwardAttempt* forward = nullptr);

  HttpClient& http_;
  const HttpHeaders headers_;
  const std::function<bool(const std::string& url)> unreachable_;
};

}  // namespace vj

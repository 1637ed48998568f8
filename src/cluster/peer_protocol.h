// The peer protocol: how nodes of a cluster answer each other on the peer port (cluster.p2p_port; the
// /internal/... routes of api/route_table.h). Versioned and typed, so that an error keeps its exact
// absl::StatusCode across the wire (the public Qdrant error body only has an HTTP status, which several
// codes share: 409 is both AlreadyExists and Aborted, the latter a replica's "stale term").
//
//  * Requests carry kPeerProtocolHeader: <version>. A node refuses (400) a request whose header names a
//    version other than kPeerProtocolVersion; a request without the header is taken as version 1.
//  * Errors are answered with the HTTP status the public API would give (core/http_status.h) and the body
//      {"peer_protocol": 1, "error": {"code": "ABORTED", "message": "...", "payloads": {...}}}
//    where code is absl::StatusCodeToString's name and payloads holds the Status payloads a peer acts on
//    (kPeerPayloads: request timeout, full disk, final refusal, retry-after seconds, write not applied).
//  * A write a node forwards to a shard's primary (/internal/shards/.../points...) carries
//    kForwardDeadlineHeader: the wall-clock time (unix milliseconds) after which the primary must not
//    apply it. The primary checks it when it orders the write (collection/write_queue.h) and otherwise
//    refuses it with kWriteNotAppliedPayload; see cluster/routed_shard.h for why.
//  * Success bodies are the route's own (the Qdrant result envelope for shard routes, ReplicationAck's
//    JSON for replication).
//
// This library depends on core/ only: both sides (cluster/ as client, api/ and server/ as server) use it.
// Thread-safety: pure functions and plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vj {

inline constexpr int kPeerProtocolVersion = 1;
inline constexpr char kPeerProtocolHeader[] = "x-vjvector-peer-protocol";
// The value peers send in kPeerProtocolHeader.
inline constexpr char kPeerProtocolVersionText[] = "1";
inline constexpr char kForwardDeadlineHeader[] = "x-vjvector-forward-deadline";
// On a node's GET /livez answer: its wall clock, unix milliseconds (cluster/peer_prober.h measures peers'
// clock offsets with it).
inline constexpr char kClockHeader[] = "x-vjvector-clock-ms";

// The value of kForwardDeadlineHeader (lower-case names in `headers`): 0 when absent, else the unix
// milliseconds it names; InvalidArgument for anything but a positive whole number of milliseconds.
StatusOr<int64_t> ParseForwardDeadline(const std::map<std::string, std::string>& headers);

// The answer body of a failed peer request. `status` must not be OK.
std::string EncodePeerError(const Status& status);
// The Status a peer's answer stands for: OK for a 2xx status; for an error, the peer envelope's code,
// message and payloads, or, when the body is not a peer envelope (a proxy's answer, a node of an older
// release), the public mapping of the HTTP status (core/http_status.h) with the Qdrant error message
// or the body as message.
Status DecodePeerAnswer(int http_status, const std::string& body);
// DecodePeerAnswer for a replica's answer to POST /internal/replication/...: a 409 WITHOUT the peer
// envelope comes from a node of a release before the peer protocol (a rolling upgrade), whose only 409
// on that route is its refusal of a stale term. The public mapping would read it as AlreadyExists; it
// is Aborted, so that a deposed primary steps down instead of waiting for acknowledgements.
Status DecodeReplicationAnswer(int http_status, const std::string& body);
// OK when `headers` (lower-case names) carry no kPeerProtocolHeader or name kPeerProtocolVersion;
// InvalidArgument saying which versions meet otherwise.
Status CheckPeerProtocolVersion(const std::map<std::string, std::string>& headers);

// POST /internal/replication/{collection}/{shard}?term=T&start=E[&snapshot=begin|points|end&sequence=S],
// body a LogBatch (cluster/log_batch.h): one request of a primary's stream to a replica.
struct ReplicationBatchRequest {
  std::string collection;
  uint32_t shard = 0;
  uint64_t term = 0;
  uint64_t start = 0;     // entries up to here are the same on every replica of the term
  std::string phase;      // "" (log entries), or a snapshot's "begin", "points", "end"
  uint64_t sequence = 0;  // with phase "end": the sequence the snapshot stands for
  std::string_view batch;  // the encoded LogBatch (the request body: valid for the call)
};

// A replica's answer: its last durable sequence, and whether it cannot continue from the log.
struct ReplicationAck {
  uint64_t last_sequence = 0;
  bool needs_snapshot = false;
};
std::string EncodeReplicationAck(const ReplicationAck& ack);
StatusOr<ReplicationAck> DecodeReplicationAck(const std::string& body);

}  // namespace vj

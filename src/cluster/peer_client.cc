#include "cluster/peer_client.h"

#include <algorithm>
#include <cstdio>

#include "api/request.h"
#include "api/wire_codec.h"
#include "cluster/peer_protocol.h"
#include "core/json_fields.h"
#include "core/payload.h"
#include "tracing/tracer.h"

namespace vj {
namespace json = boost::json;

namespace {
std::string ShardName(const PeerShard& shard) { return shard.collection + "/" + std::to_string(shard.shard); }
}  // namespace

StatusOr<json::value> PeerClient::Call(std::string_view method, const PeerShard& shard,
                                       const std::string& path, const json::object* body,
                                       const PositionRequest* position, const Deadline& deadline,
                                       ForwardAttempt* forward) {
  std::string url = shard.url + "/internal/shards/" + shard.collection + "/" + std::to_string(shard.shard) + path;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  if (position != nullptr) {
    url += sep;
    url += position->primary ? "position=primary" : "position=replica";
    sep = '&';
  }
  if (deadline.is_set()) {
    // Never 0: the peer reads ?timeout=0 as invalid; an expired deadline still ends there at once.
    char timeout[32];
    std::snprintf(timeout, sizeof timeout, "%.3f", std::max(0.001, deadline.remaining_seconds()));
    url += sep;
    url += "timeout=";
    url += timeout;
  }
  const std::string payload = body != nullptr ? json::serialize(*body) : std::string();
  std::function<bool()> abandon;
  if (unreachable_) abandon = [this, &shard] { return unreachable_(shard.url); };
  // A forwarded write or a remote shard read: a client span, whose context the peer continues (its
  // server span is this span's child), and the request id, which the peer's logs then name too. A
  // forwarded write brings its request's context; reads (whose requests carry only their Deadline,
  // collection/requests.h) and replica-wide changes take the thread's current one, which the request
  // pipeline sets and RunOnShardPool carries (tracing/tracer.h).
  const RequestContext* context = forward != nullptr ? forward->context : nullptr;
  const TraceContext& parent = context != nullptr ? context->trace : CurrentTraceContext();
  const std::string& tracestate = context != nullptr ? context->tracestate : CurrentTracestate();
  const std::string& request_id = context != nullptr ? context->request_id : CurrentRequestId();
  Span span = StartSpan("peer", SpanKind::kClient, parent, /*remote=*/false, tracestate);
  if (span.recording()) {
    const std::string_view route = std::string_view(path).substr(0, path.find('?'));
    span.SetName(std::string(method) + " /internal/shards/{name}/{shard}" + std::string(route));
    span.SetAttribute("http.request.method", method);
    span.SetAttribute("server.address", shard.url);
    span.SetAttribute("db.system.name", "vjvector");
    span.SetAttribute("db.collection.name", shard.collection);
    span.SetAttribute("vjvector.shard", ShardName(shard));
  }
  const HttpHeaders* headers = &headers_;
  HttpHeaders extra;  // headers_ and this request's own: deadline, trace context, request id
  std::optional<std::chrono::milliseconds> timeout;
  if (forward != nullptr || span.context().valid() || !request_id.empty()) {
    extra = headers_;
    if (forward != nullptr) {
      extra.emplace_back(kForwardDeadlineHeader, std::to_string(forward->apply_by_unix_ms));
      timeout = forward->timeout;
      forward->answered = false;
    }
    if (span.context().valid()) {
      extra.emplace_back("traceparent", FormatTraceparent(span.context()));
      if (!tracestate.empty()) extra.emplace_back("tracestate", tracestate);
    }
    if (!request_id.empty()) extra.emplace_back("x-request-id", request_id);
    headers = &extra;
  }
  auto result = http_.Send(method, url, payload, *headers, timeout, abandon);
  if (span.recording()) {
    if (!result.ok()) {
      span.SetError(result.status());
    } else {
      span.SetAttribute("http.response.status_code", result->status);
      if (result->status >= 500) span.SetError("HTTP " + std::to_string(result->status));
    }
  }
  if (!result.ok()) return WithContext(result.status(), "peer " + shard.url);
  if (forward != nullptr) forward->answered = true;
  if (result->status != 200) {
    // The peer's exact error (cluster/peer_protocol.h). A node of an older release marks a final
    // refusal with a header instead of the envelope's payload.
    Status status = DecodePeerAnswer(result->status, result->body);
    if (status.ok()) status = absl::InternalError("peer " + shard.url + ": HTTP " + std::to_string(result->status));
    if (absl::IsUnavailable(status) && result->Header(kFinalRefusalHeader) == "final") {
      return FinalUnavailable(StatusMessage(status));
    }
    return status;
  }
  if (position != nullptr) {
    auto at = ParseReplicaPosition(result->Header(kReplicaPositionHeader));
    if (!at.ok()) return absl::InternalError("peer " + shard.url + ": " + StatusMessage(at.status()));
    *position->out = *at;
  }
  VJ_ASSIGN_OR_RETURN(json::value envelope, ParseJson(result->body, 128));
  const json::object* obj = envelope.if_object();
  const json::value* inner = obj != nullptr ? obj->if_contains("result") : nullptr;
  if (inner == nullptr) return absl::InternalError("peer " + shard.url + ": answer without a result");
  return *inner;
}

StatusOr<uint64_t> PeerClient::Write(std::string_view method, const PeerShard& shard, const std::string& path,
                                     const json::object& body, bool wait, ForwardAttempt* forward) {
  VJ_ASSIGN_OR_RETURN(json::value result, Call(method, shard, path + (wait ? "?wait=true" : "?wait=false"), &body,
                                               nullptr, Deadline(), forward));
  const json::object* obj = result.if_object();
  const json::value* id = obj != nullptr ? obj->if_contains("operation_id") : nullptr;
  if (id == nullptr) return absl::InternalError("peer " + shard.url + ": write answer without operation_id");
  return ReadUint(*id, "operation_id");
}

StatusOr<uint64_t> PeerClient::Upsert(const PeerShard& to, const std::vector<PointInput>& points, bool wait,
                                      ForwardAttempt* forward) {
  return Write("PUT", to, "/points", UpsertBody(points), wait, forward);
}

StatusOr<uint64_t> PeerClient::Delete(const PeerShard& to, const PointSelector& selector, bool wait,
                                      ForwardAttempt* forward) {
  return Write("POST", to, "/points/delete", SelectorBody(selector), wait, forward);
}

StatusOr<uint64_t> PeerClient::UpdateVectors(const PeerShard& to, const std::vector<PointInput>& points,
                                             bool wait, ForwardAttempt* forward) {
  return Write("PUT", to, "/points/vectors", UpdateVectorsBody(points), wait, forward);
}

StatusOr<uint64_t> PeerClient::DeleteVectors(const PeerShard& to, const PointSelector& selector,
                                             const std::vector<std::string>& names, bool wait,
                                             ForwardAttempt* forward) {
  return Write("POST", to, "/points/vectors/delete", DeleteVectorsBody(selector, names), wait, forward);
}

StatusOr<uint64_t> PeerClient::UpdatePayload(const PeerShard& to, PayloadUpdate op, const PointSelector& selector,
                                             const Payload& payload, const std::vector<std::string>& keys,
                                             const std::optional<std::string>& key, bool wait,
                                             ForwardAttempt* forward) {
  const json::object body = PayloadBody(op, selector, payload, keys, key);
  switch (op) {
    case PayloadUpdate::kSet: return Write("POST", to, "/points/payload", body, wait, forward);
    case PayloadUpdate::kOverwrite: return Write("PUT", to, "/points/payload", body, wait, forward);
    case PayloadUpdate::kDeleteKeys: return Write("POST", to, "/points/payload/delete", body, wait, forward);
    case PayloadUpdate::kClear: return Write("POST", to, "/points/payload/clear", body, wait, forward);
  }
  return absl::InternalError("unknown payload update");
}

StatusOr<uint64_t> PeerClient::CreatePayloadIndex(const PeerShard& to, const std::string& key,
                                                  const PayloadFieldSchema& type, bool wait) {
  json::object body{{"field_name", key}, {"field_schema", PayloadFieldSchemaToJson(type)}};
  return Write("PUT", to, "/index", body, wait);
}

StatusOr<uint64_t> PeerClient::DeletePayloadIndex(const PeerShard& to, const std::string& key, bool wait) {
  // Payload keys may hold characters that need escaping in a path.
  std::string escaped;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      escaped += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      escaped += '%';
      escaped += kHex[c >> 4];
      escaped += kHex[c & 15];
    }
  }
  json::object empty;
  return Write("DELETE", to, "/index/" + escaped, empty, wait);
}

StatusOr<std::vector<PointView>> PeerClient::Retrieve(const PeerShard& from, const std::vector<PointId>& ids,
                                                      const PayloadSelector& with_payload,
                                                      const VectorSelector& with_vector,
                                                      const PositionRequest* position) {
  const json::object body = RetrieveBody(ids, with_payload, with_vector);
  VJ_ASSIGN_OR_RETURN(json::value result, Call("POST", from, "/points", &body, position));
  return ParsePointViews(result);
}

StatusOr<ScrollResult> PeerClient::Scroll(const PeerShard& from, const ScrollRequest& request,
                                          const PositionRequest* position) {
  const json::object body = ScrollBody(request);
  VJ_ASSIGN_OR_RETURN(json::value result, Call("POST", from, "/points/scroll", &body, position, request.deadline));
  return ParseScrollResult(result);
}

StatusOr<uint64_t> PeerClient::Count(const PeerShard& from, const std::optional<Filter>& filter, bool exact,
                                     const PositionRequest* position) {
  const json::object body = CountBody(filter, exact);
  VJ_ASSIGN_OR_RETURN(json::value result, Call("POST", from, "/points/count", &body, position));
  const json::object* obj = result.if_object();
  const json::value* count = obj != nullptr ? obj->if_contains("count") : nullptr;
  if (count == nullptr) return absl::InternalError("peer " + from.url + ": count answer without count");
  return ReadUint(*count, "count");
}

StatusOr<std::vector<PointView>> PeerClient::Query(const PeerShard& from, const QueryRequest& request,
                                                   const PositionRequest* position) {
  const json::object body = QueryBody(request);
  VJ_ASSIGN_OR_RETURN(json::value result, Call("POST", from, "/points/query", &body, position, request.deadline));
  const json::object* obj = result.if_object();
  const json::value* points = obj != nullptr ? obj->if_contains("points") : nullptr;
  if (points == nullptr) return absl::InternalError("peer " + from.url + ": query answer without points");
  return ParsePointViews(*points);
}

}  // namespace vj

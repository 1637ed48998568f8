#include "cluster/peer_protocol.h"

#include <boost/json.hpp>

#include "absl/strings/numbers.h"

#include "core/deadline.h"
#include "core/http_status.h"
#include "core/json_fields.h"
#include "core/payload.h"
#include "core/retry_after.h"
#include "core/write_not_applied.h"

namespace vj {
namespace json = boost::json;
namespace {

// The longest message and payload value read back from a peer (a peer is authenticated, but its
// answer still must not grow what this node logs or answers without bound).
constexpr size_t kMaxMessageBytes = 64 * 1024;
constexpr size_t kMaxPayloadBytes = 64;

// The Status payloads that travel: the marks and values the receiving node acts on.
constexpr const char* kPeerPayloads[] = {kRequestTimeoutPayload, kDiskFullPayload, kFinalRefusalPayload,
                                         kRetryAfterPayload, kWriteNotAppliedPayload};

constexpr absl::StatusCode kAllCodes[] = {
    absl::StatusCode::kOk,           absl::StatusCode::kCancelled,         absl::StatusCode::kUnknown,
    absl::StatusCode::kInvalidArgument, absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kNotFound,
    absl::StatusCode::kAlreadyExists, absl::StatusCode::kPermissionDenied, absl::StatusCode::kResourceExhausted,
    absl::StatusCode::kFailedPrecondition, absl::StatusCode::kAborted,     absl::StatusCode::kOutOfRange,
    absl::StatusCode::kUnimplemented, absl::StatusCode::kInternal,         absl::StatusCode::kUnavailable,
    absl::StatusCode::kDataLoss,      absl::StatusCode::kUnauthenticated};

std::optional<absl::StatusCode> CodeNamed(std::string_view name) {
  for (absl::StatusCode code : kAllCodes) {
    if (absl::StatusCodeToString(code) == name) return code;
  }
  return std::nullopt;
}

std::string Cut(std::string_view s, size_t max) { return std::string(s.substr(0, max)); }

// The Status of a peer envelope, or nullopt when `v` is not one (or names a code this release does not
// know: the HTTP status then decides).
std::optional<Status> FromEnvelope(const json::value& v) {
  const json::object* obj = v.if_object();
  if (obj == nullptr) return std::nullopt;
  const json::value* version = obj->if_contains("peer_protocol");
  const json::value* error = obj->if_contains("error");
  if (version == nullptr || !version->is_int64() || error == nullptr || !error->is_object()) return std::nullopt;
  const json::object& e = error->get_object();
  const json::value* code_name = e.if_contains("code");
  if (code_name == nullptr || !code_name->is_string()) return std::nullopt;
  std::optional<absl::StatusCode> code = CodeNamed(std::string_view(code_name->get_string()));
  if (!code || *code == absl::StatusCode::kOk) return std::nullopt;
  std::string message;
  if (const json::value* m = e.if_contains("message"); m != nullptr && m->is_string()) {
    message = Cut(m->get_string(), kMaxMessageBytes);
  }
  Status status(*code, message);
  if (const json::value* p = e.if_contains("payloads"); p != nullptr && p->is_object()) {
    for (const char* url : kPeerPayloads) {
      const json::value* value = p->get_object().if_contains(url);
      if (value != nullptr && value->is_string()) {
        status.SetPayload(url, absl::Cord(Cut(value->get_string(), kMaxPayloadBytes)));
      }
    }
  }
  return status;
}

}  // namespace

std::string EncodePeerError(const Status& status) {
  json::object payloads;
  for (const char* url : kPeerPayloads) {
    if (auto value = status.GetPayload(url)) {
      payloads[url] = Cut(std::string(*value), kMaxPayloadBytes);
    }
  }
  json::object error{{"code", absl::StatusCodeToString(status.code())},
                     {"message", Cut(StatusMessage(status), kMaxMessageBytes)}};
  if (!payloads.empty()) error["payloads"] = std::move(payloads);
  return json::serialize(json::object{{"peer_protocol", kPeerProtocolVersion}, {"error", std::move(error)}});
}

Status DecodePeerAnswer(int http_status, const std::string& body) {
  if (http_status >= 200 && http_status < 300) return absl::OkStatus();
  // Messages quote what clients sent, which need not be UTF-8; the envelope still counts.
  json::parse_options options;
  options.allow_invalid_utf8 = true;
  options.max_depth = 8;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, json::storage_ptr(), options);
  if (!ec) {
    if (std::optional<Status> status = FromEnvelope(v)) return *status;
  }
  // Not a peer envelope: the public mapping, with Qdrant's {"status": {"error": "..."}} message.
  std::string message = Cut(body, kMaxMessageBytes);
  if (!ec && v.is_object()) {
    if (const auto* s = v.get_object().if_contains("status"); s != nullptr && s->is_object()) {
      if (const auto* e = s->get_object().if_contains("error"); e != nullptr && e->is_string()) {
        message = Cut(e->get_string(), kMaxMessageBytes);
      }
    }
  }
  return StatusFromHttpStatus(http_status, message);
}

Status DecodeReplicationAnswer(int http_status, const std::string& body) {
  Status status = DecodePeerAnswer(http_status, body);
  if (http_status == 409 && absl::IsAlreadyExists(status)) {
    // The envelope would have kept AlreadyExists had the replica meant it: this is an older node's 409.
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    const bool envelope = !ec && v.is_object() && v.get_object().if_contains("peer_protocol") != nullptr;
    if (!envelope) return absl::AbortedError(status.message());
  }
  return status;
}

Status CheckPeerProtocolVersion(const std::map<std::string, std::string>& headers) {
  auto it = headers.find(kPeerProtocolHeader);
  if (it == headers.end() || it->second == kPeerProtocolVersionText) return absl::OkStatus();
  return absl::InvalidArgumentError("peer protocol version \"" + Cut(it->second, 32) +
                                    "\" is not spoken by this node (it speaks version " +
                                    std::to_string(kPeerProtocolVersion) + ")");
}

std::string EncodeReplicationAck(const ReplicationAck& ack) {
  return json::serialize(json::object{{"last_sequence", ack.last_sequence}, {"needs_snapshot", ack.needs_snapshot}});
}

StatusOr<ReplicationAck> DecodeReplicationAck(const std::string& body) {
  VJ_ASSIGN_OR_RETURN(json::value v, ParseJson(body, 4));
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, "replication answer"));
  const json::value* last = FindField(*obj, "last_sequence");
  if (last == nullptr) return absl::InternalError("replication answer without last_sequence");
  ReplicationAck ack;
  VJ_ASSIGN_OR_RETURN(ack.last_sequence, ReadUint(*last, "last_sequence"));
  if (const json::value* ns = FindField(*obj, "needs_snapshot")) {
    VJ_ASSIGN_OR_RETURN(ack.needs_snapshot, ReadBool(*ns, "needs_snapshot"));
  }
  return ack;
}

StatusOr<int64_t> ParseForwardDeadline(const std::map<std::string, std::string>& headers) {
  auto it = headers.find(kForwardDeadlineHeader);
  if (it == headers.end()) return int64_t{0};
  int64_t ms = 0;
  const std::string& text = it->second;
  bool digits = !text.empty() && text.size() <= 15;  // up to the year 33658
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  if (!digits || !absl::SimpleAtoi(text, &ms) || ms <= 0) {
    return absl::InvalidArgumentError(std::string(kForwardDeadlineHeader) +
                                      ": expected unix milliseconds (a positive whole number), got \"" +
                                      text.substr(0, 32) + "\"");
  }
  return ms;
}

}  // namespace vj

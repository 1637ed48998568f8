#include "cluster/peer_protocol.h"

#include <gtest/gtest.h>

#include "core/deadline.h"
#include "core/http_status.h"
#include "core/retry_after.h"
#include "core/write_not_applied.h"

namespace vj {
namespace {

constexpr absl::StatusCode kErrorCodes[] = {
    absl::StatusCode::kCancelled,        absl::StatusCode::kUnknown,           absl::StatusCode::kInvalidArgument,
    absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kNotFound,          absl::StatusCode::kAlreadyExists,
    absl::StatusCode::kPermissionDenied, absl::StatusCode::kResourceExhausted, absl::StatusCode::kFailedPrecondition,
    absl::StatusCode::kAborted,          absl::StatusCode::kOutOfRange,        absl::StatusCode::kUnimplemented,
    absl::StatusCode::kInternal,         absl::StatusCode::kUnavailable,       absl::StatusCode::kDataLoss,
    absl::StatusCode::kUnauthenticated};

// What a peer answers for `status`: the public HTTP status, the envelope body.
Status RoundTrip(const Status& status) { return DecodePeerAnswer(HttpStatusFor(status), EncodePeerError(status)); }

TEST(PeerProtocolTest, EveryCodeRoundTripsWithItsMessage) {
  for (absl::StatusCode code : kErrorCodes) {
    const Status sent(code, "why: \"quoted\" \xC3\xA9");
    const Status got = RoundTrip(sent);
    EXPECT_EQ(got.code(), code) << absl::StatusCodeToString(code) << ": " << got;
    EXPECT_EQ(got.message(), sent.message());
  }
}

// The public mapping shares 409 between these two; a replica's stale-term refusal is Aborted.
TEST(PeerProtocolTest, AbortedAndAlreadyExistsStayApart) {
  EXPECT_TRUE(absl::IsAborted(RoundTrip(absl::AbortedError("stale term 1"))));
  EXPECT_TRUE(absl::IsAlreadyExists(RoundTrip(absl::AlreadyExistsError("exists"))));
  EXPECT_TRUE(absl::IsFailedPrecondition(RoundTrip(absl::FailedPreconditionError("no snapshot"))));
  EXPECT_TRUE(absl::IsOutOfRange(RoundTrip(absl::OutOfRangeError("trimmed"))));
  EXPECT_TRUE(absl::IsDataLoss(RoundTrip(absl::DataLossError("corrupt"))));
}

// Rolling upgrades: a replica of a release before the peer protocol answers a stale term with the public
// envelope's 409, which alone reads as AlreadyExists; on the replication route it is the stale-term refusal.
TEST(PeerProtocolTest, AnOlderReplicasConflictIsAStaleTerm) {
  const std::string old_body = R"({"status":{"error":"stale term 3 for shard c/0: this replica is at term 4"},"time":0})";
  EXPECT_TRUE(absl::IsAlreadyExists(DecodePeerAnswer(409, old_body)));
  const Status replica = DecodeReplicationAnswer(409, old_body);
  EXPECT_TRUE(absl::IsAborted(replica)) << replica;
  EXPECT_EQ(replica.message(), "stale term 3 for shard c/0: this replica is at term 4");
  EXPECT_TRUE(absl::IsAborted(DecodeReplicationAnswer(409, "conflict")));
  // A node that speaks the protocol is taken at its word.
  EXPECT_TRUE(absl::IsAlreadyExists(DecodeReplicationAnswer(409, EncodePeerError(absl::AlreadyExistsError("x")))));
  EXPECT_TRUE(absl::IsAborted(DecodeReplicationAnswer(409, EncodePeerError(absl::AbortedError("stale")))));
  EXPECT_TRUE(absl::IsUnavailable(DecodeReplicationAnswer(503, old_body)));
  EXPECT_TRUE(DecodeReplicationAnswer(200, "{}").ok());
}

TEST(PeerProtocolTest, PayloadsThatMatterTravel) {
  EXPECT_TRUE(IsRequestTimeout(RoundTrip(RequestTimeoutError("Timeout error"))));
  EXPECT_TRUE(IsDiskFull(RoundTrip(DiskFullError("disk full"))));
  EXPECT_TRUE(IsFinalUnavailable(RoundTrip(FinalUnavailable("lost the lease"))));
  EXPECT_EQ(RetryAfterSeconds(RoundTrip(RetryAfterError("slow down", 7))), std::optional<int64_t>(7));
  EXPECT_TRUE(IsWriteNotApplied(RoundTrip(WriteNotApplied("forwarded write arrived late"))));
  EXPECT_FALSE(IsWriteNotApplied(RoundTrip(absl::UnavailableError("not the primary"))));
  // Without marks, the same codes stay plain.
  EXPECT_FALSE(IsRequestTimeout(RoundTrip(absl::DeadlineExceededError("replica late"))));
  EXPECT_FALSE(IsDiskFull(RoundTrip(absl::ResourceExhaustedError("too many"))));
  EXPECT_FALSE(IsFinalUnavailable(RoundTrip(absl::UnavailableError("busy"))));
}

TEST(PeerProtocolTest, TheHttpStatusStaysThePublicOne) {
  EXPECT_EQ(HttpStatusFor(absl::AbortedError("x")), 409);
  EXPECT_EQ(HttpStatusFor(DiskFullError("x")), 507);
  EXPECT_EQ(HttpStatusFor(RequestTimeoutError("x")), 408);
}

TEST(PeerProtocolTest, AnswersThatAreNotEnvelopesFallBackToTheHttpStatus) {
  EXPECT_TRUE(DecodePeerAnswer(200, "not even json").ok());
  Status proxy = DecodePeerAnswer(502, "<html>Bad Gateway</html>");
  EXPECT_TRUE(absl::IsInternal(proxy)) << proxy;
  EXPECT_NE(proxy.message().find("Bad Gateway"), std::string::npos);
  Status qdrant = DecodePeerAnswer(409, R"({"status":{"error":"already there"},"time":0})");
  EXPECT_TRUE(absl::IsAlreadyExists(qdrant)) << qdrant;
  EXPECT_EQ(qdrant.message(), "already there");
  EXPECT_TRUE(IsDiskFull(DecodePeerAnswer(507, "full")));
  EXPECT_TRUE(absl::IsUnavailable(DecodePeerAnswer(503, "")));
  // Envelopes that are broken or name a code unknown here: the HTTP status decides.
  EXPECT_TRUE(absl::IsUnavailable(
      DecodePeerAnswer(503, R"({"peer_protocol":1,"error":{"code":"SOMETHING_NEW","message":"m"}})")));
  EXPECT_TRUE(absl::IsNotFound(DecodePeerAnswer(404, R"({"peer_protocol":1,"error":{"code":"OK"}})")));
  EXPECT_TRUE(absl::IsNotFound(DecodePeerAnswer(404, R"({"peer_protocol":"1","error":{"code":"ABORTED"}})")));
  EXPECT_TRUE(absl::IsNotFound(DecodePeerAnswer(404, R"({"peer_protocol":1,"error":"ABORTED"})")));
}

TEST(PeerProtocolTest, HostileEnvelopesAreBounded) {
  const std::string huge(1 << 20, 'x');
  Status s = DecodePeerAnswer(500, R"({"peer_protocol":1,"error":{"code":"INTERNAL","message":")" + huge +
                                       R"(","payloads":{"vjvector/retry-after-seconds":")" + huge +
                                       R"(","evil/url":"1"}}})");
  EXPECT_TRUE(absl::IsInternal(s));
  EXPECT_LE(s.message().size(), 64u * 1024);
  EXPECT_FALSE(s.GetPayload("evil/url").has_value());
  EXPECT_FALSE(RetryAfterSeconds(s).has_value());  // cut to 64 x's: not a number
  // Deep nesting is refused by the parser (the HTTP status decides), not recursed into.
  EXPECT_TRUE(absl::IsInvalidArgument(DecodePeerAnswer(400, std::string(100000, '[') )));
  // A message that is not UTF-8 (a client's bytes quoted) still travels as the envelope.
  EXPECT_TRUE(absl::IsAborted(RoundTrip(absl::AbortedError("bad \xFF\xFE bytes"))));
}

TEST(PeerProtocolTest, VersionHeader) {
  EXPECT_TRUE(CheckPeerProtocolVersion({}).ok());
  EXPECT_TRUE(CheckPeerProtocolVersion({{kPeerProtocolHeader, "1"}}).ok());
  Status other = CheckPeerProtocolVersion({{kPeerProtocolHeader, "2"}});
  EXPECT_TRUE(absl::IsInvalidArgument(other));
  EXPECT_NE(other.message().find("version \"2\""), std::string::npos) << other;
  EXPECT_NE(other.message().find("speaks version 1"), std::string::npos) << other;
}

TEST(PeerProtocolTest, ReplicationAckRoundTrips) {
  auto ack = DecodeReplicationAck(EncodeReplicationAck({42, true}));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->last_sequence, 42u);
  EXPECT_TRUE(ack->needs_snapshot);
  EXPECT_FALSE(DecodeReplicationAck(R"({"needs_snapshot":false})").ok());
  EXPECT_FALSE(DecodeReplicationAck("[").ok());
}

TEST(PeerProtocolTest, ForwardDeadlineHeader) {
  using Headers = std::map<std::string, std::string>;
  EXPECT_EQ(*ParseForwardDeadline(Headers{}), 0);
  EXPECT_EQ(*ParseForwardDeadline(Headers{{kForwardDeadlineHeader, "1796659200123"}}), 1796659200123);
  for (const char* bad : {"", "0", "-5", "12.5", "1e12", " 12", "abc", "9999999999999999999999"}) {
    auto parsed = ParseForwardDeadline(Headers{{kForwardDeadlineHeader, bad}});
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace vj

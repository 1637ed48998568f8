// Audit records: one JSON object per line, hash-chained (docs/compliance.md, "Audit log").
//
// A record's bytes are its canonical form: the fields in a fixed order, strings escaped to plain ASCII
// (quote, backslash, control characters and every byte >= 0x80 as \u00XX), no spaces. Its line is
//   {"seq":...,"time":...,...,"prev":"<hex>","hash":"<hex>"}
// where `hash` is SHA-256 (or HMAC-SHA256 with the log's key) of the line's bytes before
// `,"hash":"` (the canonical body, `prev` included), and `prev` is the hash of the record before it in
// the whole log, across rotated files (64 zeros for the very first). Editing, deleting or reordering a
// record therefore breaks either its own hash or the next record's `prev`.
//
// Thread-safety: pure functions; ChainHasher is immutable after construction and may be shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vj {

// What one audited request (or event of the log itself) was. Never secrets, tokens or payloads.
struct AuditEvent {
  int64_t time_ms = 0;        // Unix milliseconds, UTC
  std::string request_id;
  std::string principal;      // Principal::id ("api-key:main", "key:<id>", "jwt:<sub>"); empty: none
  std::vector<std::string> roles;
  std::string tenant;         // empty: none
  std::string method;         // "POST"; empty for the log's own events
  std::string action;         // the route's pattern, "unmatched", or "audit.start" / "audit.gap" ...
  std::string collection;     // empty: none
  int status = 0;             // the HTTP status answered; 0 for the log's own events
  std::string reason;         // why it was refused ("unknown_key", "forbidden", "rate_limited") or a note
  std::string client;         // "ip:port"
  bool admin = false;         // an administrative action (keys, roles, snapshots, rebalance, ...)
};

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
// The bytes between a record's canonical body and its hash; the line ends with `"}`.
inline constexpr std::string_view kHashFieldPrefix = ",\"hash\":\"";
inline constexpr size_t kHashHexLength = 64;

// Hashes canonical bodies: SHA-256, or HMAC-SHA256 when a key is given.
class ChainHasher {
 public:
  explicit ChainHasher(std::string hmac_key = "") : key_(std::move(hmac_key)) {}
  bool keyed() const { return !key_.empty(); }
  // Lower-case hex of the digest of `body`.
  std::string Hash(std::string_view body) const;
  // "sha256" or "hmac-sha256": the `alg` field of the records it hashes.
  std::string_view Algorithm() const { return keyed() ? "hmac-sha256" : "sha256"; }

 private:
  const std::string key_;
};

// "2026-12-07T14:36:22.123Z".
std::string FormatAuditTime(int64_t unix_ms);
// The canonical body of a record (without the closing brace).
std::string AuditRecordBody(const AuditEvent& event, uint64_t seq, std::string_view node, std::string_view alg,
                            std::string_view prev_hash);
// The full line, newline included, and the record's hash in `hash_out`.
std::string AuditRecordLine(const AuditEvent& event, uint64_t seq, std::string_view node,
                            const ChainHasher& hasher, std::string_view prev_hash, std::string* hash_out);
// The same record as one chain-less JSON object (the server log's audit lines when the audit log is off).
std::string AuditEventJson(const AuditEvent& event, std::string_view node);
// Appends `text` as a JSON string literal (quotes included), escaped to ASCII.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace vj

#include "audit/audit_record.h"

#include <time.h>

#include <cstdio>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "core/hex.h"

namespace vj {
namespace {

// A string field, or null when empty.
void AppendOptional(std::string& out, std::string_view text) {
  if (text.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, text);
  }
}

// Every field but the chain's, in canonical order.
void AppendEventFields(std::string& out, const AuditEvent& e, std::string_view node) {
  out += "\"time\":\"";
  out += FormatAuditTime(e.time_ms);
  out += "\",\"node\":";
  AppendOptional(out, node);
  out += ",\"request_id\":";
  AppendOptional(out, e.request_id);
  out += ",\"principal\":";
  AppendOptional(out, e.principal);
  out += ",\"roles\":[";
  for (size_t i = 0; i < e.roles.size(); ++i) {
    if (i != 0) out += ',';
    AppendJsonString(out, e.roles[i]);
  }
  out += "],\"tenant\":";
  AppendOptional(out, e.tenant);
  out += ",\"method\":";
  AppendOptional(out, e.method);
  out += ",\"action\":";
  AppendOptional(out, e.action);
  out += ",\"collection\":";
  AppendOptional(out, e.collection);
  out += ",\"status\":";
  out += std::to_string(e.status);
  out += ",\"reason\":";
  AppendOptional(out, e.reason);
  out += ",\"client\":";
  AppendOptional(out, e.client);
  out += ",\"admin\":";
  out += e.admin ? "true" : "false";
}

}  // namespace

std::string ChainHasher::Hash(std::string_view body) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (key_.empty()) {
    SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
    length = SHA256_DIGEST_LENGTH;
  } else {
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  }
  return HexEncode(digest, length);
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u >= 0x7f) {
      // Plain ASCII out, whatever came in: the line is valid JSON and its bytes are canonical.
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string FormatAuditTime(int64_t unix_ms) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string AuditRecordBody(const AuditEvent& event, uint64_t seq, std::string_view node, std::string_view alg,
                            std::string_view prev_hash) {
  std::string out;
  out.reserve(384);
  out += "{\"seq\":";
  out += std::to_string(seq);
  out += ",\"alg\":\"";
  out += alg;
  out += "\",";
  AppendEventFields(out, event, node);
  out += ",\"prev\":\"";
  out += prev_hash;
  out += '"';
  return out;
}

std::string AuditRecordLine(const AuditEvent& event, uint64_t seq, std::string_view node,
                            const ChainHasher& hasher, std::string_view prev_hash, std::string* hash_out) {
  std::string line = AuditRecordBody(event, seq, node, hasher.Algorithm(), prev_hash);
  std::string hash = hasher.Hash(line);
  line += kHashFieldPrefix;
  line += hash;
  line += "\"}\n";
  *hash_out = std::move(hash);
  return line;
}

std::string AuditEventJson(const AuditEvent& event, std::string_view node) {
  std::string out = "{";
  AppendEventFields(out, event, node);
  out += '}';
  return out;
}

}  // namespace vj

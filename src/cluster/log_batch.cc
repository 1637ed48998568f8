// LogBatch: the binary body of the replication requests (cluster/log_batch.h).
#include "cluster/log_batch.h"

#include <algorithm>
#include <cstring>

namespace vj {

namespace {

constexpr char kMagic[4] = {'V', 'J', 'L', '1'};

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetLE(std::string_view bytes, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  return v;
}

}  // namespace

std::string EncodeLogBatch(const std::vector<LoggedMutation>& entries) {
  std::string out(kMagic, sizeof(kMagic));
  PutU32(out, static_cast<uint32_t>(entries.size()));
  for (const LoggedMutation& e : entries) {
    const std::string m = EncodeMutation(e.mutation);
    PutU64(out, e.sequence);
    PutU32(out, static_cast<uint32_t>(m.size()));
    out += m;
  }
  return out;
}

StatusOr<std::vector<LoggedMutation>> DecodeLogBatch(std::string_view bytes) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return absl::InvalidArgumentError("replication batch: bad header");
  }
  const uint64_t n = GetLE(bytes, 4, 4);
  size_t at = 8;
  std::vector<LoggedMutation> out;
  out.reserve(std::min<uint64_t>(n, 4096));
  for (uint64_t i = 0; i < n; ++i) {
    if (bytes.size() - at < 12) return absl::InvalidArgumentError("replication batch: truncated");
    LoggedMutation e;
    e.sequence = GetLE(bytes, at, 8);
    const uint64_t len = GetLE(bytes, at + 8, 4);
    at += 12;
    if (bytes.size() - at < len) return absl::InvalidArgumentError("replication batch: truncated entry");
    auto m = DecodeMutation(bytes.substr(at, len));
    if (!m.ok()) return absl::InvalidArgumentError("replication batch: " + StatusMessage(m.status()));
    e.mutation = std::move(*m);
    at += len;
    out.push_back(std::move(e));
  }
  if (at != bytes.size()) return absl::InvalidArgumentError("replication batch: trailing bytes");
  return out;
}

}  // namespace vj

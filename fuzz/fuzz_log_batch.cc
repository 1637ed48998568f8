// Fuzzes the decoder of replication requests (cluster/log_batch DecodeLogBatch): a replica decodes a
// peer's POST /internal/replication body, entries of encoded Mutations. Each input is decoded as it is
// and with every entry's trailing CRC32C rewritten to match (walking the framing as the format
// describes), so the fuzzer reaches the mutations' fields. Property checked: a decoded batch re-encodes
// to bytes that decode to the same batch.
#include <cstdint>

#include "cluster/log_batch.h"
#include "fuzz/fuzz_check.h"

namespace vj {
namespace {

uint64_t GetLE(const std::string& b, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(b[at + i])) << (8 * i);
  return v;
}

std::string WithValidEntryCrcs(std::string_view bytes) {
  std::string out(bytes);
  size_t at = 8;
  while (out.size() >= at + 12) {
    const uint64_t len = GetLE(out, at + 8, 4);
    at += 12;
    if (out.size() - at < len) break;
    if (len >= 4) fuzz::StoreCrc32c(out, at, at + len - 4);
    at += len;
  }
  return out;
}

}  // namespace
}  // namespace vj

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  const std::string_view raw = fuzz::AsText(data, size);
  const std::string fixed = WithValidEntryCrcs(raw);
  for (std::string_view bytes : {raw, std::string_view(fixed)}) {
    fuzz::CheckBinaryRoundTrip(bytes, DecodeLogBatch, EncodeLogBatch, "batch round trip");
  }
  return 0;
}

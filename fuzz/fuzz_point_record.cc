// Fuzzes the decoders of stored points and of the mutation log (storage/point_record): DecodePointRecord
// and DecodeMutation read RocksDB values, which a damaged disk or a peer's replication batch can make
// anything. Each input is decoded as it is (the checksum path) and with its trailing CRC32C rewritten to
// match, so the fuzzer explores the fields behind the checksum. Property checked: what decodes
// re-encodes to bytes that decode to the same value.
#include <cstdint>
#include <cstring>

#include "fuzz/fuzz_check.h"
#include "storage/point_record.h"

namespace vj {
namespace {

// The input with its last four bytes replaced by the CRC32C of the rest (little-endian).
std::string WithValidCrc(std::string_view bytes) {
  std::string out(bytes);
  if (out.size() >= 4) fuzz::StoreCrc32c(out, 0, out.size() - 4);
  return out;
}

}  // namespace
}  // namespace vj

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  const std::string_view raw = fuzz::AsText(data, size);
  const std::string fixed = WithValidCrc(raw);
  for (std::string_view bytes : {raw, std::string_view(fixed)}) {
    fuzz::CheckBinaryRoundTrip(bytes, DecodePointRecord, EncodePointRecord, "record round trip");
    fuzz::CheckBinaryRoundTrip(bytes, DecodeMutation, EncodeMutation, "mutation round trip");
  }
  return 0;
}

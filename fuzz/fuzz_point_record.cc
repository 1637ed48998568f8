// Fuzzes the decoders of stored points and of the mutation log (storage/point_record): DecodePointRecord
// and DecodeMutation read RocksDB values, which a damaged disk or a peer's replication batch can make
// anything. Each input is decoded as it is (the checksum path) and with its trailing CRC32C rewritten to
// match, so the fuzzer explores the fields behind the checksum. Property checked: what decodes
// re-encodes to bytes that decode to the same value.
#include <cstdint>
#include <cstring>

#include "core/crc32c.h"
#include "fuzz/fuzz_check.h"
#include "storage/point_record.h"

namespace vj {
namespace {

// The input with its last four bytes replaced by the CRC32C of the rest (little-endian).
std::string WithValidCrc(std::string_view bytes) {
  std::string out(bytes);
  if (out.size() < 4) return out;
  const uint32_t crc = Crc32c(out.data(), out.size() - 4);
  for (int i = 0; i < 4; ++i) out[out.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  return out;
}

void CheckRecord(std::string_view bytes) {
  StatusOr<PointRecord> record = DecodePointRecord(bytes);
  if (!record.ok()) return;
  const std::string encoded = EncodePointRecord(*record);
  StatusOr<PointRecord> again = DecodePointRecord(encoded);
  VJ_FUZZ_CHECK(again.ok(), std::string(again.status().message()).c_str());
  VJ_FUZZ_CHECK(EncodePointRecord(*again) == encoded, "record round trip");
}

void CheckMutation(std::string_view bytes) {
  StatusOr<Mutation> mutation = DecodeMutation(bytes);
  if (!mutation.ok()) return;
  const std::string encoded = EncodeMutation(*mutation);
  StatusOr<Mutation> again = DecodeMutation(encoded);
  VJ_FUZZ_CHECK(again.ok(), std::string(again.status().message()).c_str());
  VJ_FUZZ_CHECK(EncodeMutation(*again) == encoded, "mutation round trip");
}

}  // namespace
}  // namespace vj

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  const std::string_view raw = fuzz::AsText(data, size);
  const std::string fixed = WithValidCrc(raw);
  for (std::string_view bytes : {raw, std::string_view(fixed)}) {
    CheckRecord(bytes);
    CheckMutation(bytes);
  }
  return 0;
}

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of every on-disk format
// (storage records, index snapshots). Uses SSE4.2's crc32 instruction where the CPU has it.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vj {

// Extends a running CRC: start with 0xFFFFFFFF, finish by inverting (Crc32c does both).
uint32_t ExtendCrc32c(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(const void* data, size_t n) { return ~ExtendCrc32c(0xFFFFFFFFu, data, n); }
inline uint32_t Crc32c(std::string_view data) { return Crc32c(data.data(), data.size()); }

}  // namespace vj

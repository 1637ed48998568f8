// Secrets and their digests: SHA-256, constant-time comparison, random bytes and the encodings that
// API keys use. Every credential check in security/ goes through these.
// Thread-safety: pure functions (OpenSSL's RAND_bytes is thread-safe).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/hex.h"  // HexEncode/HexDecode, which the digests' users write them with
#include "core/status.h"

namespace vj {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
// SHA-256(salt || secret): how a managed key's secret is stored.
Sha256Digest SaltedSha256(std::string_view salt, std::string_view secret);

// Equal digests, compared in time independent of where they differ (CRYPTO_memcmp). Comparing digests
// rather than the secrets themselves also hides the secret's length.
bool DigestsEqual(const Sha256Digest& a, const Sha256Digest& b);

// `n` bytes from OpenSSL's CSPRNG; Internal when it fails (it does not once seeded).
StatusOr<std::string> RandomBytes(size_t n);


}  // namespace vj

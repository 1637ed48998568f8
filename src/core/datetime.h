// RFC 3339 date-times for payload filters and the datetime payload index (Qdrant's datetime range):
// parsed into microseconds since the Unix epoch (UTC), which doubles hold exactly for every year 0-9999.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vj {

// Accepts "YYYY-MM-DD", optionally followed by 'T' or ' ' and "HH:MM[:SS[.fraction]]", optionally
// followed by 'Z' or an offset "+HH:MM" / "-HH:MM" (no zone means UTC), as Qdrant does. Fractions beyond
// microseconds are truncated. nullopt for anything else, or an impossible date or time.
std::optional<int64_t> ParseDateTimeMicros(std::string_view text);
// "YYYY-MM-DDTHH:MM:SS.ffffffZ": ParseDateTimeMicros reads it back exactly.
std::string FormatDateTimeMicros(int64_t micros);

}  // namespace vj

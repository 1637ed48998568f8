// Limits on a stored payload and on the key paths that address it. The request validation (api/,
// collection/) and the point-record decoder (storage/) read these same constants, so a payload that a
// write accepts is never refused when the record is read back (a node once stored a payload its reader
// refused and could not start again). Thread-safety: constants and pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/payload.h"
#include "core/status.h"

namespace vj {

// Nesting of objects and arrays, the payload object itself counting as one level (ParseJson's
// max_depth). The same as the request body's limit (RestApiOptions::max_json_depth), so that what a
// payload key adds on top of a patch cannot take a stored payload deeper than a request can send.
inline constexpr size_t kMaxPayloadDepth = 64;
// The payload as stored: its JSON text (the default HTTP body limit, so any payload an upsert can carry
// fits, and one that repeated set_payload calls grow cannot outgrow what a request could send).
inline constexpr size_t kMaxPayloadBytes = size_t{32} << 20;
// A key path ("a.b[0].c"): its length in bytes, its number of segments (keys), and the largest array
// position it may name (set_payload extends an array with nulls up to that position).
inline constexpr size_t kMaxPayloadPathBytes = 1024;
inline constexpr size_t kMaxPayloadPathSegments = 32;
inline constexpr size_t kMaxPayloadPathIndex = 65535;

// OK when `payload` nests at most kMaxPayloadDepth levels and its JSON text is at most
// kMaxPayloadBytes. InvalidArgument starting with `where` and naming the limit otherwise. Neither the
// walk nor the measurement recurses, so any value can be checked.
[[nodiscard]] Status CheckPayloadLimits(const Payload& payload, std::string_view where);

// The JSON text length of `payload` as the point record stores it, computed without building the text.
size_t SerializedPayloadBytes(const Payload& payload);
// The nesting depth of `value` as ParseJson counts it (a scalar is 0, {} and [] are 1). Iterative.
size_t JsonDepth(const boost::json::value& value);

}  // namespace vj

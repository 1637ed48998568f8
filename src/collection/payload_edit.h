// Edits and projections of a point's payload for the payload endpoints and with_payload selectors.
// Keys are payload paths (core/payload.h: "a.b", "a[0].b", "a[].b", a."b.c"), with Qdrant's meaning.
// The edits recurse once per path segment at most (kMaxPayloadPathSegments), never once per level of the
// payload, so no payload or key can exhaust a thread's stack. Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collection/requests.h"
#include "core/payload.h"

namespace vj {

// Merges patch's top-level keys into target, or into the objects at `key` as Qdrant's set_payload does:
// a missing key or index is created (an array is extended with nulls), a value of the wrong type on the
// way is replaced by an object or array, "a[]" merges into every element of array "a" (and makes a
// non-array "a" an empty array). `patch_bytes` is SerializedPayloadBytes(patch), measured once by a
// caller that merges one patch into many payloads. InvalidArgument, with target partly edited (callers
// edit a copy), when the merge would write more than kMaxPayloadBytes; the caller still checks the
// result's limits.
[[nodiscard]] Status MergePayload(Payload& target, const Payload& patch, size_t patch_bytes,
                                  const PayloadPath* key);
// Removes what each path names, as Qdrant's delete_payload does: "a.b" a key, "a[2]" one array element,
// "a[]" every element of "a" (leaving []), "a[].b" key b of every element. Absent paths are ignored.
void DeletePayloadPaths(Payload& target, const std::vector<PayloadPath>& paths);
// Parses each key of a request; InvalidArgument naming `where`[i] for the first that does not parse.
[[nodiscard]] StatusOr<std::vector<PayloadPath>> ParsePayloadPaths(const std::vector<std::string>& keys,
                                                                   const std::string& where);
// The part of payload that the selector asks for (nullopt for Mode::kNone). Keys that do not parse
// select nothing (the API refuses them first). An include path stops at its first array index and
// returns that whole array (more than a[0].b asks for, never less).
std::optional<Payload> SelectPayload(const Payload& payload, const PayloadSelector& selector);

}  // namespace vj

// Edits and projections of a point's payload for the payload endpoints and with_payload selectors.
// Keys are dotted paths through objects ("a.b"). Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collection/requests.h"
#include "core/payload.h"

namespace vj {

// Merges patch's top-level keys into target, or into the object at `key` (created when missing,
// replaced when not an object).
void MergePayload(Payload& target, const Payload& patch, const std::optional<std::string>& key);
// Removes each dotted key; absent keys are ignored.
void DeletePayloadKeys(Payload& target, const std::vector<std::string>& keys);
// The part of payload that the selector asks for (nullopt for Mode::kNone).
std::optional<Payload> SelectPayload(const Payload& payload, const PayloadSelector& selector);

}  // namespace vj

// DecodeMutationPointId: which point a stored mutation (storage/point_record.h's EncodeMutation) is
// about, even when the rest of it does not decode. Used when the store opens, to replace a log entry
// that an older version wrote past today's limits (storage/point_store.h). Thread-safety: a pure function.
#pragma once

#include <string_view>

#include "core/point_id.h"
#include "core/status.h"

namespace vj {

// The point id in `bytes` when their checksum, format version and kind are sound, whatever the body
// after the id holds (a payload past today's limits). DataLoss when the bytes are damaged: then nothing
// in them can be trusted, the id included.
StatusOr<PointId> DecodeMutationPointId(std::string_view bytes);

}  // namespace vj

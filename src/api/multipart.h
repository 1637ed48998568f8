// The one part of a multipart/form-data body (RFC 7578) that a route wants, e.g. the "snapshot" file
// of POST /collections/{name}/snapshots/upload. Parsing is strict and bounded by the body, which the
// transport already limited: InvalidArgument naming what is wrong (no boundary in the Content-Type, no
// such field, a part without its closing boundary).
// Thread-safety: a pure function.
#pragma once

#include <string_view>

#include "core/status.h"

namespace vj {

// The content of the form field `field` in `body`; a view into body.
[[nodiscard]] StatusOr<std::string_view> MultipartField(std::string_view content_type, std::string_view body,
                                                        std::string_view field);

}  // namespace vj

// Refusal of protobuf fields VJVector does not serve. Our .proto files (proto/) declare only the fields
// VJVector supports; a client built from Qdrant's full definitions may set others, which protobuf keeps
// as unknown fields. A request that sets one is refused, naming the field's number and the message it is
// in, rather than silently served without it. Thread-safety: pure function.
#pragma once

#include <google/protobuf/message.h>

#include "core/status.h"

namespace vj {

// OK when neither `message` nor any message inside it carries an unknown field; else InvalidArgument
// ("field 6 of qdrant.UpsertPoints (update_filter ...) is not supported by VJVector").
[[nodiscard]] Status RejectUnknownFields(const google::protobuf::Message& message);

}  // namespace vj

#include "grpc/unsupported_fields.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>

#include <vector>

namespace vj {

Status RejectUnknownFields(const google::protobuf::Message& root) {
  using google::protobuf::FieldDescriptor;
  // Iterative: the parser bounds nesting (100 levels), and a walk without recursion needs no more.
  std::vector<const google::protobuf::Message*> pending{&root};
  std::vector<const FieldDescriptor*> fields;  // reused: one allocation per call, not per message
  while (!pending.empty()) {
    const google::protobuf::Message& m = *pending.back();
    pending.pop_back();
    const google::protobuf::Reflection* reflection = m.GetReflection();
    const google::protobuf::UnknownFieldSet& unknown = reflection->GetUnknownFields(m);
    if (!unknown.empty()) {
      return absl::InvalidArgumentError("field " + std::to_string(unknown.field(0).number()) + " of " +
                                        m.GetDescriptor()->full_name() +
                                        " is not supported by VJVector (docs/api.md, gRPC)");
    }
    fields.clear();
    reflection->ListFields(m, &fields);
    for (const FieldDescriptor* field : fields) {
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
      if (field->is_repeated()) {
        const int n = reflection->FieldSize(m, field);
        for (int i = 0; i < n; ++i) pending.push_back(&reflection->GetRepeatedMessage(m, field, i));
      } else {
        pending.push_back(&reflection->GetMessage(m, field));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace vj

// Fuzzes the fast body decoder (api/fast_body.h) against ParseJson, differentially. Input: one byte that
// picks the vector slot (even: a /points/query body, odd: a /points/search body), then the body.
// Properties checked: a body the fast path takes is one ParseJson accepts as an object; its tree is
// ParseJson's with the stand-in [0.0] at the slot; and the extracted floats are, bit for bit, what the
// ordinary decoder makes of the slot's numbers (the double ParseJson reads, cast to float). Bodies the
// fast path refuses go to the ordinary decoder, which the other targets fuzz.
#include <cstdint>
#include <cstring>

#include "api/fast_body.h"
#include "core/payload.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  namespace json = boost::json;
  if (size == 0) return 0;
  const BodyVectorSlot slot = data[0] % 2 == 0 ? BodyVectorSlot::kQuery : BodyVectorSlot::kSearch;
  const std::string_view text = fuzz::AsText(data + 1, size - 1);
  std::optional<FastBody> fast = TryDecodeFastBody(text, 64, slot);
  if (!fast) return 0;
  StatusOr<json::value> ordinary = ParseJson(text, 64);
  VJ_FUZZ_CHECK(ordinary.ok() && ordinary->is_object(), "the fast path took a body ParseJson refuses");
  json::object& o = ordinary->as_object();
  if (fast->vector) {
    const char* top = slot == BodyVectorSlot::kQuery ? "query" : "vector";
    const char* inner = slot == BodyVectorSlot::kQuery ? "nearest" : "vector";
    json::value* at = o.if_contains(top);
    VJ_FUZZ_CHECK(at != nullptr, "no slot in ParseJson's tree");
    if (!at->is_array()) {
      VJ_FUZZ_CHECK(at->is_object() && at->as_object().if_contains(inner) != nullptr, "no inner slot");
      at = at->as_object().if_contains(inner);
    }
    VJ_FUZZ_CHECK(at->is_array(), "the slot is not an array in ParseJson's tree");
    const json::array& numbers = at->as_array();
    VJ_FUZZ_CHECK(numbers.size() == fast->vector->size(), "a different number of components");
    for (size_t i = 0; i < numbers.size(); ++i) {
      VJ_FUZZ_CHECK(numbers[i].is_number(), "a component that is not a number");
      const float want = static_cast<float>(numbers[i].to_number<double>());
      VJ_FUZZ_CHECK(std::memcmp(&want, &(*fast->vector)[i], sizeof(float)) == 0, "a component differs");
    }
    *at = json::array{0.0};
  }
  VJ_FUZZ_CHECK(json::value(std::move(fast->json)) == *ordinary, "the rest of the tree differs");
  return 0;
}

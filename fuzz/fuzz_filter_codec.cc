// Fuzzes the filter decoder from raw request bytes: core ParseJson, then ParseFilter (api/filter_codec),
// which every handler with a "filter" field calls. Properties checked: an accepted filter re-encodes
// (api/wire_codec FilterToJson, what a node forwards to its peers) to JSON that decodes to the same
// filter, and evaluating it against stored payloads (index/filter Matches) neither crashes nor trips a
// sanitizer.
#include <cstdint>

#include "api/filter_codec.h"
#include "api/wire_codec.h"
#include "core/payload.h"
#include "fuzz/fuzz_check.h"

namespace vj {
namespace {

const std::vector<std::pair<PointId, Payload>>& SamplePoints() {
  static const auto* points = [] {
    auto* p = new std::vector<std::pair<PointId, Payload>>;
    for (const char* text : {
             R"({"city": "Berlin", "n": 3, "price": 9.5, "tags": ["a", "b"], "ok": true})",
             R"({"city": ["London", "Paris"], "n": -7, "geo": {"lat": 52.5, "lon": 13.4}, "x": null})",
             R"({"a": {"b": [{"c": 1}, {"c": "two"}]}, "d": [], "e": {}, "date": "2024-01-02T03:04:05Z"})",
             R"({"uuid": "550e8400-e29b-41d4-a716-446655440000", "big": 18446744073709551615})",
             R"({})"}) {
      p->emplace_back(PointId::Num(p->size() + 1), ParseJson(text)->as_object());
    }
    return p;
  }();
  return *points;
}

}  // namespace
}  // namespace vj

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  StatusOr<boost::json::value> v = ParseJson(fuzz::AsText(data, size));
  if (!v.ok()) return 0;
  StatusOr<Filter> filter = ParseFilter(*v, "filter");
  if (!filter.ok()) return 0;
  const boost::json::value encoded = FilterToJson(*filter);
  StatusOr<Filter> again = ParseFilter(encoded, "filter");
  VJ_FUZZ_CHECK(again.ok(), std::string(again.status().message()).c_str());
  VJ_FUZZ_CHECK(fuzz::Json(FilterToJson(*again)) == fuzz::Json(encoded), "filter round trip");
  for (const auto& [id, payload] : SamplePoints()) {
    VJ_FUZZ_CHECK(Matches(*filter, id, payload) == Matches(*again, id, payload), "re-decoded filter differs");
  }
  return 0;
}

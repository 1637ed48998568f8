// Fuzzes the collection config decoder from raw bytes: core ParseJson, then ParseCollectionConfig, which
// reads both PUT /collections/{name} bodies and the stored config.json. Properties checked: an accepted
// config is stored as JSON (CollectionConfigToJson) that reads back to the same config, so a created
// collection always loads again at restart; the GET /collections/{name} view encodes without failing.
#include <cstdint>

#include "collection/collection_config.h"
#include "core/payload.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  const std::string_view text = fuzz::AsText(data, size);
  (void)ValidateCollectionName(text);
  StatusOr<boost::json::value> v = ParseJson(text);
  if (!v.ok()) return 0;
  StatusOr<CollectionConfig> config = ParseCollectionConfig(*v);
  if (!config.ok()) return 0;
  const boost::json::object stored = CollectionConfigToJson(*config);
  StatusOr<CollectionConfig> loaded = ParseCollectionConfig(stored);
  VJ_FUZZ_CHECK(loaded.ok(), std::string(loaded.status().message()).c_str());
  VJ_FUZZ_CHECK(fuzz::Json(CollectionConfigToJson(*loaded)) == fuzz::Json(stored), "config round trip");
  (void)CollectionInfoConfigJson(*config);
  return 0;
}

// Fuzzes the point decoders from raw request bytes, as the handlers call them: core ParseJson, then
// ParseUpsertBody (PUT /points), ParsePointIds, ParsePointVectors, the payload/vector selectors, and the
// decoders of a peer's results (ParsePointView(s), ParseScrollResult). Properties checked:
//  - an accepted upsert re-encodes (api/wire_codec UpsertBody) to a body that decodes to the same points;
//  - every accepted point can be stored and read back (storage/point_record): a request must never store
//    a record the node cannot read when it restarts.
#include <cstdint>

#include "api/point_codec.h"
#include "api/wire_codec.h"
#include "core/payload.h"
#include "fuzz/fuzz_check.h"
#include "storage/point_record.h"

namespace vj {
namespace {

void CheckUpsert(const boost::json::object& body) {
  StatusOr<std::vector<PointInput>> points = ParseUpsertBody(body);
  if (!points.ok()) return;
  const boost::json::object encoded = UpsertBody(*points);
  StatusOr<std::vector<PointInput>> again = ParseUpsertBody(encoded);
  VJ_FUZZ_CHECK(again.ok(), std::string(again.status().message()).c_str());
  VJ_FUZZ_CHECK(fuzz::Json(UpsertBody(*again)) == fuzz::Json(encoded), "upsert round trip");
  for (const PointInput& p : *points) {
    const std::string bytes = EncodePointRecord(PointRecord{p.id, p.vectors, p.payload});
    StatusOr<PointRecord> stored = DecodePointRecord(bytes);
    VJ_FUZZ_CHECK(stored.ok(), std::string(stored.status().message()).c_str());
    VJ_FUZZ_CHECK(stored->id == p.id && stored->vectors == p.vectors, "stored point differs");
    VJ_FUZZ_CHECK(fuzz::Json(stored->payload) == fuzz::Json(p.payload), "stored payload differs");
  }
}

void CheckPeerResults(const boost::json::value& v) {
  if (StatusOr<std::vector<PointView>> views = ParsePointViews(v); views.ok()) {
    for (const PointView& view : *views) {
      StatusOr<PointView> again = ParsePointView(PointViewToJson(view));
      VJ_FUZZ_CHECK(again.ok(), std::string(again.status().message()).c_str());
      VJ_FUZZ_CHECK(fuzz::Json(PointViewToJson(*again)) == fuzz::Json(PointViewToJson(view)),
                    "point view round trip");
    }
  }
  (void)ParsePointView(v);
  (void)ParseScrollResult(v);
}

}  // namespace
}  // namespace vj

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  StatusOr<boost::json::value> v = ParseJson(fuzz::AsText(data, size));
  if (!v.ok()) return 0;
  if (const boost::json::object* body = v->if_object()) CheckUpsert(*body);
  (void)ParsePointId(*v, "id");
  (void)ParsePointIds(*v, "points");
  {
    NamedVectors dense;
    NamedSparseVectors sparse;
    (void)ParsePointVectors(*v, "vector", kMaxSparseNnzHardLimit, &dense, &sparse);
  }
  (void)ParsePayloadSelector(&*v, PayloadSelector{});
  (void)ParseVectorSelector(&*v);
  CheckPeerResults(*v);
  return 0;
}

// Fuzzes the read endpoints end to end below the transport: RestApi::Handle over a real Database (RocksDB
// in a temporary directory) holding two small collections, so queries, searches (single and batch),
// scroll, count and retrieve run through the same decoding (core ParseJson, api/filter_codec,
// api/point_codec, the handlers' own fields) and the same collection code as a served request.
// Input: the request line "METHOD TARGET" (target decoded by server/http_messages DecodeTarget), a
// newline, then the body. Only routes that never write run (RestApi::NeverBlocks), so every input sees
// the same data. Properties checked: the answer is valid JSON, and no input gets a 5xx.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "api/point_codec.h"
#include "api/rest_api.h"
#include "collection/database.h"
#include "core/payload.h"
#include "fuzz/fuzz_check.h"
#include "server/http_messages.h"

namespace vj {
namespace {

void CheckOk(const Status& status, const char* what) {
  VJ_FUZZ_CHECK(status.ok(), (std::string(what) + ": " + std::string(status.message())).c_str());
}

// "c": the unnamed 4-d Cosine vector with keyword/integer payload indexes; "n": named vectors "a" (3-d
// Dot, int8-quantized) and "b" (2-d Euclid), and the sparse vector "s" (idf).
void Populate(Database& db) {
  const char* configs[][2] = {
      {"c", R"({"vectors": {"size": 4, "distance": "Cosine"}, "shard_number": 2})"},
      {"n", R"({"vectors": {"a": {"size": 3, "distance": "Dot",
                "quantization_config": {"scalar": {"type": "int8"}}},
                "b": {"size": 2, "distance": "Euclid"}},
                "sparse_vectors": {"s": {"modifier": "idf"}}})"}};
  for (const auto& [name, text] : configs) {
    StatusOr<CollectionConfig> config = ParseCollectionConfig(*ParseJson(text));
    CheckOk(config.status(), name);
    CheckOk(db.CreateCollection(name, *config), name);
  }
  const char* cities[] = {"Berlin", "London", "Paris", "Oslo"};
  std::vector<PointInput> c_points, n_points;
  for (uint64_t i = 1; i <= 40; ++i) {
    const float f = static_cast<float>(i);
    Payload payload{{"city", cities[i % 4]}, {"n", i}, {"price", 0.5 * f}, {"tags", {"t" + std::to_string(i % 3)}},
                    {"nested", {{"k", i % 5}}}};
    PointId id = i % 10 == 0 ? *PointId::ParseUuid("550e8400-e29b-41d4-a716-4466554400" + std::to_string(10 + i))
                             : PointId::Num(i);
    c_points.push_back({id, {{"", {f, 1.0f, -f, 0.5f}}}, payload});
    const auto term = static_cast<uint32_t>(i % 7);
    n_points.push_back({id, {{"a", {f, 2.0f, 0.0f}}, {"b", {-f, f}}}, payload,
                        {{"s", SparseVector{{term, 10 + term}, {f, 1.0f}}}}});
  }
  std::shared_ptr<Collection> c = *db.Get("c");
  CheckOk(c->Upsert(std::move(c_points), /*wait=*/true, RequestContext()), "upsert c");
  CheckOk(c->CreatePayloadIndex("city", PayloadSchemaType::kKeyword, true), "index city");
  CheckOk(c->CreatePayloadIndex("n", PayloadSchemaType::kInteger, true), "index n");
  CheckOk((*db.Get("n"))->Upsert(std::move(n_points), true, RequestContext()), "upsert n");
}

struct Fixture {
  std::string dir;
  std::unique_ptr<Database> db;
  std::unique_ptr<RestApi> api;
};

Fixture& TheFixture() {
  static Fixture* f = [] {
    auto* fx = new Fixture;
    fx->dir = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/vjfuzzXXXXXX");
    VJ_FUZZ_CHECK(::mkdtemp(fx->dir.data()) != nullptr, "mkdtemp");
    DatabaseOptions options;
    options.data_dir = fx->dir;
    StatusOr<std::unique_ptr<Database>> db = Database::Open(options);
    CheckOk(db.status(), "open");
    fx->db = std::move(*db);
    Populate(*fx->db);
    fx->api = std::make_unique<RestApi>(*fx->db, RestApiOptions{});
    std::atexit([] { std::filesystem::remove_all(TheFixture().dir); });
    return fx;
  }();
  return *f;
}

}  // namespace
}  // namespace vj

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  Fixture& fx = TheFixture();
  const std::string_view text = fuzz::AsText(data, size);
  const size_t eol = text.find('\n');
  const std::string_view line = text.substr(0, eol);
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  Request request;
  request.method = std::string(line.substr(0, space));
  DecodeTarget(line.substr(space + 1), request);
  if (eol != std::string_view::npos) request.body = std::string(text.substr(eol + 1));
  if (!RestApi::NeverBlocks(Port::kPublic, request)) return 0;
  const Response response = fx.api->Handle(request);
  VJ_FUZZ_CHECK(response.status < 500, response.body.c_str());
  VJ_FUZZ_CHECK(ParseJson(response.body).ok(), response.body.c_str());
  return 0;
}

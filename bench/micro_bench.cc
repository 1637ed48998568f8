// vjvector-microbench: Google Benchmark timings of the request path's CPU work outside the search: the
// JSON decode of a query body and the API layer around a query that finds next to nothing. The bodies
// are those of a 784-d query (fashion-mnist's size) written two ways: integers (the dataset's pixels)
// and random floats as clients print float32. Also the per-point cost of an unindexed match.any with a
// long list, compared value by value (as before issue 11) and through its hash set.
// Also the front door's per-request work for each kind of credential (BM_FrontDoor), and the per-point
// cost of filters evaluated point by point in a shard (BM_CountFiltered).
// Run: build/vjvector-microbench
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>

#include "api/fast_body.h"
#include "api/point_codec.h"
#include "api/rest_api.h"
#include "bench/json_body.h"
#include "collection/database.h"
#include "core/payload.h"
#include "index/filter.h"
#include "security/jws.h"
#include "security/rate_limiter.h"
#include "server/front_door_auth.h"
#include "server/request_pipeline.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace {

constexpr size_t kDim = 784;

std::string QueryBody(bool floats) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> v(kDim);
  for (float& x : v) x = floats ? uniform(rng) : static_cast<float>(rng() % 256);
  return vj::bench::QueryBody(v.data(), v.size(), 10);
}

void BM_ParseJson(benchmark::State& state) {
  const std::string body = QueryBody(state.range(0) != 0);
  for (auto _ : state) {
    auto value = vj::ParseJson(body);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetLabel(state.range(0) != 0 ? "random floats" : "integers");
}
BENCHMARK(BM_ParseJson)->Arg(0)->Arg(1);

// The body to its floats: ParseJson then ParseFloatVector (the ordinary path), or TryDecodeFastBody
// (api/fast_body.h), which reads the vector's numbers straight into floats.
void BM_DecodeQueryVector(benchmark::State& state) {
  const std::string body = QueryBody(state.range(0) != 0);
  const bool fast = state.range(1) != 0;
  for (auto _ : state) {
    if (fast) {
      auto decoded = vj::TryDecodeFastBody(body, 64, vj::BodyVectorSlot::kQuery);
      if (!decoded || !decoded->vector) state.SkipWithError("the fast path refused the body");
      benchmark::DoNotOptimize(decoded);
    } else {
      auto value = vj::ParseJson(body);
      auto floats = vj::ParseFloatVector(value->as_object().at("query"), "query");
      benchmark::DoNotOptimize(floats);
    }
  }
  state.SetLabel(std::string(state.range(0) != 0 ? "random floats" : "integers") + (fast ? ", fast" : ", ordinary"));
}
BENCHMARK(BM_DecodeQueryVector)->Args({0, 0})->Args({0, 1})->Args({1, 0})->Args({1, 1});

// RestApi::Handle for POST /points/query on a collection of one point: routing, body decode, the request,
// a search of one vector, and the JSON answer.
void BM_ApiQueryOnePoint(benchmark::State& state) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("vjvector-microbench-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  vj::DatabaseOptions options;
  options.data_dir = dir;
  auto database = vj::Database::Open(options).value();
  auto config = vj::ParseCollectionConfig(
                    vj::ParseJson("{\"vectors\": {\"size\": 784, \"distance\": \"Euclid\"}}").value())
                    .value();
  if (!database->CreateCollection("c", config).ok()) state.SkipWithError("create failed");
  std::vector<vj::PointInput> points(1);
  points[0].id = vj::PointId::Num(1);
  points[0].vectors[""].assign(kDim, 0.5f);
  if (!database->Get("c").value()->Upsert(std::move(points), true, vj::RequestContext()).ok()) state.SkipWithError("upsert failed");
  vj::RestApiOptions api_options;
  api_options.fast_body = state.range(1) != 0;
  vj::RestApi api(*database, api_options);
  const std::string body = QueryBody(state.range(0) != 0);
  for (auto _ : state) {
    vj::Response response = api.Handle(vj::Request{"POST", "/collections/c/points/query", {}, body, {}});
    if (response.status != 200) state.SkipWithError(response.body.c_str());
    benchmark::DoNotOptimize(response);
  }
  state.SetLabel(std::string(state.range(0) != 0 ? "random floats" : "integers") +
                 (api_options.fast_body ? ", fast body" : ", ordinary body"));
  database.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ApiQueryOnePoint)->Args({0, 0})->Args({0, 1})->Args({1, 0})->Args({1, 1})->Unit(benchmark::kMicrosecond);

}  // namespace


// Matches() of one point against {"must": [{"key": "n", "match": {"any": [0, 2, ..]}}]} with a list of
// range(0) integers, for points whose value is absent from the list (the linear scan's worst case):
// range(1) == 0 compares value by value (the code before issue 11), 1 looks the value up in the set.
void BM_FilterMatchAny(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  vj::FieldCondition c;
  c.key = "n";
  c.path = *vj::ParsePayloadPath("n");
  vj::MatchCondition m{vj::MatchCondition::Kind::kAny, {}, ""};
  for (size_t i = 0; i < n; ++i) m.values.emplace_back(static_cast<int64_t>(2 * i));
  c.match = std::move(m);
  if (state.range(1) != 0) vj::IndexMatchValues(&c);
  vj::Filter filter;
  filter.must.push_back(std::move(c));
  std::vector<vj::Payload> payloads(1000);
  for (size_t i = 0; i < payloads.size(); ++i) payloads[i]["n"] = static_cast<int64_t>(2 * i + 1);
  size_t hits = 0;
  for (auto _ : state) {
    for (const vj::Payload& p : payloads) hits += vj::Matches(filter, vj::PointId::Num(1), p);
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * payloads.size()));
  state.SetLabel(state.range(1) != 0 ? "hash set" : "linear");
}
BENCHMARK(BM_FilterMatchAny)
    ->ArgsProduct({{16, 1000, 10000, 100000}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

// The front door's per-request work (server/request_pipeline.cc): request id, authentication, route
// match, authorization and the rate-limit check, around a handler that does nothing, for each kind of
// credential: none (an open node), a configured API key, and a Qdrant JWT (HS256). The difference to
// "open" is what authentication adds to every request; compare it with BM_ApiQueryOnePoint (the API
// work of the cheapest query) and with a real search's latency (docs/benchmarks.md).
void BM_FrontDoor(benchmark::State& state) {
  constexpr char kKey[] = "bench-admin-key-0123456789abcdef";
  vj::ServerConfig config;
  config.api_key = kKey;
  config.jwt_rbac = true;
  auto front_door = vj::FrontDoorAuthenticator::Create(config, nullptr).value();
  vj::OpenDoor open_door;
  vj::RateLimiter limiter(vj::RateLimitSettings{});
  vj::Metrics metrics;
  vj::DeclarePipelineMetrics(metrics);
  vj::RequestPipelineHooks hooks;
  hooks.api = [](const vj::RequestContext&, const vj::RouteMatch&, const vj::Request&) { return vj::Response{}; };
  hooks.rate_limit = [&limiter](const vj::Principal& who, const vj::RouteSpec& route) -> std::optional<int> {
    if (limiter.Check(who, route.writes).allowed) return std::nullopt;
    return 1;
  };
  const int kind = static_cast<int>(state.range(0));
  const vj::Authenticator& auth = kind == 0 ? static_cast<const vj::Authenticator&>(open_door) : *front_door;
  vj::RequestPipeline pipeline(vj::Port::kPublic, auth, hooks, metrics, "bench");
  vj::Request request{"POST", "/collections/c/points/query", {}, "{}", {}};
  if (kind == 1) request.headers["api-key"] = kKey;
  if (kind == 2) {
    // {"alg":"HS256","typ":"JWT"} . {"access":"r","exp":4102444800} signed with kKey.
    const std::string header = vj::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
    const std::string payload = vj::Base64UrlEncode(R"({"access":"r","exp":4102444800})");
    const std::string signing_input = header + "." + payload;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), kKey, static_cast<int>(sizeof kKey - 1),
         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &mac_len);
    request.headers["authorization"] =
        "Bearer " + signing_input + "." + vj::Base64UrlEncode(std::string_view(reinterpret_cast<char*>(mac), mac_len));
  }
  for (auto _ : state) {
    vj::Response response = pipeline.Handle(request);
    if (response.status != 200) state.SkipWithError(response.body.c_str());
    benchmark::DoNotOptimize(response);
  }
  static const char* kLabels[] = {"open", "api key", "Qdrant JWT (HS256)"};
  state.SetLabel(kLabels[kind]);
}
BENCHMARK(BM_FrontDoor)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

// The collection BM_CountFiltered counts in, made once per process (an HNSW build of 20,000 points takes
// seconds) and removed at exit.
struct CountFixture {
  static constexpr size_t kPoints = 20000;
  static constexpr size_t kDim = 768;
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("vjvector-microbench-count-" + std::to_string(::getpid()))).string();
  std::unique_ptr<vj::Database> database;
  std::unique_ptr<vj::RestApi> api;
  std::string error;

  CountFixture() {
    std::filesystem::remove_all(dir);
    vj::DatabaseOptions options;
    options.data_dir = dir;
    database = vj::Database::Open(options).value();
    auto config = vj::ParseCollectionConfig(
                      vj::ParseJson("{\"vectors\": {\"size\": 768, \"distance\": \"Dot\"}}").value())
                      .value();
    if (!database->CreateCollection("c", config).ok()) error = "create failed";
    api = std::make_unique<vj::RestApi>(*database, vj::RestApiOptions{});
    vj::Response index = api->Handle(vj::Request{"PUT", "/collections/c/index", {{"wait", "true"}},
                                                 R"({"field_name": "t", "field_schema": {"type": "text"}})", {}});
    if (index.status != 200) error = index.body;
    static const char* kWords[] = {"red", "green", "blue", "cyan", "black", "white", "amber", "olive"};
    std::vector<vj::PointInput> points(kPoints);
    for (size_t i = 0; i < kPoints; ++i) {
      points[i].id = vj::PointId::Num(i + 1);
      points[i].vectors[""].assign(kDim, 0.01f * static_cast<float>(i % 7));
      points[i].payload["n"] = static_cast<int64_t>(i % 100);
      points[i].payload["t"] = std::string(kWords[i % 8]) + " car " + kWords[(i / 8) % 8] + " road";
    }
    if (!database->Get("c").value()->Upsert(std::move(points), true, vj::RequestContext()).ok()) error = "upsert failed";
  }
  ~CountFixture() {
    api.reset();
    database.reset();
    std::filesystem::remove_all(dir);
  }
};

// Count (exact) over 20,000 points of 768 dimensions with filters that payload indexes cannot answer
// alone, so the shard evaluates them point by point (ShardState::MatchingIds). range(0) 0: a `should` of
// a range and has_vector (asks the vector index whether it holds each point), 1: a `should` of a range and
// a text match on a full-text index (answered from its posting lists), 2: two ranges (the payload walk's
// floor). The per-point cost is the time / 20,000.
void BM_CountFiltered(benchmark::State& state) {
  static CountFixture fixture;
  if (!fixture.error.empty()) state.SkipWithError(fixture.error.c_str());
  static const char* kBodies[] = {
      R"({"exact": true, "filter": {"should": [{"key": "n", "range": {"lt": 10}}, {"has_vector": ""}]}})",
      R"({"exact": true, "filter": {"should": [{"key": "n", "range": {"lt": 10}}, {"key": "t", "match": {"text": "olive road"}}]}})",
      R"({"exact": true, "filter": {"should": [{"key": "n", "range": {"lt": 10}}, {"key": "n", "range": {"gt": 95}}]}})",
  };
  static const char* kLabels[] = {"range or has_vector", "range or text (indexed)", "range or range"};
  const int kind = static_cast<int>(state.range(0));
  for (auto _ : state) {
    vj::Response response =
        fixture.api->Handle(vj::Request{"POST", "/collections/c/points/count", {}, kBodies[kind], {}});
    if (response.status != 200) state.SkipWithError(response.body.c_str());
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * CountFixture::kPoints));
  state.SetLabel(kLabels[kind]);
}
BENCHMARK(BM_CountFiltered)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

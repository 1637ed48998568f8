// vjvector-microbench: Google Benchmark timings of the request path's CPU work outside the search: the
// JSON decode of a query body and the API layer around a query that finds next to nothing. The bodies
// are those of a 784-d query (fashion-mnist's size) written two ways: integers (the dataset's pixels)
// and random floats as clients print float32. Also the per-point cost of an unindexed match.any with a
// long list, compared value by value (as before issue 11) and through its hash set.
// Run: build/vjvector-microbench
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>

#include "api/rest_api.h"
#include "bench/json_body.h"
#include "collection/database.h"
#include "core/payload.h"
#include "index/filter.h"

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
  if (!database->Get("c").value()->Upsert(std::move(points), true).ok()) state.SkipWithError("upsert failed");
  vj::RestApi api(*database, vj::RestApiOptions{});
  const std::string body = QueryBody(state.range(0) != 0);
  for (auto _ : state) {
    vj::Response response = api.Handle(vj::Request{"POST", "/collections/c/points/query", {}, body, {}});
    if (response.status != 200) state.SkipWithError(response.body.c_str());
    benchmark::DoNotOptimize(response);
  }
  state.SetLabel(state.range(0) != 0 ? "random floats" : "integers");
  database.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ApiQueryOnePoint)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

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

BENCHMARK_MAIN();

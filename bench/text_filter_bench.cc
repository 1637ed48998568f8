// Filtered count with a full-text condition over 100k synthetic documents: the text index's answer
// (posting lists intersected) against evaluating every payload, as a count does without an index
// (substring) or with an index the planner could not use (tokenized per point).
// Run: build/vjvector-text-bench [--benchmark_filter=...]; timings are printed, never asserted.
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "index/filter.h"
#include "index/payload_index.h"

namespace {

constexpr size_t kDocs = 100000;

struct Corpus {
  std::vector<vj::Payload> docs;
  std::unique_ptr<vj::PayloadIndex> index;
};

const Corpus& TheCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    std::mt19937 rng(42);
    // A Zipf-like vocabulary: word w appears with probability ~ 1/(w+1).
    std::vector<std::string> vocab;
    for (int i = 0; i < 5000; ++i) vocab.push_back("w" + std::to_string(i) + (i % 3 == 0 ? "ing" : "s"));
    std::vector<double> weights;
    for (size_t i = 0; i < vocab.size(); ++i) weights.push_back(1.0 / static_cast<double>(i + 1));
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    vj::PayloadFieldSchema schema(vj::PayloadSchemaType::kText);
    schema.text.stopword_languages = {"english"};
    schema.text.stemmer_language = "english";
    c->index = *vj::PayloadIndex::Create("body", schema);
    for (uint32_t i = 0; i < kDocs; ++i) {
      std::string s;
      for (int w = 0; w < 30; ++w) s += vocab[pick(rng)] + (w % 7 == 6 ? ". " : " ");
      vj::Payload p;
      p["body"] = s;
      c->docs.push_back(std::move(p));
      c->index->Add(i, c->docs.back());
    }
    return c;
  }();
  return *corpus;
}

vj::FieldCondition TextCondition(const std::string& query) {
  vj::FieldCondition c;
  c.key = "body";
  c.path = *vj::ParsePayloadPath("body");
  c.match = vj::MatchCondition{vj::MatchCondition::Kind::kText, {}, query};
  return c;
}

// Arg: 0 = one rare word, 1 = two common words, 2 = a common and a rare word.
std::string QueryFor(int64_t arg) {
  switch (arg) {
    case 0: return "w700s";
    case 1: return "w1s w2s";
    default: return "w1s w700s";
  }
}

void BM_TextCountIndexed(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  vj::FieldCondition cond = TextCondition(QueryFor(state.range(0)));
  uint64_t n = 0;
  for (auto _ : state) {
    n = c.index->Answer(cond)->cardinality();
    benchmark::DoNotOptimize(n);
  }
  state.counters["matches"] = static_cast<double>(n);
}
BENCHMARK(BM_TextCountIndexed)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

void BM_TextCountSubstringScan(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  vj::Filter f;
  f.must.push_back(TextCondition(QueryFor(state.range(0))));
  uint64_t n = 0;
  for (auto _ : state) {
    n = 0;
    for (uint32_t i = 0; i < kDocs; ++i) n += vj::Matches(f, vj::PointId::Num(i), c.docs[i]);
    benchmark::DoNotOptimize(n);
  }
  state.counters["matches"] = static_cast<double>(n);
}
BENCHMARK(BM_TextCountSubstringScan)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_TextCountTokenizedScan(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  vj::Filter f;
  f.must.push_back(TextCondition(QueryFor(state.range(0))));
  vj::MatchContext context;
  context.text_tokenizer = [&c](const vj::FieldCondition& fc) { return c.index->TextTokenizerFor(fc); };
  uint64_t n = 0;
  for (auto _ : state) {
    n = 0;
    for (uint32_t i = 0; i < kDocs; ++i) n += vj::Matches(f, vj::PointId::Num(i), c.docs[i], context);
    benchmark::DoNotOptimize(n);
  }
  state.counters["matches"] = static_cast<double>(n);
}
BENCHMARK(BM_TextCountTokenizedScan)->Arg(0)->Unit(benchmark::kMillisecond);

// Every point checked against the index (posting-list look-ups): what a shard does for points a graph
// walk or a should/must_not clause brings, where the index's set is not used directly.
void BM_TextCountIndexPerPoint(benchmark::State& state) {
  const Corpus& c = TheCorpus();
  vj::Filter f;
  f.must.push_back(TextCondition(QueryFor(state.range(0))));
  uint64_t n = 0;
  for (auto _ : state) {
    n = 0;
    for (uint32_t i = 0; i < kDocs; ++i) {
      vj::MatchContext context;
      context.indexed_text = [&c, i](const vj::FieldCondition& fc) -> std::optional<bool> {
        return c.index->TextConditionHolds(fc, i);
      };
      n += vj::Matches(f, vj::PointId::Num(i), c.docs[i], context);
    }
    benchmark::DoNotOptimize(n);
  }
  state.counters["matches"] = static_cast<double>(n);
}
BENCHMARK(BM_TextCountIndexPerPoint)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

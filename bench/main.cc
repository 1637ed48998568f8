// vjvector-bench: benchmark harnesses. `ann` compares VJVector's index with hnswlib and FAISS on one
// dataset in one run; `rest` measures the server over HTTP beside the same work in-process.
#include <cstdio>
#include <sstream>

#include <CLI/CLI.hpp>

#include "bench/ann_bench.h"
#include "bench/rest_bench.h"

namespace {

template <typename T>
std::vector<T> ParseList(const std::string& text) {
  std::vector<T> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    std::stringstream value(item);
    T v{};
    value >> v;
    out.push_back(v);
  }
  return out;
}

int Finish(const vj::Status& status) {
  if (status.ok()) return 0;
  std::fprintf(stderr, "vjvector-bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vjvector-bench: VJVector benchmark harnesses (see docs/benchmarks.md)"};
  app.require_subcommand(1);

  vj::bench::AnnOptions ann;
  std::string ef_list, engines, quantization = "none", selectivity;
  CLI::App* ann_cmd = app.add_subcommand("ann", "ANN index vs hnswlib and FAISS (single-thread QPS, recall@k)");
  ann_cmd->add_option("--base", ann.base, "base vectors (.fvecs)")->required();
  ann_cmd->add_option("--queries", ann.queries, "query vectors (.fvecs)")->required();
  ann_cmd->add_option("--groundtruth", ann.groundtruth, "exact neighbours (.ivecs)");
  ann_cmd->add_option("--k", ann.k, "neighbours per query");
  ann_cmd->add_option("--m", ann.m, "HNSW M");
  ann_cmd->add_option("--ef-construction", ann.ef_construction, "HNSW efConstruction");
  ann_cmd->add_option("--ef", ef_list, "search breadths, comma-separated (default 10,16,32,64,128,256,512)");
  ann_cmd->add_option("--engines", engines, "vjvector,hnswlib,faiss-hnsw,faiss-flat (default: the first three)");
  ann_cmd->add_option("--quantization", quantization,
                      "VJVector variants, comma-separated: none, sq8 (ranges auto), sq8-global, sq8-dim, "
                      "sq8-disk, binary");
  ann_cmd->add_option("--metric", ann.metric, "l2 (default), cosine (vectors normalised first) or dot");
  ann_cmd->add_option("--oversampling", ann.oversampling,
                      "VJVector on codes: re-rank k * this with floats (default 2, as the server)");
  ann_cmd->add_option("--search-threads", ann.search_threads,
                      "also measure throughput with this many search threads (default 2; 1 = skip)");
  ann_cmd->add_option("--vector-dir", ann.vector_dir, "sq8-disk: directory of its vector file (default .)");
  ann_cmd->add_option("--threads", ann.threads, "build threads");
  ann_cmd->add_option("--max-queries", ann.max_queries, "use only the first N queries");
  ann_cmd->add_option("--max-base", ann.max_base, "filtered mode: use only the first N base vectors");
  ann_cmd->add_option("--filter-selectivity", selectivity, "filtered mode: fractions, e.g. 1,0.5,0.1,0.01,0.001");
  ann_cmd->add_option("--labels", ann.labels, "filtered mode: IDX1 labels (.gz) of the base vectors");
  ann_cmd->add_flag("--json", ann.json, "also print one JSON object per result line");

  vj::bench::RestOptions rest;
  std::string clients;
  CLI::App* rest_cmd = app.add_subcommand("rest", "the server over HTTP vs the same queries in-process");
  rest_cmd->add_option("--base", rest.base, "base vectors (.fvecs)")->required();
  rest_cmd->add_option("--queries", rest.queries, "query vectors (.fvecs)")->required();
  rest_cmd->add_option("--groundtruth", rest.groundtruth, "exact neighbours (.ivecs)");
  rest_cmd->add_option("--binary", rest.binary, "the vjvector binary to start (default build/vjvector)");
  rest_cmd->add_option("--url", rest.url, "use a running server (http://127.0.0.1:PORT) instead of --binary");
  rest_cmd->add_option("--call-timeout", rest.call_timeout_s, "seconds: limit on each HTTP call (default 120)");
  rest_cmd->add_option("--time-limit", rest.time_limit_s, "seconds: limit on the whole run (default 3600)");
  rest_cmd->add_option("--k", rest.k, "neighbours per query");
  rest_cmd->add_option("--batch", rest.batch, "points per upsert request");
  rest_cmd->add_option("--clients", clients, "client counts, comma-separated (default 1,8)");
  rest_cmd->add_option("--max-queries", rest.max_queries, "use only the first N queries");
  rest_cmd->add_option("--max-base", rest.max_base, "use only the first N base vectors (recall vs brute force)");
  rest_cmd->add_flag("--json", rest.json, "also print JSON lines");
  rest_cmd->add_flag("--client-spin", rest.client_spin,
                     "the 1-client pass polls for responses instead of sleeping (a diagnostic)");
  std::string server_args;
  rest_cmd->add_option("--server-args", server_args,
                       "extra flags for the server it starts, space-separated, e.g. '--busy-poll-us 200'");
  rest_cmd->add_option("--collection-fields", rest.collection_fields,
                       "extra create-collection fields, e.g. '\"shard_number\": 3' (cluster runs)");

  CLI11_PARSE(app, argc, argv);

  if (ann_cmd->parsed()) {
    if (!ef_list.empty()) ann.ef = ParseList<size_t>(ef_list);
    if (!engines.empty()) ann.engines = ParseList<std::string>(engines);
    ann.quantization = ParseList<std::string>(quantization);
    for (const std::string& q : ann.quantization) {
      if (q != "none" && q != "sq8" && q != "sq8-global" && q != "sq8-dim" && q != "sq8-disk" && q != "binary") {
        return Finish(absl::InvalidArgumentError(
            "--quantization " + q + ": expected none, sq8, sq8-global, sq8-dim, sq8-disk or binary"));
      }
    }
    if (ann.metric != "l2" && ann.metric != "cosine" && ann.metric != "dot") {
      return Finish(absl::InvalidArgumentError("--metric " + ann.metric + ": expected l2, cosine or dot"));
    }
    if (!selectivity.empty()) {
      ann.filter_selectivity = ParseList<double>(selectivity);
      return Finish(vj::bench::RunFilteredAnn(ann));
    }
    if (ann.groundtruth.empty()) return Finish(absl::InvalidArgumentError("--groundtruth is required"));
    return Finish(vj::bench::RunAnn(ann));
  }
  if (!clients.empty()) rest.clients = ParseList<size_t>(clients);
  for (size_t at = 0; at < server_args.size();) {
    const size_t end = std::min(server_args.find(' ', at), server_args.size());
    if (end > at) rest.server_args.push_back(server_args.substr(at, end - at));
    at = end + 1;
  }
  if (rest.groundtruth.empty() && rest.max_base == 0) {
    return Finish(absl::InvalidArgumentError("--groundtruth is required unless --max-base is given"));
  }
  return Finish(vj::bench::RunRest(rest));
}

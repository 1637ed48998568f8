// Writes the seed corpora of the binary formats (fuzz/corpus/fuzz_point_record, fuzz_log_batch,
// fuzz_hnsw_snapshot) with the real encoders, so the seeds are what the node writes. Run once after a
// format change: build/fuzz/make_seeds fuzz/corpus
#include <cstdio>
#include <fstream>
#include <string>

#include "cluster/log_batch.h"
#include "core/payload.h"
#include "index/vector_index.h"
#include "storage/point_record.h"

namespace vj {
namespace {

void WriteSeed(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<PointRecord> Records() {
  std::vector<PointRecord> out;
  PointRecord sparse{PointId::Num(9), {{"d", {1.0f, 0.5f}}}, {}};
  sparse.sparse["text"] = SparseVector{{1, 5, 4000000000u}, {0.5f, 1.0f, 2.0f}};
  out.push_back(sparse);
  out.push_back({PointId::Num(1), {{"", {0.5f, -1.0f, 2.0f, 0.0f}}}, {}});
  out.push_back({*PointId::ParseUuid("550e8400-e29b-41d4-a716-446655440000"),
                 {{"a", {1.0f, 2.0f, 3.0f}}, {"b", {-0.25f, 1e-30f}}},
                 ParseJson(R"({"city": "Berlin", "n": 3, "tags": ["x", "y"], "nested": {"k": [1, {"z": null}]}})")
                     ->as_object()});
  out.push_back({PointId::Num(18446744073709551615ull), {}, ParseJson(R"({"f": 0.5, "b": true})")->as_object()});
  return out;
}

}  // namespace
}  // namespace vj

int main(int argc, char** argv) {
  using namespace vj;
  const std::string root = argc > 1 ? argv[1] : "fuzz/corpus";
  const std::vector<PointRecord> records = Records();
  std::vector<LoggedMutation> log;
  for (size_t i = 0; i < records.size(); ++i) {
    WriteSeed(root + "/fuzz_point_record/record" + std::to_string(i), EncodePointRecord(records[i]));
    Mutation upsert{Mutation::Kind::kUpsert, records[i]};
    Mutation del{Mutation::Kind::kDelete, PointRecord{records[i].id, {}, {}}};
    WriteSeed(root + "/fuzz_point_record/upsert" + std::to_string(i), EncodeMutation(upsert));
    WriteSeed(root + "/fuzz_point_record/delete" + std::to_string(i), EncodeMutation(del));
    log.push_back({10 + i, upsert});
    log.push_back({20 + i, del});
  }
  WriteSeed(root + "/fuzz_log_batch/empty", EncodeLogBatch({}));
  WriteSeed(root + "/fuzz_log_batch/one", EncodeLogBatch({log[0]}));
  WriteSeed(root + "/fuzz_log_batch/mixed", EncodeLogBatch(log));
  WriteSeed(root + "/fuzz_log_batch/snapshot_page", EncodeLogBatch({{0, log[2].mutation}, {0, log[4].mutation}}));

  struct Shape {
    const char* name;
    size_t dim;
    Metric metric;
    Quantization quantization;
    size_t points;
  };
  const Shape shapes[] = {{"cosine", 4, Metric::kCosine, Quantization::kNone, 24},
                          {"empty", 3, Metric::kDot, Quantization::kNone, 0},
                          {"euclid_sq8", 3, Metric::kEuclid, Quantization::kScalarInt8, 12},
                          {"manhattan_binary", 8, Metric::kManhattan, Quantization::kBinary, 10}};
  const std::string tmp = root + "/../snapshot.tmp";
  for (const Shape& s : shapes) {
    HnswParams params;
    params.m = 4;
    params.ef_construct = 16;
    params.quantization = s.quantization;
    std::unique_ptr<VectorIndex> index = NewHnswIndex(s.dim, s.metric, params);
    for (size_t i = 0; i < s.points; ++i) {
      std::vector<float> v(s.dim);
      for (size_t d = 0; d < s.dim; ++d) v[d] = static_cast<float>((i * 7 + d * 3) % 11) - 5.0f;
      index->Insert(static_cast<uint32_t>(i * 2), v.data());
    }
    if (s.points > 2) index->Remove(2);
    if (!index->Save(tmp).ok()) return 1;
    WriteSeed(root + "/fuzz_hnsw_snapshot/" + s.name, ReadFile(tmp));
  }
  std::remove(tmp.c_str());
  return 0;
}

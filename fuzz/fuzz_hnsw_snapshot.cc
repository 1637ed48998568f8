// Fuzzes HNSW snapshot loading (index/hnsw_io.cc, LoadHnswIndex): a shard loads its index from a file
// that a crash, a full disk or a bad block can damage. The input is written to a file and loaded with
// the shape its header names (so the fuzzer gets past the shape check); its header and footer CRC32Cs are
// rewritten to match first, so it explores the sections behind the checksums, which Load promises to
// check too ("a valid checksum over a crafted file must not crash either"). A loaded index is then
// searched (graph and exact), read and inserted into: every reference it follows must be in range.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/crc32c.h"
#include "fuzz/fuzz_check.h"
#include "index/vector_index.h"

namespace vj {
namespace {

// Offsets in the 128-byte FileHeader (hnsw_io.cc).
constexpr size_t kHeaderBytes = 128;
constexpr size_t kMetricAt = 12, kDimAt = 16, kMAt = 24, kQuantizationAt = 40, kHeaderCrcAt = 124;
constexpr size_t kMaxFuzzDim = 1024;

template <typename T>
T Get(const std::string& b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}

void PutCrc(std::string& b, size_t at, uint32_t crc) { std::memcpy(b.data() + at, &crc, sizeof(crc)); }

const std::string& SnapshotPath() {
  static const std::string* path = [] {
    std::string dir = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/vjfuzzXXXXXX");
    VJ_FUZZ_CHECK(::mkdtemp(dir.data()) != nullptr, "mkdtemp");
    std::atexit([] { std::filesystem::remove_all(std::filesystem::path(SnapshotPath()).parent_path()); });
    return new std::string(dir + "/index.hnsw");
  }();
  return *path;
}

bool WriteFile(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  return ok;
}

void Exercise(VectorIndex& index, size_t dim) {
  std::vector<float> query(dim);
  for (size_t i = 0; i < dim; ++i) query[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  SearchParams params;
  params.k = 5;
  auto allow_all = [](uint32_t) { return true; };
  auto allow_even = [](uint32_t id) { return id % 2 == 0; };
  for (const std::vector<Neighbor>& found :
       {index.Search(query.data(), params, allow_all), index.Search(query.data(), params, allow_even)}) {
    std::vector<float> v(dim);
    for (const Neighbor& n : found) (void)index.GetVector(n.id, v.data());
  }
  params.exact = true;
  (void)index.Search(query.data(), params, allow_all);
  index.Insert(3, query.data());
  params.exact = false;
  (void)index.Search(query.data(), params, allow_all);
}

}  // namespace
}  // namespace vj

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vj;
  std::string bytes(fuzz::AsText(data, size));
  if (bytes.size() < kHeaderBytes + 4) return 0;
  PutCrc(bytes, kHeaderCrcAt, Crc32c(bytes.data(), kHeaderCrcAt));
  PutCrc(bytes, bytes.size() - 4, Crc32c(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes - 4));
  const uint64_t dim = Get<uint64_t>(bytes, kDimAt);
  const uint32_t metric = Get<uint32_t>(bytes, kMetricAt);
  const uint32_t quantization = Get<uint32_t>(bytes, kQuantizationAt);
  if (dim == 0 || dim > kMaxFuzzDim || metric > static_cast<uint32_t>(Metric::kManhattan) ||
      quantization > static_cast<uint32_t>(Quantization::kBinary)) {
    return 0;
  }
  HnswParams params;
  params.m = Get<uint64_t>(bytes, kMAt);
  params.quantization = static_cast<Quantization>(quantization);
  const std::string& path = SnapshotPath();
  VJ_FUZZ_CHECK(WriteFile(path, bytes), "cannot write the snapshot file");
  StatusOr<std::unique_ptr<VectorIndex>> index = LoadHnswIndex(path, dim, static_cast<Metric>(metric), params);
  if (index.ok()) Exercise(**index, dim);
  return 0;
}

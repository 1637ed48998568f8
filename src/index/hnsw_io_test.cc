// HNSW snapshots (Save / LoadHnswIndex), compaction and float vectors on disk.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "core/file_cipher.h"
#include "core/test_dir.h"
#include "gtest/gtest.h"
#include "index/vector_index.h"

namespace vj {
namespace {

constexpr size_t kDim = 24;
constexpr size_t kN = 3000;

std::vector<float> Vectors(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::vector<float> out(n * kDim);
  for (float& x : out) x = static_cast<float>(pixel(rng) / 16 * 16);  // integers, some ties
  return out;
}

HnswParams Params(Quantization q = Quantization::kNone) {
  HnswParams p;
  p.m = 8;
  p.ef_construct = 64;
  p.quantization = q;
  return p;
}

void Fill(VectorIndex& index, const std::vector<float>& base, size_t threads = 2) {
  std::vector<uint32_t> ids(base.size() / kDim);
  std::vector<const float*> ptrs(ids.size());
  for (uint32_t i = 0; i < ids.size(); ++i) ids[i] = i, ptrs[i] = &base[i * kDim];
  index.InsertBatch(ids, ptrs, threads);
}

std::vector<std::vector<Neighbor>> Answers(const VectorIndex& index, const std::vector<float>& queries,
                                           SearchParams p = {.k = 10, .ef = 64}) {
  std::vector<std::vector<Neighbor>> out;
  for (size_t q = 0; q < queries.size() / kDim; ++q)
    out.push_back(index.Search(&queries[q * kDim], p, nullptr));
  return out;
}

void ExpectSame(const std::vector<std::vector<Neighbor>>& a,
                const std::vector<std::vector<Neighbor>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t q = 0; q < a.size(); ++q) {
    ASSERT_EQ(a[q].size(), b[q].size()) << "query " << q;
    for (size_t i = 0; i < a[q].size(); ++i) {
      EXPECT_EQ(a[q][i].id, b[q][i].id) << "query " << q << " rank " << i;
      EXPECT_EQ(a[q][i].distance, b[q][i].distance);
    }
  }
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(HnswSnapshotTest, RoundTripGivesIdenticalResults) {
  TestDir dir;
  const auto base = Vectors(kN, 1), queries = Vectors(50, 2);
  for (Quantization q : {Quantization::kNone, Quantization::kScalarInt8, Quantization::kBinary}) {
    SCOPED_TRACE(static_cast<int>(q));
    auto index = NewHnswIndex(kDim, Metric::kEuclid, Params(q));
    Fill(*index, base);
    for (uint32_t id = 0; id < 300; id += 3) index->Remove(id);
    index->Insert(1, &base[5 * kDim]);  // a replaced node: a tombstone in the file
    const std::string path = dir.File("index.hnsw");
    ASSERT_TRUE(index->Save(path).ok());
    auto loaded = LoadHnswIndex(path, kDim, Metric::kEuclid, Params(q));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->live_count(), index->live_count());
    EXPECT_EQ((*loaded)->tombstone_count(), index->tombstone_count());
    SearchParams p{.k = 10, .ef = 64, .oversampling = 4.0f};
    ExpectSame(Answers(**loaded, queries, p), Answers(*index, queries, p));
    // The loaded index keeps taking writes.
    (*loaded)->Insert(100000, &base[7 * kDim]);
    EXPECT_EQ((*loaded)->live_count(), index->live_count() + 1);
  }
}

TEST(HnswSnapshotTest, PerDimensionRangesRoundTripAsVersion2) {
  TestDir dir;
  std::mt19937 rng(9);
  std::normal_distribution<float> g;
  std::vector<float> base(kN * kDim), queries(50 * kDim);
  for (float& x : base) x = g(rng);
  for (float& x : queries) x = g(rng);
  for (Sq8Ranges ranges : {Sq8Ranges::kPerDimension, Sq8Ranges::kGlobal}) {
    HnswParams params = Params(Quantization::kScalarInt8);
    params.sq8_ranges = ranges;
    auto index = NewHnswIndex(kDim, Metric::kCosine, params);
    Fill(*index, base);
    const std::string path = dir.File("ranges.hnsw");
    ASSERT_TRUE(index->Save(path).ok());
    // Version 2 only where the ranges section is needed; a global range is still written as version 1.
    const std::string bytes = ReadAll(path);
    ASSERT_GT(bytes.size(), 12u);
    EXPECT_EQ(bytes[8], ranges == Sq8Ranges::kPerDimension ? 2 : 1);
    // The snapshot's form wins over the parameters' (an index trained per dimension stays so).
    HnswParams other = params;
    other.sq8_ranges = ranges == Sq8Ranges::kGlobal ? Sq8Ranges::kPerDimension : Sq8Ranges::kGlobal;
    auto loaded = LoadHnswIndex(path, kDim, Metric::kCosine, other);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    SearchParams p{.k = 10, .ef = 64, .rescore = false};  // code distances: equal only with equal ranges
    ExpectSame(Answers(**loaded, queries, p), Answers(*index, queries, p));
    // A flipped byte in the ranges section (just before the footer) is caught.
    if (ranges == Sq8Ranges::kPerDimension) {
      std::string damaged = bytes;
      damaged[damaged.size() - 4 - 3] ^= 0x40;
      WriteAll(path, damaged);
      auto bad = LoadHnswIndex(path, kDim, Metric::kCosine, params);
      EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST(HnswSnapshotTest, EmptyIndexRoundTrips) {
  TestDir dir;
  auto index = NewHnswIndex(kDim, Metric::kCosine, Params());
  ASSERT_TRUE(index->Save(dir.File("e")).ok());
  auto loaded = LoadHnswIndex(dir.File("e"), kDim, Metric::kCosine, Params());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->live_count(), 0u);
  const auto v = Vectors(1, 3);
  EXPECT_TRUE((*loaded)->Search(v.data(), {.k = 3}, nullptr).empty());
}

TEST(HnswSnapshotTest, DamagedFilesAreDataLossNeverACrash) {
  TestDir dir;
  const auto base = Vectors(1200, 4);
  auto index = NewHnswIndex(kDim, Metric::kEuclid, Params(Quantization::kScalarInt8));
  Fill(*index, base);
  const std::string path = dir.File("index.hnsw");
  ASSERT_TRUE(index->Save(path).ok());
  const std::string good = ReadAll(path);
  const std::string bad = dir.File("bad.hnsw");
  auto load = [&] {
    return LoadHnswIndex(bad, kDim, Metric::kEuclid, Params(Quantization::kScalarInt8));
  };

  // Truncated anywhere, including inside the header, and empty.
  for (size_t size : {size_t{0}, size_t{7}, size_t{100}, size_t{128}, size_t{129}, good.size() / 2,
                      good.size() - 4, good.size() - 1}) {
    WriteAll(bad, good.substr(0, size));
    EXPECT_EQ(load().status().code(), absl::StatusCode::kDataLoss) << "size " << size;
  }
  WriteAll(bad, good + "x");
  EXPECT_EQ(load().status().code(), absl::StatusCode::kDataLoss);
  // One flipped bit anywhere: header fields, graph, vectors, footer.
  std::mt19937 rng(9);
  std::vector<size_t> offsets = {0, 9, 16, 40, 60, 124, 130, good.size() / 3, good.size() - 2};
  for (int i = 0; i < 40; ++i) offsets.push_back(rng() % good.size());
  for (size_t at : offsets) {
    std::string flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ (1 << (rng() % 8)));
    WriteAll(bad, flipped);
    EXPECT_EQ(load().status().code(), absl::StatusCode::kDataLoss) << "byte " << at;
  }
  EXPECT_EQ(LoadHnswIndex(dir.File("missing"), kDim, Metric::kEuclid, Params()).status().code(),
            absl::StatusCode::kNotFound);
  // Another shape is not damage: the caller rebuilds with its parameters.
  EXPECT_EQ(
      LoadHnswIndex(path, kDim + 1, Metric::kEuclid, Params(Quantization::kScalarInt8)).status().code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(LoadHnswIndex(path, kDim, Metric::kEuclid, Params()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(LoadHnswIndex(path, kDim, Metric::kEuclid, Params(Quantization::kScalarInt8)).ok());
}

TEST(HnswCompactTest, DropsTombstonesKeepsResultsAndFreesMemory) {
  const auto base = Vectors(kN, 5), queries = Vectors(50, 6);
  for (Quantization q : {Quantization::kNone, Quantization::kScalarInt8}) {
    auto index = NewHnswIndex(kDim, Metric::kEuclid, Params(q));
    Fill(*index, base);
    // Remove half, replace a tenth: 60% of the nodes become tombstones.
    for (uint32_t id = 0; id < kN; id += 2) index->Remove(id);
    for (uint32_t id = 1; id < kN; id += 10) index->Insert(id, &base[((id + 7) % kN) * kDim]);
    ASSERT_GT(index->tombstone_count(), kN / 2);
    const size_t live = index->live_count();
    const size_t before = index->memory_bytes();
    auto exact_before = Answers(*index, queries, {.k = 10, .exact = true});
    auto approx_before = Answers(*index, queries, {.k = 10, .ef = 128});

    ASSERT_TRUE(index->Compact(2).ok());
    EXPECT_EQ(index->tombstone_count(), 0u);
    EXPECT_EQ(index->live_count(), live);
    EXPECT_LT(index->memory_bytes(), before * 6 / 10);
    ExpectSame(Answers(*index, queries, {.k = 10, .exact = true}), exact_before);
    // The rebuilt graph finds what the old one found (recall against exact stays as high).
    size_t hits_before = 0, hits_after = 0, total = 0;
    auto approx_after = Answers(*index, queries, {.k = 10, .ef = 128});
    for (size_t i = 0; i < queries.size() / kDim; ++i) {
      const float kth = exact_before[i].back().distance;
      for (const Neighbor& n : approx_before[i]) hits_before += n.distance <= kth;
      for (const Neighbor& n : approx_after[i]) hits_after += n.distance <= kth;
      total += exact_before[i].size();
    }
    // The rebuild runs on two threads, so the new graph varies from run to run: allow 2%.
    EXPECT_GE(hits_after + total / 50, hits_before);
    EXPECT_GE(double(hits_after) / double(total), 0.95);
    float v[kDim];
    EXPECT_FALSE(index->GetVector(0, v));
    ASSERT_TRUE(index->GetVector(1, v));
    EXPECT_EQ(std::vector<float>(v, v + kDim), std::vector<float>(&base[8 * kDim], &base[9 * kDim]));
  }
}

TEST(HnswCompactTest, SearchesDuringCompactionStayCorrect) {
  const auto base = Vectors(kN, 7);
  auto index = NewHnswIndex(kDim, Metric::kEuclid, Params());
  Fill(*index, base);
  for (uint32_t id = 0; id < kN; id += 3) index->Remove(id);
  std::atomic<bool> done{false};
  // Points the graph finds on its own before compaction; the reader checks those.
  std::vector<uint8_t> found(kN, 0);
  for (uint32_t q = 1; q < kN; ++q) {
    auto got = index->Search(&base[q * kDim], {.k = 5, .ef = 64}, nullptr);
    found[q] = q % 3 != 0 && !got.empty() && got[0].distance == 0.0f;
  }
  std::atomic<size_t> bad{0}, searches{0};
  std::thread reader([&] {
    for (size_t q = 1; !done.load(); q = (q + 1) % kN) {
      if (!found[q]) continue;
      auto got = index->Search(&base[q * kDim], {.k = 5, .ef = 64}, nullptr);
      // Every point searched for is live and is its own nearest neighbour at distance 0.
      if (got.empty() || got[0].distance != 0.0f) ++bad;
      for (const Neighbor& n : got) bad += n.id % 3 == 0;
      ++searches;
    }
  });
  ASSERT_TRUE(index->Compact(1).ok());
  done = true;
  reader.join();
  EXPECT_GT(searches.load(), 0u);
  EXPECT_EQ(bad.load(), 0u);
}

TEST(HnswOnDiskTest, VectorsLiveInTheFileAndSearchMatchesInMemory) {
  TestDir dir;
  const auto base = Vectors(kN, 8), queries = Vectors(50, 9);
  HnswParams mem = Params(Quantization::kScalarInt8);
  HnswParams disk = mem;
  disk.vectors_on_disk = true;
  disk.storage_path = dir.File("vectors.bin");
  auto in_memory = NewHnswIndex(kDim, Metric::kEuclid, mem);
  auto created = CreateHnswIndex(kDim, Metric::kEuclid, disk);
  ASSERT_TRUE(created.ok()) << created.status();
  auto& on_disk = *created;
  Fill(*in_memory, base, 1);
  Fill(*on_disk, base, 1);
  EXPECT_TRUE(std::filesystem::exists(disk.storage_path));
  EXPECT_GE(std::filesystem::file_size(disk.storage_path), kN * kDim * sizeof(float));
  EXPECT_LT(on_disk->memory_bytes() + kN * kDim * sizeof(float) / 2, in_memory->memory_bytes());
  ExpectSame(Answers(*on_disk, queries), Answers(*in_memory, queries));
  float v[kDim];
  ASSERT_TRUE(on_disk->GetVector(17, v));
  EXPECT_EQ(std::vector<float>(v, v + kDim), std::vector<float>(&base[17 * kDim], &base[18 * kDim]));

  // Compaction moves the vectors to a new file under the same name; a snapshot loads back on disk.
  for (uint32_t id = 0; id < kN; id += 2) on_disk->Remove(id);
  ASSERT_TRUE(on_disk->Compact(2).ok());
  EXPECT_TRUE(std::filesystem::exists(disk.storage_path));
  EXPECT_FALSE(std::filesystem::exists(disk.storage_path + ".compact"));
  ASSERT_TRUE(on_disk->GetVector(17, v));
  EXPECT_EQ(v[3], base[17 * kDim + 3]);
  ASSERT_TRUE(on_disk->Save(dir.File("snap")).ok());
  auto results = Answers(*on_disk, queries);
  on_disk.reset();
  EXPECT_FALSE(std::filesystem::exists(disk.storage_path));  // scratch: removed with the index
  auto loaded = LoadHnswIndex(dir.File("snap"), kDim, Metric::kEuclid, disk);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(std::filesystem::exists(disk.storage_path));
  ExpectSame(Answers(**loaded, queries), results);
}

// Encryption at rest: under a directory with a data key, vectors_on_disk keeps the floats in memory (a
// mapped file would be plaintext), and snapshots are sealed: no vector's bytes in the file, and no load
// without the key.
TEST(HnswOnDiskTest, EncryptedDirectoryKeepsVectorsInMemoryAndSealsSnapshots) {
  TestDir dir;
  auto key = std::make_shared<DataKey>();
  key->id = "index-test";
  ASSERT_TRUE(RandomBytes(key->bytes.data(), key->bytes.size()).ok());
  RegisterDirectoryKey(dir.path(), key);
  const auto base = Vectors(kN, 8), queries = Vectors(50, 9);
  HnswParams mem = Params(Quantization::kScalarInt8);
  HnswParams disk = mem;
  disk.vectors_on_disk = true;
  disk.storage_path = dir.File("vectors.bin");
  auto in_memory = NewHnswIndex(kDim, Metric::kEuclid, mem);
  auto created = CreateHnswIndex(kDim, Metric::kEuclid, disk);
  ASSERT_TRUE(created.ok()) << created.status();
  Fill(*in_memory, base, 1);
  Fill(**created, base, 1);
  EXPECT_FALSE(std::filesystem::exists(disk.storage_path));
  ExpectSame(Answers(**created, queries), Answers(*in_memory, queries));

  ASSERT_TRUE((*created)->Save(dir.File("snap")).ok());
  std::ifstream in(dir.File("snap"), std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string vector17(reinterpret_cast<const char*>(&base[17 * kDim]), kDim * sizeof(float));
  EXPECT_EQ(raw.find(vector17), std::string::npos);
  auto loaded = LoadHnswIndex(dir.File("snap"), kDim, Metric::kEuclid, disk);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSame(Answers(**loaded, queries), Answers(*in_memory, queries));
  UnregisterDirectoryKey(dir.path());
  EXPECT_EQ(LoadHnswIndex(dir.File("snap"), kDim, Metric::kEuclid, disk).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(HnswOnDiskTest, BadConfigurationsAreErrors) {
  HnswParams p = Params();
  p.vectors_on_disk = true;
  p.storage_path = "/tmp/unused";
  EXPECT_EQ(CreateHnswIndex(kDim, Metric::kEuclid, p).status().code(),
            absl::StatusCode::kInvalidArgument);
  p.quantization = Quantization::kScalarInt8;
  p.storage_path = "";
  EXPECT_EQ(CreateHnswIndex(kDim, Metric::kEuclid, p).status().code(),
            absl::StatusCode::kInvalidArgument);
  p.storage_path = "/nonexistent-dir/vectors";
  EXPECT_FALSE(CreateHnswIndex(kDim, Metric::kEuclid, p).ok());
}

}  // namespace
}  // namespace vj

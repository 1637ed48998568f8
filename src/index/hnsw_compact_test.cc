// HnswIndex::Compact while writers go on: every write made during the rebuild reaches the new graph.
#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "index/vector_index.h"

namespace vj {
namespace {

constexpr size_t kDim = 16;

std::vector<float> RandomVector(std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kDim);
  for (float& x : v) x = normal(rng);
  return v;
}

HnswParams Params(Quantization q) {
  HnswParams p;
  p.m = 8;
  p.ef_construct = 48;
  p.quantization = q;
  return p;
}

// Upserts, replacements and deletes from one thread while another compacts: afterwards the index holds
// exactly the live points, each with its last vector, each found by a search for it.
TEST(HnswCompactTest, WritesDuringCompactionAreKept) {
  for (Quantization q : {Quantization::kNone, Quantization::kScalarInt8}) {
    SCOPED_TRACE(static_cast<int>(q));
    auto index = NewHnswIndex(kDim, Metric::kEuclid, Params(q));
    std::mt19937 rng(11);
    std::map<uint32_t, std::vector<float>> expected;  // id -> its vector; absent = deleted
    constexpr uint32_t kInitial = 6000;
    {
      std::vector<std::vector<float>> vectors;
      std::vector<uint32_t> ids;
      std::vector<const float*> ptrs;
      for (uint32_t id = 0; id < kInitial; ++id) vectors.push_back(RandomVector(rng));
      for (uint32_t id = 0; id < kInitial; ++id) {
        ids.push_back(id);
        ptrs.push_back(vectors[id].data());
        expected[id] = vectors[id];
      }
      index->InsertBatch(ids, ptrs, 2);
    }
    for (uint32_t id = 0; id < kInitial; id += 2) {
      index->Remove(id);
      expected.erase(id);
    }
    ASSERT_GT(index->tombstone_count(), kInitial / 3);

    std::atomic<bool> compacting{true};
    std::atomic<size_t> writes_during{0};
    size_t tombstoning_writes = 0;  // replacements and deletes, each leaves at most one tombstone
    std::thread writer([&] {
      std::mt19937 wrng(12);
      uint32_t next = kInitial;
      // Keep writing until the compaction is over, then a little more.
      for (size_t after = 0; after < 200;) {
        const bool during = compacting.load();
        const uint32_t op = wrng() % 4;
        if (op <= 1) {  // a new point
          auto v = RandomVector(wrng);
          index->Insert(next, v.data());
          expected[next++] = v;
        } else if (op == 2) {  // a new vector for a point (a tombstone)
          const uint32_t id = 1 + 2 * (wrng() % (kInitial / 2));
          auto v = RandomVector(wrng);
          index->Insert(id, v.data());
          expected[id] = v;
          ++tombstoning_writes;
        } else {  // a delete, of an old point or of one written meanwhile
          const uint32_t id = wrng() % next;
          index->Remove(id);
          expected.erase(id);
          ++tombstoning_writes;
        }
        if (during) ++writes_during;
        if (!during) ++after;
      }
    });
    ASSERT_TRUE(index->Compact(1).ok());
    compacting = false;
    writer.join();
    std::printf("writes during the compaction: %zu\n", writes_during.load());

    EXPECT_EQ(index->live_count(), expected.size());
    // The tombstones from before are gone; only writes during and after the rebuild left some.
    EXPECT_LE(index->tombstone_count(), tombstoning_writes);
    float v[kDim];
    size_t found = 0;
    const uint32_t limit = expected.rbegin()->first + 1;
    for (uint32_t id = 0; id < limit; ++id) {
      auto it = expected.find(id);
      if (it == expected.end()) {
        EXPECT_FALSE(index->GetVector(id, v)) << "deleted id " << id;
        continue;
      }
      ASSERT_TRUE(index->GetVector(id, v)) << "live id " << id;
      EXPECT_EQ(std::vector<float>(v, v + kDim), it->second) << "id " << id;
      auto got = index->Search(it->second.data(), {.k = 1, .ef = 64}, nullptr);
      found += !got.empty() && got[0].id == id;
    }
    // The graph walk finds (nearly) every point by its own vector: the rebuilt graph is connected.
    EXPECT_GE(found * 100, expected.size() * 98) << found << " of " << expected.size();
  }
}

// A cancelled compaction leaves the index as it was.
TEST(HnswCompactTest, CancelledCompactionChangesNothing) {
  auto index = NewHnswIndex(kDim, Metric::kEuclid, Params(Quantization::kNone));
  std::mt19937 rng(13);
  std::vector<std::vector<float>> vectors;
  for (uint32_t id = 0; id < 2000; ++id) {
    vectors.push_back(RandomVector(rng));
    index->Insert(id, vectors.back().data());
  }
  for (uint32_t id = 0; id < 2000; id += 2) index->Remove(id);
  const size_t tombstones = index->tombstone_count();
  std::atomic<bool> cancel{true};
  EXPECT_EQ(index->Compact(1, &cancel).code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(index->tombstone_count(), tombstones);
  EXPECT_EQ(index->live_count(), 1000u);
  // Writes after a cancelled compaction are not journalled forever, and a later one completes.
  index->Insert(5000, vectors[0].data());
  EXPECT_TRUE(index->Compact(1).ok());
  EXPECT_EQ(index->tombstone_count(), 0u);
  EXPECT_EQ(index->live_count(), 1001u);
}

}  // namespace
}  // namespace vj

// The in-process cost of encryption at rest, without HTTP and JSON in the way (bench/encryption_bench.py
// measures through the server): the raw ciphers' throughput, PointStore ingest (one synced RocksDB
// write batch per --batch points) with and without a data key, and point reads after a flush (from
// the SST files through RocksDB's block cache, then with every block read from the file again).
// Runs alternate plain / encrypted; prints every run, the medians and the ratios. Nothing is asserted.
//
//   build/vjvector-encryption-bench [points=20000] [dim=128] [rounds=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/durable_file.h"
#include "core/file_cipher.h"
#include "storage/point_store.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Process CPU seconds (every thread, RocksDB's flushes and compactions included): on a shared machine
// the CPU cost per point is steadier than wall-clock throughput.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Result {
  double ingest_per_s;
  double ingest_cpu_us;  // CPU microseconds per point
  double cold_get_per_s;  // first reads after the flush: blocks read from the files (and decrypted)
  double warm_get_per_s;  // the same reads again: from RocksDB's block cache, as from memory
};

Result OneRun(bool encrypted, size_t points, size_t dim, size_t batch, uint32_t seed) {
  char tmpl[] = "/tmp/vj-enc-store-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  if (encrypted) {
    auto key = std::make_shared<vj::DataKey>();
    key->id = "bench";
    (void)vj::RandomBytes(key->bytes.data(), key->bytes.size());
    vj::RegisterDirectoryKey(dir, key);
  }
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss;
  Result r{};
  {
    auto store = vj::PointStore::Open(dir + "/store", {});
    if (!store.ok()) {
      std::fprintf(stderr, "open: %s\n", std::string(store.status().message()).c_str());
      std::exit(1);
    }
    const auto start = Clock::now();
    const double cpu_start = CpuSeconds();
    for (size_t first = 0; first < points; first += batch) {
      std::vector<vj::Mutation> mutations;
      for (size_t i = first; i < std::min(points, first + batch); ++i) {
        vj::Mutation m;
        m.record.id = vj::PointId::Num(i);
        std::vector<float>& v = m.record.vectors[""];
        v.resize(dim);
        for (float& x : v) x = gauss(rng);
        m.record.payload["text"] = "document " + std::to_string(i) + " with some words in it";
        mutations.push_back(std::move(m));
      }
      uint64_t last = 0;
      if (!(*store)->Write(mutations, /*sync=*/true, &last).ok()) std::exit(1);
    }
    if (!(*store)->Flush().ok()) std::exit(1);
    r.ingest_per_s = points / Seconds(start);
    r.ingest_cpu_us = (CpuSeconds() - cpu_start) * 1e6 / points;
    std::vector<size_t> order(points);
    for (size_t i = 0; i < points; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (double* out : {&r.cold_get_per_s, &r.warm_get_per_s}) {
      const auto get_start = Clock::now();
      for (size_t id : order) {
        auto got = (*store)->Get(vj::PointId::Num(id));
        if (!got.ok() || !got->has_value()) std::exit(1);
      }
      *out = points / Seconds(get_start);
    }
  }
  if (encrypted) vj::UnregisterDirectoryKey(dir);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return r;
}

void CipherThroughput() {
  vj::DataKey key;
  key.id = "bench";
  (void)vj::RandomBytes(key.bytes.data(), key.bytes.size());
  uint8_t iv[16] = {};
  std::string buffer(4096, 'x');
  const size_t rounds = 100000;
  double start = CpuSeconds();
  for (size_t i = 0; i < rounds; ++i) (void)vj::AesCtrXor(key.bytes.data(), iv, i * 4096, buffer.data(), buffer.size());
  const double ctr = rounds * 4096.0 / (CpuSeconds() - start) / 1e9;
  std::string big(64 << 20, 'y');
  (void)vj::SealBytes(key, "warm-up");
  start = CpuSeconds();
  auto sealed = vj::SealBytes(key, big);
  const double gcm = big.size() / (CpuSeconds() - start) / 1e9;
  std::printf("per CPU second: AES-256-CTR (4 KiB calls, as RocksDB makes them) %.2f GB/s; AES-256-GCM "
              "(SealBytes of 64 MiB, allocation and copy included) %.2f GB/s\n",
              ctr, gcm);
  (void)sealed;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t points = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  const size_t dim = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 128;
  const size_t rounds = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 5;
  CipherThroughput();
  if (rounds == 0) return 0;
  std::vector<double> ingest[2], cpu[2], cold[2], warm[2];
  for (size_t round = 0; round < rounds; ++round) {
    for (int k = 0; k < 2; ++k) {
      const bool encrypted = (round % 2 == 0) ? k == 1 : k == 0;
      Result r = OneRun(encrypted, points, dim, 256, static_cast<uint32_t>(round));
      ingest[encrypted].push_back(r.ingest_per_s);
      cpu[encrypted].push_back(r.ingest_cpu_us);
      cold[encrypted].push_back(r.cold_get_per_s);
      warm[encrypted].push_back(r.warm_get_per_s);
      std::printf("round %zu %s: ingest %.0f points/s (%.1f CPU us/point), gets cold %.0f/s, warm %.0f/s\n",
                  round, encrypted ? "encrypted" : "plain    ", r.ingest_per_s, r.ingest_cpu_us, r.cold_get_per_s,
                  r.warm_get_per_s);
      std::fflush(stdout);
    }
  }
  for (int e = 0; e < 2; ++e) {
    std::printf("median %s: ingest %.0f points/s (%.1f CPU us/point), gets cold %.0f/s, warm %.0f/s\n",
                e ? "encrypted" : "plain    ", Median(ingest[e]), Median(cpu[e]), Median(cold[e]), Median(warm[e]));
  }
  std::printf("encrypted/plain: ingest throughput %.3f, ingest CPU per point %.3f, cold gets %.3f, warm gets %.3f\n",
              Median(ingest[1]) / Median(ingest[0]), Median(cpu[1]) / Median(cpu[0]),
              Median(cold[1]) / Median(cold[0]), Median(warm[1]) / Median(warm[0]));
  return 0;
}

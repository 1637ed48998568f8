// Bytes an incremental backup stores after a fraction of the points changed, in process (the same
// CreateBackup the node runs for POST /vjvector/backups; bench/backup_bench.py measures through the
// server and the CLI): a Database with one collection of `shards` shards holding `points` random
// vectors of `dim` floats (Cosine, HNSW) and a small payload; a full backup to a fresh directory
// target; a second with nothing changed; `changed_pct` % of the points overwritten with new vectors;
// a third. Prints each backup's size, bytes and chunks stored, and where the third's new chunks are
// (store files or index files). Nothing is asserted.
//
//   build/vjvector-backup-bench [points=50000] [dim=128] [shards=2] [changed_pct=1] [chunk_kib=4096]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "backup/backup.h"

namespace {

vj::StatusOr<vj::BackupStats> Backup(vj::Database& db, vj::BackupTarget& target, uint64_t chunk, const char* label) {
  vj::BackupOptions options;
  options.chunk_bytes = chunk;
  auto stats = vj::CreateBackup(db, target, options);
  if (!stats.ok()) {
    std::fprintf(stderr, "backup failed: %s\n", vj::StatusMessage(stats.status()).c_str());
    std::exit(1);
  }
  std::printf("%-28s backup %8.1f MiB  stored %8.1f MiB (%5.1f%%, %zu/%zu chunks)  %.2f s\n", label,
              stats->bytes / 1048576.0, stats->bytes_uploaded / 1048576.0,
              100.0 * stats->bytes_uploaded / std::max<uint64_t>(1, stats->bytes), stats->chunks_uploaded,
              stats->chunks, stats->seconds);
  return stats;
}

}  // namespace

int main(int argc, char** argv) {
  const int points = argc > 1 ? std::atoi(argv[1]) : 50000;
  const int dim = argc > 2 ? std::atoi(argv[2]) : 128;
  const uint32_t shards = argc > 3 ? std::atoi(argv[3]) : 2;
  const double changed_pct = argc > 4 ? std::atof(argv[4]) : 1.0;
  const uint64_t chunk = (argc > 5 ? std::atoll(argv[5]) : 4096) * 1024ull;
  const std::string dir = (std::filesystem::temp_directory_path() / "vj-backup-bytes-bench").string();
  std::filesystem::remove_all(dir);
  vj::DatabaseOptions options;
  options.data_dir = dir + "/node";
  auto db = vj::Database::Open(options);
  if (!db.ok()) return 1;
  vj::CollectionConfig config;
  config.vectors[""] = vj::VectorParams{static_cast<uint32_t>(dim), vj::Metric::kCosine, std::nullopt, false, std::nullopt};
  config.shard_number = shards;
  if (!(*db)->CreateCollection("b", config).ok()) return 1;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  auto make = [&](int id, const char* tag) {
    vj::PointInput p;
    p.id = vj::PointId::Num(id);
    std::vector<float> v(dim);
    for (float& x : v) x = uniform(rng);
    p.vectors[""] = std::move(v);
    p.payload = vj::Payload(boost::json::object{{"i", id}, {"tag", tag}});
    return p;
  };
  auto collection = *(*db)->Get("b");
  for (int first = 0; first < points; first += 1000) {
    std::vector<vj::PointInput> batch;
    for (int i = first; i < std::min(points, first + 1000); ++i) batch.push_back(make(i, "loaded"));
    if (!collection->Upsert(std::move(batch), true, vj::RequestContext()).ok()) return 1;
  }
  std::printf("%d x %d-d points, %u shards, chunks of %llu KiB\n", points, dim, shards,
              static_cast<unsigned long long>(chunk / 1024));
  auto target = vj::NewDirectoryTarget(dir + "/target");
  auto first = Backup(**db, *target, chunk, "1. full backup");
  (void)Backup(**db, *target, chunk, "2. nothing changed");
  const int changed = std::max(1, static_cast<int>(points * changed_pct / 100));
  std::vector<int> ids(points);
  for (int i = 0; i < points; ++i) ids[i] = i;
  std::shuffle(ids.begin(), ids.end(), rng);
  std::vector<vj::PointInput> batch;
  for (int k = 0; k < changed; ++k) batch.push_back(make(ids[k], "changed"));
  if (!collection->Upsert(std::move(batch), true, vj::RequestContext()).ok()) return 1;
  char label[64];
  std::snprintf(label, sizeof label, "3. after %g%% changed", changed_pct);
  auto third = Backup(**db, *target, chunk, label);
  auto before = vj::ReadBackup(*target, first->id);
  auto after = vj::ReadBackup(*target, third->id);
  std::set<std::string> known;
  for (const auto& c : before->collections) {
    for (const auto& f : c.files) known.insert(f.chunks.begin(), f.chunks.end());
  }
  for (const char* kind : {"/store/", "/index/"}) {
    size_t fresh = 0, total = 0;
    uint64_t bytes = 0;
    for (const auto& c : after->collections) {
      for (const auto& f : c.files) {
        if (f.path.find(kind) == std::string::npos) continue;
        total += f.chunks.size();
        for (size_t i = 0; i < f.chunks.size(); ++i) {
          if (known.count(f.chunks[i]) == 0) {
            ++fresh;
            bytes += std::min<uint64_t>(chunk, f.size - i * chunk);
          }
        }
      }
    }
    std::printf("   third backup, %-6s files: %zu of %zu chunks new since the first (%.1f MiB)\n", kind + 1, fresh,
                total, bytes / 1048576.0);
  }
  collection.reset();
  db->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

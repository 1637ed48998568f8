// Backups to a directory target with a real Database: full then incremental backups, restore into a
// fresh data directory, verify catching a corrupt blob, prune. (The S3 target is tested end to end
// against a real S3-compatible server: tests/e2e/test_backup.py.)
#include "backup/backup.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "backup/backup_manifest.h"
#include "core/test_dir.h"

namespace vj {
namespace {
namespace fs = std::filesystem;

CollectionConfig Config(uint32_t shards) {
  CollectionConfig config;
  config.vectors[""] = VectorParams{4, Metric::kEuclid, std::nullopt, false, std::nullopt};
  config.shard_number = shards;
  return config;
}

std::vector<PointInput> Points(int from, int to, float shift = 0) {
  std::vector<PointInput> points;
  for (int i = from; i < to; ++i) {
    PointInput p;
    p.id = PointId::Num(i);
    p.vectors[""] = {static_cast<float>(i) + shift, 1, 2, 3};
    points.push_back(std::move(p));
  }
  return points;
}

// Every point of collection `name`, in id order, as (id, first vector component).
std::vector<std::pair<std::string, float>> Dump(Database& db, const std::string& name) {
  std::vector<std::pair<std::string, float>> out;
  auto c = db.Get(name);
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return out;
  ScrollRequest request;
  request.limit = 1000;
  request.with_vector.all = true;
  for (;;) {
    auto page = (*c)->Scroll(request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    for (const PointView& p : page->points) out.emplace_back(p.id.ToString(), p.vectors.begin()->second[0]);
    if (!page->next_page_offset) break;
    request.offset = page->next_page_offset;
  }
  return out;
}

TEST(BackupManifestTest, RoundTripsAndRefusesUnsafeManifests) {
  BackupManifest m;
  m.id = "20261207T120000Z-0a1b2c3d";
  m.created_at = "2026-12-07T12:00:00Z";
  m.chunk_bytes = 10;
  BackupCollection c;
  c.name = "docs";
  c.shards = {{0, 12, 3}, {1, 7, 2}};
  c.files = {{"shards/0/store/CURRENT", 16, std::string(64, 'a'), {std::string(64, 'b'), std::string(64, 'c')}}};
  m.collections.push_back(c);
  auto back = DecodeBackupManifest(EncodeBackupManifest(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->collections[0].shards[1].sequence, 7u);
  EXPECT_EQ(back->collections[0].files[0].chunks.size(), 2u);
  EXPECT_EQ(back->Points(), 5u);

  const std::string good = EncodeBackupManifest(m);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    return DecodeBackupManifest(text).status();
  };
  EXPECT_EQ(with("shards/0/store/CURRENT", "../../etc/passwd").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(with("\"docs\"", "\"../x\"").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(with("\"format_version\":1", "\"format_version\":9").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(with("\"size\":16", "\"size\":26").code(), absl::StatusCode::kDataLoss);  // 3 chunks needed
  EXPECT_EQ(with(std::string(64, 'b'), "BB").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBackupManifest("[]").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(ValidateBackupId("../x").ok());
  EXPECT_TRUE(ValidateBackupId(m.id).ok());
}

TEST(BackupTargetTest, UriForms) {
  S3Settings none;
  EXPECT_TRUE(OpenBackupTarget("/tmp/x", none).ok());
  EXPECT_EQ((*OpenBackupTarget("file:///tmp/x/", none))->Describe(), "file:///tmp/x");
  EXPECT_EQ(OpenBackupTarget("ftp://x", none).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenBackupTarget("", none).status().code(), absl::StatusCode::kInvalidArgument);
  // s3:// needs an endpoint and credentials; the secret never shows in messages.
  auto no_endpoint = OpenBackupTarget("s3://b/p", none);
  EXPECT_EQ(no_endpoint.status().code(), absl::StatusCode::kInvalidArgument);
  S3Settings s3{"http://127.0.0.1:1", "us-east-1", "AKID", "very-secret"};
  auto target = OpenBackupTarget("s3://bucket/some/prefix/", s3);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ((*target)->Describe(), "s3://bucket/some/prefix");
  auto refused = (*target)->Get("backups/x.json");  // nothing listens on port 1
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(std::string(refused.status().message()).find("very-secret"), std::string::npos);
}

TEST(BackupTest, IncrementalBackupRestoreVerifyPrune) {
  TestDir dir;
  DatabaseOptions options;
  options.data_dir = dir.File("node");
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->CreateCollection("a", Config(2)).ok());
  ASSERT_TRUE((*db)->CreateCollection("b", Config(1)).ok());
  ASSERT_TRUE((*(*db)->Get("a"))->Upsert(Points(0, 2000), true, RequestContext()).ok());
  ASSERT_TRUE((*(*db)->Get("b"))->Upsert(Points(0, 50), true, RequestContext()).ok());
  ASSERT_TRUE((*db)->UpdateAliases({AliasAction{AliasAction::Kind::kCreate, "latest", "a", ""}}).ok());

  auto target = NewDirectoryTarget(dir.File("backups"));
  BackupOptions backup_options;
  backup_options.chunk_bytes = 64 << 10;
  auto first = CreateBackup(**db, *target, backup_options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->collections, 2u);
  EXPECT_EQ(first->points, 2050u);
  EXPECT_GT(first->bytes_uploaded, 0u);
  EXPECT_LE(first->bytes_uploaded, first->bytes);

  // Unchanged: the second backup stores nothing new... or only what the checkpoint itself rewrote.
  ASSERT_TRUE((*(*db)->Get("a"))->Upsert(Points(0, 20, 0.5f), true, RequestContext()).ok());  // 1% of "a" changes
  ASSERT_TRUE((*(*db)->Get("a"))->Upsert(Points(5000, 5010), true, RequestContext()).ok());
  auto second = CreateBackup(**db, *target, backup_options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->points, 2060u);
  EXPECT_LT(second->bytes_uploaded, second->bytes);
  EXPECT_LT(second->chunks_uploaded, second->chunks);

  auto listed = ListBackups(*target);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].id, second->id);
  EXPECT_EQ((*listed)[1].collections[0].shards.size(), 2u);

  // Restore the first backup into a fresh data directory: the node opens it and serves what was backed up.
  const auto before_change = Dump(**db, "b");
  ASSERT_TRUE(RestoreBackup(*target, first->id, dir.File("restored")).ok());
  EXPECT_EQ(RestoreBackup(*target, first->id, dir.File("restored")).code(), absl::StatusCode::kFailedPrecondition);
  {
    DatabaseOptions restored_options;
    restored_options.data_dir = dir.File("restored");
    auto restored = Database::Open(restored_options);
    ASSERT_TRUE(restored.ok()) << restored.status();
    auto a = Dump(**restored, "a");
    ASSERT_EQ(a.size(), 2000u);
    for (const auto& [id, x] : a) EXPECT_EQ(x, std::stof(id)) << id;  // the values before the change
    EXPECT_EQ(Dump(**restored, "b"), before_change);
    EXPECT_EQ((*restored)->ResolveAlias("latest"), std::optional<std::string>("a"));
  }
  // The second one holds the change.
  ASSERT_TRUE(RestoreBackup(*target, second->id, dir.File("restored2")).ok());
  {
    DatabaseOptions restored_options;
    restored_options.data_dir = dir.File("restored2");
    auto restored = Database::Open(restored_options);
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(Dump(**restored, "a"), Dump(**db, "a"));
  }

  auto verified = VerifyBackup(*target, second->id, dir.File("scratch"));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->points, 2060u);
  EXPECT_EQ(verified->shards_opened, 3u);
  EXPECT_FALSE(fs::exists(dir.File("scratch")));

  // Prune to the newest: the first's manifest goes, and the blobs only it used.
  auto pruned = PruneBackups(*target, 1);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->deleted_backups, std::vector<std::string>{first->id});
  EXPECT_GT(pruned->blobs_deleted, 0u);
  EXPECT_EQ(ReadBackup(*target, first->id).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(VerifyBackup(*target, second->id, dir.File("scratch")).ok());

  // A corrupt blob is caught, naming the blob.
  const std::string blob = BlobKey((*listed)[1].collections[0].files.back().chunks[0]);
  {
    std::fstream f(dir.File("backups/" + blob), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('\x42');
    f.put('\x17');
  }
  auto corrupt = VerifyBackup(*target, second->id, dir.File("scratch"));
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss) << corrupt.status();
  EXPECT_NE(std::string(corrupt.status().message()).find("corrupt"), std::string::npos) << corrupt.status();
  EXPECT_FALSE(fs::exists(dir.File("scratch")));
  // A missing one too.
  fs::remove(dir.File("backups/" + blob));
  EXPECT_EQ(VerifyBackup(*target, second->id, dir.File("scratch")).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace vj

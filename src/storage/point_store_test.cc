#include "storage/point_store.h"

#include "core/payload_limits.h"
#include "core/test_dir.h"
#include "storage/raw_store_edit.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "rocksdb/db.h"

extern char** environ;

namespace vj {
namespace {

std::unique_ptr<PointStore> OpenOrDie(const std::string& dir, PointStoreOptions options = {}) {
  StatusOr<std::unique_ptr<PointStore>> store = PointStore::Open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

Mutation Upsert(const PointId& id, float x, std::string_view payload_json = "{}") {
  Mutation m;
  m.record.id = id;
  m.record.vectors[""] = {x, x + 1};
  StatusOr<boost::json::value> payload = ParseJson(payload_json);
  EXPECT_TRUE(payload.ok()) << payload.status();
  m.record.payload = payload->as_object();
  return m;
}

Mutation Delete(const PointId& id) {
  Mutation m;
  m.kind = Mutation::Kind::kDelete;
  m.record.id = id;
  return m;
}

PointId Uuid(std::string_view text) {
  StatusOr<PointId> id = PointId::ParseUuid(text);
  EXPECT_TRUE(id.ok());
  return *id;
}

class PointStoreTest : public ::testing::Test {
 protected:
  TestDir dir_;
};

TEST_F(PointStoreTest, WriteGetDelete) {
  auto store = OpenOrDie(dir_.path());
  ASSERT_NE(store, nullptr);
  const PointId u = Uuid("936da01f-9abd-4d9d-80c7-02af85c822a8");
  uint64_t last = 0;
  ASSERT_TRUE(store->Write({Upsert(PointId::Num(1), 1, R"({"a":{"b":[1,2]}})"), Upsert(u, 2)}, true,
                           &last)
                  .ok());
  EXPECT_EQ(last, 2u);

  StatusOr<std::optional<PointRecord>> got = store->Get(PointId::Num(1));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->vectors.at(""), (std::vector<float>{1, 2}));
  EXPECT_EQ(boost::json::serialize((*got)->payload), R"({"a":{"b":[1,2]}})");
  got = store->Get(u);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, u);

  ASSERT_TRUE(store->Write({Delete(PointId::Num(1))}, false, &last).ok());
  EXPECT_EQ(last, 3u);
  got = store->Get(PointId::Num(1));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  got = store->Get(PointId::Num(99));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(PointStoreTest, LaterMutationInABatchWins) {
  auto store = OpenOrDie(dir_.path());
  uint64_t last = 0;
  ASSERT_TRUE(store->Write({Upsert(PointId::Num(5), 1), Upsert(PointId::Num(5), 7)}, false, &last).ok());
  auto got = store->Get(PointId::Num(5));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->vectors.at("")[0], 7);
  ASSERT_TRUE(store->Write({Upsert(PointId::Num(6), 1), Delete(PointId::Num(6))}, false, &last).ok());
  got = store->Get(PointId::Num(6));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(PointStoreTest, SequencesAreConsecutiveAndSurviveReopen) {
  uint64_t last = 0;
  {
    auto store = OpenOrDie(dir_.path());
    EXPECT_EQ(store->last_sequence(), 0u);
    EXPECT_EQ(store->first_log_sequence(), 1u);
    ASSERT_TRUE(store->Write({Upsert(PointId::Num(1), 1)}, false, &last).ok());
    EXPECT_EQ(last, 1u);
    ASSERT_TRUE(store->Write({Upsert(PointId::Num(2), 1), Upsert(PointId::Num(3), 1)}, false, &last).ok());
    EXPECT_EQ(last, 3u);
    ASSERT_TRUE(store->Write({}, false, &last).ok());
    EXPECT_EQ(last, 3u);
    EXPECT_EQ(store->last_sequence(), 3u);
  }
  auto store = OpenOrDie(dir_.path());
  EXPECT_EQ(store->last_sequence(), 3u);
  EXPECT_EQ(store->first_log_sequence(), 1u);
  ASSERT_TRUE(store->Write({Delete(PointId::Num(2))}, false, &last).ok());
  EXPECT_EQ(last, 4u);
}

// A checkpoint taken while a writer goes on holds exactly the writes up to the sequence it reports:
// point i is written by the write of sequence i, so the copy has points 1..sequence and no other.
TEST_F(PointStoreTest, CheckpointIsOneConsistentStateWhileWritesGoOn) {
  auto store = OpenOrDie(dir_.File("live"));
  ASSERT_NE(store, nullptr);
  uint64_t last = 0;
  for (int i = 1; i <= 200; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), i)}, false, &last).ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{200};
  std::thread writer([&] {
    uint64_t seq = 0;
    for (int i = 201; !stop.load() && i < 1'000'000; ++i) {
      ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), i)}, false, &seq).ok());
      written.store(seq);
    }
  });
  while (written.load() < 1000) std::this_thread::yield();  // the writer is running
  uint64_t sequence = 0;
  Status made = store->Checkpoint(dir_.File("copy"), &sequence);
  const uint64_t after = written.load();
  stop.store(true);
  writer.join();
  ASSERT_TRUE(made.ok()) << made;
  EXPECT_GE(sequence, 1000u);
  EXPECT_LE(sequence, after + 1);
  // A second checkpoint into an existing directory is refused.
  uint64_t ignored = 0;
  EXPECT_FALSE(store->Checkpoint(dir_.File("copy"), &ignored).ok());

  PointStoreOptions no_create;
  no_create.create_if_missing = false;
  auto copy = OpenOrDie(dir_.File("copy"), no_create);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->last_sequence(), sequence);
  uint64_t count = 0;
  uint64_t max_id = 0;
  ASSERT_TRUE(copy->ForEach([&](PointRecord&& r) {
                    ++count;
                    max_id = std::max(max_id, r.id.num());
                    return absl::OkStatus();
                  }).ok());
  EXPECT_EQ(count, sequence);
  EXPECT_EQ(max_id, sequence);
  // The copy is a store of its own: writing to it leaves the original alone.
  ASSERT_TRUE(copy->Write({Delete(PointId::Num(1))}, true, &last).ok());
  auto got = store->Get(PointId::Num(1));
  ASSERT_TRUE(got.ok() && got->has_value());
}

TEST_F(PointStoreTest, ReadLogFromVariousPoints) {
  auto store = OpenOrDie(dir_.path());
  uint64_t last = 0;
  for (int i = 1; i <= 10; ++i) {
    std::vector<Mutation> batch = {Upsert(PointId::Num(i), static_cast<float>(i))};
    if (i % 3 == 0) batch = {Delete(PointId::Num(i - 1))};
    ASSERT_TRUE(store->Write(batch, false, &last).ok());
  }
  for (uint64_t from : {0ull, 1ull, 4ull, 10ull, 11ull, 50ull}) {
    std::vector<LoggedMutation> out;
    ASSERT_TRUE(store->ReadLog(from, 100, &out).ok()) << from;
    const uint64_t start = std::max<uint64_t>(from, 1);
    ASSERT_EQ(out.size(), start > 10 ? 0 : 11 - start) << from;
    for (size_t k = 0; k < out.size(); ++k) {
      const uint64_t seq = start + k;
      EXPECT_EQ(out[k].sequence, seq);
      if (seq % 3 == 0) {
        EXPECT_EQ(out[k].mutation.kind, Mutation::Kind::kDelete);
        EXPECT_EQ(out[k].mutation.record.id, PointId::Num(seq - 1));
      } else {
        EXPECT_EQ(out[k].mutation.kind, Mutation::Kind::kUpsert);
        EXPECT_EQ(out[k].mutation.record.id, PointId::Num(seq));
      }
    }
  }
  std::vector<LoggedMutation> out;
  ASSERT_TRUE(store->ReadLog(2, 3, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.back().sequence, 4u);
}

TEST_F(PointStoreTest, TrimmedLogIsOutOfRangeAndStaysTrimmedAfterReopen) {
  {
    auto store = OpenOrDie(dir_.path());
    uint64_t last = 0;
    for (int i = 1; i <= 20; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), 0)}, false, &last).ok());
    ASSERT_TRUE(store->TrimLog(11).ok());
    EXPECT_EQ(store->first_log_sequence(), 11u);
    std::vector<LoggedMutation> out;
    EXPECT_EQ(store->ReadLog(5, 100, &out).code(), absl::StatusCode::kOutOfRange);
    EXPECT_EQ(store->ReadLog(10, 100, &out).code(), absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(out.empty());
    ASSERT_TRUE(store->ReadLog(11, 100, &out).ok());
    EXPECT_EQ(out.size(), 10u);
    // Trimming backwards is a no-op; the points themselves are untouched.
    ASSERT_TRUE(store->TrimLog(3).ok());
    EXPECT_EQ(store->first_log_sequence(), 11u);
    auto got = store->Get(PointId::Num(2));
    ASSERT_TRUE(got.ok() && got->has_value());
  }
  auto store = OpenOrDie(dir_.path());
  EXPECT_EQ(store->first_log_sequence(), 11u);
  EXPECT_EQ(store->last_sequence(), 20u);
  std::vector<LoggedMutation> out;
  EXPECT_EQ(store->ReadLog(1, 100, &out).code(), absl::StatusCode::kOutOfRange);
}

TEST_F(PointStoreTest, SequencesNeverGoBackwardsAfterFullTrim) {
  {
    auto store = OpenOrDie(dir_.path());
    uint64_t last = 0;
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), 0)}, false, &last).ok());
    ASSERT_TRUE(store->TrimLog(1000).ok());  // clamped to last_sequence() + 1
    EXPECT_EQ(store->first_log_sequence(), 6u);
    ASSERT_TRUE(store->Flush().ok());
  }
  auto store = OpenOrDie(dir_.path());
  EXPECT_EQ(store->last_sequence(), 5u);
  EXPECT_EQ(store->first_log_sequence(), 6u);
  std::vector<LoggedMutation> out;
  EXPECT_EQ(store->ReadLog(5, 10, &out).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(store->ReadLog(6, 10, &out).ok());
  EXPECT_TRUE(out.empty());
  uint64_t last = 0;
  ASSERT_TRUE(store->Write({Upsert(PointId::Num(9), 0)}, false, &last).ok());
  EXPECT_EQ(last, 6u);
  ASSERT_TRUE(store->ReadLog(6, 10, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sequence, 6u);
}

TEST_F(PointStoreTest, WriteTrimsBeyondRetention) {
  PointStoreOptions options;
  options.log_retention = 16;
  auto store = OpenOrDie(dir_.path(), options);
  uint64_t last = 0;
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), 0)}, false, &last).ok());
  const uint64_t kept = store->last_sequence() - store->first_log_sequence() + 1;
  EXPECT_GE(kept, 16u);
  EXPECT_LE(kept, 17u);
  std::vector<LoggedMutation> out;
  ASSERT_TRUE(store->ReadLog(store->first_log_sequence(), 1000, &out).ok());
  EXPECT_EQ(out.size(), kept);
  EXPECT_EQ(store->ReadLog(1, 1000, &out).code(), absl::StatusCode::kOutOfRange);
}

// An index snapshot's trim floor keeps the entries a restart must replay, up to kMaxRetentionFactor
// times the retention; TrimLog respects it too; ResetSequence clears it.
TEST_F(PointStoreTest, TrimFloorKeepsTheEntriesAnIndexSnapshotNeeds) {
  PointStoreOptions options;
  options.log_retention = 16;
  auto store = OpenOrDie(dir_.path(), options);
  uint64_t last = 0;
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), 0)}, false, &last).ok());
  store->SetLogTrimFloor(6);  // a snapshot at sequence 5
  store->SetLogTrimFloor(3);  // lower: ignored
  for (int i = 11; i <= 60; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), 0)}, false, &last).ok());
  EXPECT_EQ(store->first_log_sequence(), 6u);  // trimmed up to the floor, not past it
  for (int i = 61; i <= 64; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), 0)}, false, &last).ok());
  EXPECT_EQ(store->first_log_sequence(), 6u);
  std::vector<LoggedMutation> out;
  ASSERT_TRUE(store->ReadLog(6, 1000, &out).ok());
  EXPECT_EQ(out.size(), 59u);
  ASSERT_TRUE(store->TrimLog(50).ok());
  EXPECT_EQ(store->first_log_sequence(), 6u);
  // Past 4 x retention (64 entries) the retention wins: the snapshot's shard will rebuild.
  for (int i = 65; i <= 80; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), 0)}, false, &last).ok());
  EXPECT_GT(store->first_log_sequence(), 6u);
  EXPECT_EQ(store->ReadLog(6, 1, &out).code(), absl::StatusCode::kOutOfRange);
  // A floor past the trim point holds until a reset.
  store->SetLogTrimFloor(70);
  ASSERT_TRUE(store->TrimLog(80).ok());
  EXPECT_EQ(store->first_log_sequence(), 70u);
  ASSERT_TRUE(store->ResetSequence(200).ok());
  for (int i = 201; i <= 300; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), 0)}, false, &last).ok());
  EXPECT_GE(store->first_log_sequence(), 280u);
}

// Readers run beside the single writer (which also trims): every read sees a consecutive run of the
// log or OutOfRange, never a gap.
TEST_F(PointStoreTest, ReadLogConcurrentWithWriteAndTrim) {
  PointStoreOptions options;
  options.log_retention = 64;
  auto store = OpenOrDie(dir_.path(), options);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    uint64_t last = 0;
    for (int i = 1; i <= 1500; ++i) {
      Status s = store->Write({Upsert(PointId::Num(i % 50), 0)}, false, &last);
      if (s.ok() && i % 200 == 0) s = store->TrimLog(last - 10);
      EXPECT_TRUE(s.ok()) << s;
      if (!s.ok()) break;
    }
    done = true;  // also after a failure, so the reader loop ends
  });
  size_t reads = 0;
  while (!done) {
    std::vector<LoggedMutation> out;
    const uint64_t from = store->first_log_sequence();
    Status s = store->ReadLog(from, 100, &out);
    // EXPECT, not ASSERT: returning early would destroy the joinable writer thread.
    EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kOutOfRange) << s;
    for (size_t k = 0; s.ok() && k < out.size(); ++k) EXPECT_EQ(out[k].sequence, from + k);
    EXPECT_TRUE(store->Get(PointId::Num(reads % 50)).ok());
    ++reads;
    if (::testing::Test::HasFailure()) break;
  }
  writer.join();
  EXPECT_GT(reads, 0u);
}

TEST_F(PointStoreTest, ForEachVisitsIntegersBeforeUuidsInOrder) {
  auto store = OpenOrDie(dir_.path());
  const PointId u1 = Uuid("00000000-0000-0000-0000-000000000001");
  const PointId u2 = Uuid("ffffffff-0000-0000-0000-000000000000");
  uint64_t last = 0;
  ASSERT_TRUE(store->Write({Upsert(u2, 0), Upsert(PointId::Num(300), 0), Upsert(u1, 0),
                            Upsert(PointId::Num(5), 0), Upsert(PointId::Num(1ull << 40), 0)},
                           false, &last)
                  .ok());
  std::vector<PointId> seen;
  ASSERT_TRUE(store->ForEach([&](PointRecord&& r) {
                     seen.push_back(r.id);
                     return absl::OkStatus();
                   })
                  .ok());
  EXPECT_EQ(seen, (std::vector<PointId>{PointId::Num(5), PointId::Num(300), PointId::Num(1ull << 40),
                                        u1, u2}));
  // fn's error stops the scan and is returned as is.
  int calls = 0;
  Status s = store->ForEach([&](PointRecord&&) {
    ++calls;
    return calls == 2 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 2);
}

TEST_F(PointStoreTest, ReopenKeepsEverything) {
  std::mt19937 rng(1234);
  std::map<uint64_t, float> expected;
  uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    auto store = OpenOrDie(dir_.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->last_sequence(), last);
    for (int b = 0; b < 20; ++b) {
      std::vector<Mutation> batch;
      for (int k = 0; k < 10; ++k) {
        const uint64_t id = rng() % 100;
        if (rng() % 4 == 0) {
          batch.push_back(Delete(PointId::Num(id)));
          expected.erase(id);
        } else {
          const float x = static_cast<float>(rng() % 1000);
          batch.push_back(Upsert(PointId::Num(id), x, R"({"k":"v"})"));
          expected[id] = x;
        }
      }
      ASSERT_TRUE(store->Write(batch, false, &last).ok());
    }
    if (round == 1) {
      ASSERT_TRUE(store->Flush().ok());
    }
  }
  auto store = OpenOrDie(dir_.path());
  EXPECT_EQ(store->last_sequence(), 600u);
  std::map<uint64_t, float> actual;
  ASSERT_TRUE(store->ForEach([&](PointRecord&& r) {
                     actual[r.id.num()] = r.vectors.at("")[0];
                     return absl::OkStatus();
                   })
                  .ok());
  EXPECT_EQ(actual, expected);
  EXPECT_GT(store->point_count_estimate(), 0u);
}

TEST_F(PointStoreTest, OpenErrors) {
  PointStoreOptions no_create;
  no_create.create_if_missing = false;
  EXPECT_EQ(PointStore::Open(dir_.path() + "/missing", no_create).status().code(),
            absl::StatusCode::kNotFound);
  auto store = OpenOrDie(dir_.path());
  // RocksDB's LOCK file keeps a second instance out.
  EXPECT_EQ(PointStore::Open(dir_.path(), {}).status().code(), absl::StatusCode::kUnavailable);
}

// Crash test. The child is this test binary re-executed (not just forked: RocksDB's background threads
// do not survive fork) running only PointStoreCrashChild, which writes synced batches and reports each
// acknowledged sequence number on a pipe until it is killed with SIGKILL.
constexpr char kCrashDirEnv[] = "VJ_CRASH_TEST_DIR";
constexpr char kCrashFdEnv[] = "VJ_CRASH_TEST_FD";

TEST(PointStoreCrashChild, WritesUntilKilled) {
  const char* dir = std::getenv(kCrashDirEnv);
  const char* fd_text = std::getenv(kCrashFdEnv);
  if (dir == nullptr || fd_text == nullptr) GTEST_SKIP() << "only runs as the crash test's child";
  const int fd = std::atoi(fd_text);
  auto store = OpenOrDie(dir);
  ASSERT_NE(store, nullptr);
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    // Each point's id is the sequence number its upsert gets, so the parent can check every one.
    std::vector<Mutation> batch;
    const uint64_t next = store->last_sequence() + 1;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) batch.push_back(Upsert(PointId::Num(next + k), static_cast<float>(next + k)));
    uint64_t last = 0;
    ASSERT_TRUE(store->Write(batch, /*sync=*/true, &last).ok());
    ASSERT_EQ(last, next + n - 1);
    ASSERT_EQ(write(fd, &last, sizeof(last)), static_cast<ssize_t>(sizeof(last)));
  }
}

TEST(PointStoreCrashTest, AcknowledgedWritesSurviveKillNine) {
  TestDir dir;
  std::mt19937 rng(20240601);
  const std::string dir_env = std::string(kCrashDirEnv) + "=" + dir.path();
  for (int round = 0; round < 5; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
    const std::string fd_env = std::string(kCrashFdEnv) + "=" + std::to_string(fds[1]);
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
    env.push_back(const_cast<char*>(dir_env.c_str()));
    env.push_back(const_cast<char*>(fd_env.c_str()));
    env.push_back(nullptr);
    char exe[] = "/proc/self/exe";
    char filter[] = "--gtest_filter=PointStoreCrashChild.WritesUntilKilled";
    char* argv[] = {exe, filter, nullptr};
    const int devnull = open("/dev/null", O_WRONLY);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execve(exe, argv, env.data());
      _exit(127);
    }
    close(fds[1]);
    close(devnull);

    // Wait for the first acknowledgement so every round kills a writer mid-stream, then a random while.
    pollfd pfd{fds[0], POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, 10'000), 1) << "crash child never acknowledged a write";
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 300));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) << "child ended early: " << wstatus;

    uint64_t acked = 0;
    uint64_t seq = 0;
    size_t acks = 0;
    // A partial 8-byte write cannot happen on a pipe (writes up to PIPE_BUF are atomic).
    while (read(fds[0], &seq, sizeof(seq)) == static_cast<ssize_t>(sizeof(seq))) {
      EXPECT_GT(seq, acked);
      acked = seq;
      ++acks;
    }
    close(fds[0]);
    ASSERT_GT(acks, 0u);

    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    const uint64_t last = store->last_sequence();
    EXPECT_GE(last, acked) << "round " << round;
    // Batches are atomic: every sequence up to the recovered last one has its point, acknowledged or not.
    for (uint64_t s = 1; s <= last; ++s) {
      StatusOr<std::optional<PointRecord>> got = store->Get(PointId::Num(s));
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_TRUE(got->has_value()) << "sequence " << s << " of " << last << ", acked " << acked;
      ASSERT_EQ((*got)->vectors.at("")[0], static_cast<float>(s));
    }
    std::vector<LoggedMutation> log;
    ASSERT_TRUE(store->ReadLog(1, last + 10, &log).ok());
    ASSERT_EQ(log.size(), last);
    EXPECT_EQ(log.back().sequence, last);
  }
}

void PutRawPoint(const std::string& dir, const std::string& key, const std::string& value) {
  PutRawStoreEntry(dir, "points", key, value);
}

// A record of point `id` whose payload nests deeper than the decoder reads, with a valid checksum (what
// the old set_payload could store).
PointRecord TooDeep(const PointId& id) {
  PointRecord deep;
  deep.id = id;
  boost::json::object* at = &deep.payload;
  for (size_t i = 0; i < kMaxPayloadDepth + 5; ++i) at = &(*at)["a"].emplace_object();
  return deep;
}

TEST(PointStoreQuarantineTest, RecoveryMovesUndecodableRecordsAside) {
  TestDir dir;
  {
    std::unique_ptr<PointStore> store = OpenOrDie(dir.path());
    ASSERT_TRUE(store->Write({Upsert(PointId::Num(1), 1), Upsert(PointId::Num(2), 2, R"({"k":"v"})"),
                              Upsert(PointId::Num(3), 3)},
                             true, nullptr)
                    .ok());
    EXPECT_EQ(store->quarantined_count(), 0u);
  }
  // Point 2 now holds a record nested deeper than the decoder reads, with a valid checksum (what the
  // old set_payload could store), and a key that no point encodes to holds garbage.
  PutRawPoint(dir.path(), PointId::Num(2).Key(), EncodePointRecord(TooDeep(PointId::Num(2))));
  PutRawPoint(dir.path(), PointId::Num(7).Key(), "not a record");

  std::vector<QuarantinedRecord> quarantined;
  {
    std::unique_ptr<PointStore> store = OpenOrDie(dir.path());
    EXPECT_FALSE(store->ForEach([](PointRecord&&) { return absl::OkStatus(); }).ok());
    // A scan that fn ends early moves and reports nothing.
    Status stopped = store->RecoverEach(
        [](PointRecord&& r) { return r.id.num() == 3 ? absl::AbortedError("stop") : absl::OkStatus(); },
        &quarantined);
    EXPECT_EQ(stopped.code(), absl::StatusCode::kAborted);
    EXPECT_TRUE(quarantined.empty());
    EXPECT_EQ(store->quarantined_count(), 0u);
    std::vector<uint64_t> seen;
    ASSERT_TRUE(store->RecoverEach([&](PointRecord&& r) {
                        seen.push_back(r.id.num());
                        return absl::OkStatus();
                      }, &quarantined)
                    .ok());
    EXPECT_EQ(seen, (std::vector<uint64_t>{1, 3}));
    ASSERT_EQ(quarantined.size(), 2u);
    EXPECT_EQ(quarantined[0].key, PointId::Num(2).Key());
    EXPECT_NE(quarantined[0].reason.find("nesting deeper"), std::string::npos) << quarantined[0].reason;
    EXPECT_EQ(quarantined[1].key, PointId::Num(7).Key());
    EXPECT_EQ(store->quarantined_count(), 2u);
    // The rest of the store reads and writes normally; point 2 can be written again.
    EXPECT_TRUE(store->ForEach([](PointRecord&&) { return absl::OkStatus(); }).ok());
    EXPECT_FALSE(store->Get(PointId::Num(2))->has_value());
    ASSERT_TRUE(store->Write({Upsert(PointId::Num(2), 5)}, true, nullptr).ok());
  }
  // The quarantine is durable and still counted after a restart; nothing more is moved.
  std::unique_ptr<PointStore> store = OpenOrDie(dir.path());
  EXPECT_EQ(store->quarantined_count(), 2u);
  std::vector<QuarantinedRecord> again;
  size_t points = 0;
  ASSERT_TRUE(store->RecoverEach([&](PointRecord&&) { ++points; return absl::OkStatus(); }, &again).ok());
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(points, 3u);
}

// An entry an older version wrote past today's limits (set_payload with a key of 1,030 segments) made
// every reader of the log fail: replicas catching up, index snapshot replays. Open moves it to the
// quarantine and leaves a delete of its point in its place, so sequences stay contiguous.
TEST(PointStoreQuarantineTest, OpenReplacesUndecodableLogEntriesWithADeleteOfThePoint) {
  TestDir dir;
  {
    std::unique_ptr<PointStore> store = OpenOrDie(dir.path());
    ASSERT_TRUE(store->Write({Upsert(PointId::Num(1), 1), Upsert(PointId::Num(2), 2), Upsert(PointId::Num(3), 3)},
                             true, nullptr)
                    .ok());
  }
  Mutation deep{Mutation::Kind::kUpsert, TooDeep(PointId::Num(2))};
  const std::string bad = EncodeMutation(deep);
  ASSERT_FALSE(DecodeMutation(bad).ok());
  PutRawStoreEntry(dir.path(), "log", LogEntryKey(2), bad);
  ForgetLogCheck(dir.path());

  {
    std::unique_ptr<PointStore> store = OpenOrDie(dir.path());
    EXPECT_EQ(store->quarantined_count(), 1u);
    std::vector<LoggedMutation> log;
    Status read = store->ReadLog(1, 100, &log);
    ASSERT_TRUE(read.ok()) << read;
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[1].sequence, 2u);
    EXPECT_EQ(log[1].mutation.kind, Mutation::Kind::kDelete);
    EXPECT_EQ(log[1].mutation.record.id, PointId::Num(2));
    EXPECT_EQ(log[2].mutation.kind, Mutation::Kind::kUpsert);
    // Writes continue the same sequence.
    uint64_t last = 0;
    ASSERT_TRUE(store->Write({Upsert(PointId::Num(4), 4)}, true, &last).ok());
    EXPECT_EQ(last, 4u);
  }
  // Durable, counted once; a second start finds nothing more to move.
  std::unique_ptr<PointStore> store = OpenOrDie(dir.path());
  EXPECT_EQ(store->quarantined_count(), 1u);
  std::vector<LoggedMutation> log;
  ASSERT_TRUE(store->ReadLog(1, 100, &log).ok());
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[1].mutation.kind, Mutation::Kind::kDelete);
}

// A damaged entry (bad checksum) names no point that can be trusted: Open trims the log through it, and
// a reader that needed it hears OutOfRange (a replica then catches up from a snapshot).
TEST(PointStoreQuarantineTest, OpenTrimsTheLogThroughADamagedEntry) {
  TestDir dir;
  {
    std::unique_ptr<PointStore> store = OpenOrDie(dir.path());
    for (int i = 1; i <= 4; ++i) ASSERT_TRUE(store->Write({Upsert(PointId::Num(i), i)}, true, nullptr).ok());
  }
  std::string damaged = EncodeMutation(Upsert(PointId::Num(2), 2));
  damaged[3] ^= 0x40;
  PutRawStoreEntry(dir.path(), "log", LogEntryKey(2), damaged);
  ForgetLogCheck(dir.path());

  std::unique_ptr<PointStore> store = OpenOrDie(dir.path());
  EXPECT_EQ(store->quarantined_count(), 1u);
  EXPECT_EQ(store->first_log_sequence(), 3u);
  EXPECT_EQ(store->last_sequence(), 4u);
  std::vector<LoggedMutation> log;
  EXPECT_TRUE(absl::IsOutOfRange(store->ReadLog(1, 100, &log)));
  ASSERT_TRUE(store->ReadLog(3, 100, &log).ok());
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].sequence, 3u);
}

}  // namespace
}  // namespace vj

#include "audit/audit_log.h"

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audit/audit_verify.h"
#include "core/test_dir.h"

namespace vj {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

boost::json::object Record(const std::string& line) { return boost::json::parse(line).as_object(); }

// A field as text: a string's value, anything else serialized ("null", "200").
std::string F(const boost::json::object& o, const char* name) {
  const boost::json::value& v = o.at(name);
  return v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v);
}

AuditEvent Request(int i, int status = 200) {
  AuditEvent e;
  e.request_id = "req-" + std::to_string(i);
  e.principal = "api-key:main";
  e.roles = {"admin"};
  e.method = "POST";
  e.action = "/collections/{name}/points/query";
  e.collection = "docs";
  e.status = status;
  e.client = "127.0.0.1:5000";
  return e;
}

AuditLogOptions Options(const TestDir& dir) {
  AuditLogOptions o;
  o.path = dir.File("audit.log");
  o.node = "n1";
  return o;
}

TEST(AuditLog, WritesChainedRecordsBetweenStartAndStop) {
  TestDir dir;
  {
    auto log = AuditLog::Open(Options(dir));
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 10; ++i) (*log)->Append(Request(i));
    (*log)->Flush();
    EXPECT_EQ((*log)->GetStats().records, 11u);
  }
  std::vector<std::string> lines = Lines(dir.File("audit.log"));
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(F(Record(lines[0]), "action"), "audit.start");
  EXPECT_EQ(F(Record(lines[0]), "prev"), std::string(kGenesisHash));
  boost::json::object third = Record(lines[2]);
  EXPECT_EQ(third.at("seq").as_int64(), 3);
  EXPECT_EQ(F(third, "request_id"), "req-1");
  EXPECT_EQ(F(third, "principal"), "api-key:main");
  EXPECT_EQ(F(third, "collection"), "docs");
  EXPECT_EQ(third.at("status").as_int64(), 200);
  EXPECT_EQ(F(third, "node"), "n1");
  EXPECT_EQ(F(third, "tenant"), "null");
  EXPECT_TRUE(std::regex_match(std::string(third.at("time").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(F(third, "prev"), F(Record(lines[1]), "hash"));
  EXPECT_EQ(F(Record(lines.back()), "action"), "audit.stop");
  AuditVerifyResult r = VerifyAuditFiles({dir.File("audit.log")}, "");
  EXPECT_TRUE(r.ok) << DescribeAuditVerifyResult(r);
  EXPECT_EQ(r.records, 12u);
  EXPECT_TRUE(r.from_genesis);
  EXPECT_TRUE(r.ends_with_stop);
}

TEST(AuditLog, OddBytesStayPlainAsciiJson) {
  TestDir dir;
  {
    auto log = AuditLog::Open(Options(dir));
    ASSERT_TRUE(log.ok());
    AuditEvent e = Request(1);
    e.collection = std::string("a\"b\\c\n\xff\xfe") + '\0' + "z";
    (*log)->Append(e);
  }
  std::vector<std::string> lines = Lines(dir.File("audit.log"));
  ASSERT_EQ(lines.size(), 3u);
  for (char c : lines[1]) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << lines[1];
  EXPECT_EQ(Record(lines[1]).at("collection").as_string().size(), 12u);  // \xff and \xfe come back as U+00FF, U+00FE (two UTF-8 bytes each)
  EXPECT_TRUE(VerifyAuditFiles({dir.File("audit.log")}, "").ok);
}

TEST(AuditLog, RestartResumesTheChainAndCutsAPartialLastRecord) {
  TestDir dir;
  for (int run = 0; run < 2; ++run) {
    auto log = AuditLog::Open(Options(dir));
    ASSERT_TRUE(log.ok());
    (*log)->Append(Request(run));
  }
  {
    std::ofstream torn(dir.File("audit.log"), std::ios::app);
    torn << "{\"seq\":7,\"alg\":\"sha256\",\"time\":\"20";  // a crash in the middle of a write
  }
  EXPECT_FALSE(VerifyAuditFiles({dir.File("audit.log")}, "").ok);
  {
    auto log = AuditLog::Open(Options(dir));
    ASSERT_TRUE(log.ok());
  }
  std::vector<std::string> lines = Lines(dir.File("audit.log"));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_THAT(std::string(Record(lines[6]).at("reason").as_string()),
              HasSubstr("resumed after seq 6; cut off a partial last record of 34 bytes"));
  AuditVerifyResult r = VerifyAuditFiles({dir.File("audit.log")}, "");
  EXPECT_TRUE(r.ok) << DescribeAuditVerifyResult(r);
  EXPECT_EQ(r.last_seq, 8u);
}

TEST(AuditLog, RotationCarriesTheChainAndKeepsMaxFiles) {
  TestDir dir;
  AuditLogOptions o = Options(dir);
  o.max_file_bytes = 2000;
  {
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 40; ++i) {
      (*log)->Append(Request(i));
      (*log)->Flush();
    }
    EXPECT_GE((*log)->GetStats().rotations, 5u);
  }
  std::vector<std::string> rotated = RotatedAuditFiles(o.path);
  ASSERT_GE(rotated.size(), 5u);
  std::vector<std::string> files = rotated;
  files.push_back(o.path);
  for (const std::string& f : files) {
    EXPECT_LE(std::ifstream(f, std::ios::ate).tellg(), 2000) << f;
  }
  // The first record of a file carries the last hash of the file before it.
  EXPECT_EQ(F(Record(Lines(rotated[1]).front()), "prev"), F(Record(Lines(rotated[0]).back()), "hash"));
  AuditVerifyResult r = VerifyAuditFiles(files, "");
  EXPECT_TRUE(r.ok) << DescribeAuditVerifyResult(r);
  EXPECT_EQ(r.records, 42u);
  auto ordered = AuditFilesInOrder({dir.path()});
  ASSERT_TRUE(ordered.ok());
  EXPECT_EQ(*ordered, files);

  // A missing middle file breaks the chain at the first record of the file after it.
  std::vector<std::string> gap = files;
  gap.erase(gap.begin() + 2);
  r = VerifyAuditFiles(gap, "");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.file, files[3]);
  EXPECT_EQ(r.line, 1u);
  EXPECT_THAT(r.reason, HasSubstr("a file before this one is missing"));

  // max_files: a restart with a limit keeps that many rotated files, and the rest still verifies.
  o.max_files = 2;
  {
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 20; ++i) (*log)->Append(Request(i));
  }
  rotated = RotatedAuditFiles(o.path);
  EXPECT_EQ(rotated.size(), 2u);
  files = rotated;
  files.push_back(o.path);
  r = VerifyAuditFiles(files, "");
  EXPECT_TRUE(r.ok) << DescribeAuditVerifyResult(r);
  EXPECT_FALSE(r.from_genesis);
  EXPECT_THAT(DescribeAuditVerifyResult(r), HasSubstr("older records were rotated away"));
}

TEST(AuditLog, HmacRecordsNeedTheKey) {
  TestDir dir;
  AuditLogOptions o = Options(dir);
  o.hmac_key = "0123456789abcdef0123456789abcdef";
  {
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 5; ++i) (*log)->Append(Request(i));
  }
  EXPECT_TRUE(VerifyAuditFiles({o.path}, o.hmac_key).ok);
  AuditVerifyResult wrong = VerifyAuditFiles({o.path}, "another key, 32 bytes long......");
  EXPECT_FALSE(wrong.ok);
  EXPECT_EQ(wrong.line, 1u);
  EXPECT_THAT(wrong.reason, HasSubstr("HMAC does not match"));
  AuditVerifyResult keyless = VerifyAuditFiles({o.path}, "");
  EXPECT_TRUE(keyless.ok);
  EXPECT_FALSE(keyless.hashes_checked);

  // An attacker without the key edits record 3 and recomputes the chain with plain SHA-256 from there:
  // links and hashes agree, but not with the key.
  std::vector<std::string> lines = Lines(o.path);
  const ChainHasher sha;
  std::string prev = std::string(Record(lines[1]).at("hash").as_string());
  for (size_t i = 2; i < lines.size(); ++i) {
    boost::json::object rec = Record(lines[i]);
    std::string body = lines[i].substr(0, lines[i].size() - 75);
    body = std::regex_replace(body, std::regex("hmac-sha256"), "sha256");
    body = std::regex_replace(body, std::regex("\"prev\":\"[0-9a-f]{64}\""), "\"prev\":\"" + prev + "\"");
    if (i == 2) body = std::regex_replace(body, std::regex("\"status\":200"), "\"status\":404");
    prev = sha.Hash(body);
    lines[i] = body + ",\"hash\":\"" + prev + "\"}";
  }
  {
    std::ofstream out(o.path, std::ios::trunc);
    for (const std::string& l : lines) out << l << "\n";
  }
  AuditVerifyResult forged = VerifyAuditFiles({o.path}, o.hmac_key);
  EXPECT_FALSE(forged.ok);
  EXPECT_EQ(forged.line, 3u);
  EXPECT_THAT(forged.reason, HasSubstr("not HMAC-chained"));
}

TEST(AuditLog, AWriteErrorIsCountedAndTheServerGoesOn) {
  AuditLogOptions o;
  o.path = "/dev/full";  // every write fails with ENOSPC
  o.node = "n1";
  auto log = AuditLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < 5; ++i) (*log)->Append(Request(i));
  (*log)->Flush();
  AuditLog::Stats s = (*log)->GetStats();
  EXPECT_GE(s.write_errors, 1u);
  EXPECT_EQ(s.lost_on_error, 6u);  // the start record and the five requests
  EXPECT_EQ(s.records, 0u);
}

TEST(AuditLog, DroppedEventsLeaveAGapRecordAndTheChainHolds) {
  TestDir dir;
  AuditLogOptions o = Options(dir);
  o.queue_records = 2;
  o.fsync = true;  // a slow writer: the queue fills
  uint64_t dropped = 0;
  {
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 500; ++i) (*log)->Append(Request(t * 1000 + i));
      });
    }
    for (auto& t : threads) t.join();
    (*log)->Flush();
    AuditLog::Stats s = (*log)->GetStats();
    dropped = s.dropped;
    // Every appended event is written or dropped; gap records are extra.
    uint64_t gaps = 0;
    for (const std::string& line : Lines(o.path)) gaps += F(Record(line), "action") == "audit.gap";
    EXPECT_EQ(s.records - gaps, 1 + 2000 - dropped);
  }
  uint64_t reported = 0;
  for (const std::string& line : Lines(o.path)) {
    boost::json::object rec = Record(line);
    if (F(rec, "action") != "audit.gap") continue;
    reported += std::stoull(std::string(rec.at("reason").as_string()));
  }
  EXPECT_EQ(reported, dropped);
  AuditVerifyResult r = VerifyAuditFiles({o.path}, "");
  EXPECT_TRUE(r.ok) << DescribeAuditVerifyResult(r);
}

TEST(AuditLog, BlockWhenFullDropsNothing) {
  TestDir dir;
  AuditLogOptions o = Options(dir);
  o.queue_records = 2;
  o.block_when_full = true;
  {
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 300; ++i) (*log)->Append(Request(i));
    (*log)->Flush();
    EXPECT_EQ((*log)->GetStats().dropped, 0u);
    EXPECT_EQ((*log)->GetStats().records, 301u);
  }
}

}  // namespace
}  // namespace vj

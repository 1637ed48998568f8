#include "audit/audit_verify.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audit/audit_log.h"
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

void Write(const std::string& path, const std::vector<std::string>& lines, bool last_newline = true) {
  std::ofstream out(path, std::ios::trunc);
  for (size_t i = 0; i < lines.size(); ++i) out << lines[i] << (i + 1 < lines.size() || last_newline ? "\n" : "");
}

// A log of 10 records (start, 8 requests, stop).
class AuditVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AuditLogOptions o;
    o.path = path_;
    o.node = "n1";
    auto log = AuditLog::Open(o);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 8; ++i) {
      AuditEvent e;
      e.request_id = "r" + std::to_string(i);
      e.principal = "api-key:main";
      e.method = "GET";
      e.action = "/collections";
      e.status = 200;
      (*log)->Append(e);
    }
    log->reset();
    lines_ = Lines(path_);
    ASSERT_EQ(lines_.size(), 10u);
    ASSERT_TRUE(VerifyAuditFiles({path_}, "").ok);
  }
  AuditVerifyResult Verify() { return VerifyAuditFiles({path_}, ""); }

  TestDir dir_;
  std::string path_ = dir_.File("audit.log");
  std::vector<std::string> lines_;
};

TEST_F(AuditVerifyTest, AnEditedRecordIsNamed) {
  std::string& line = lines_[4];
  line.replace(line.find("\"status\":200"), 12, "\"status\":403");
  Write(path_, lines_);
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.file, path_);
  EXPECT_EQ(r.line, 5u);
  EXPECT_THAT(r.reason, HasSubstr("hash does not match"));
  EXPECT_EQ(r.records, 4u);
  EXPECT_THAT(DescribeAuditVerifyResult(r), HasSubstr("BROKEN: " + path_ + ":5: "));
}

TEST_F(AuditVerifyTest, ADeletedRecordBreaksTheNextOne) {
  lines_.erase(lines_.begin() + 3);
  Write(path_, lines_);
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.line, 4u);
  EXPECT_THAT(r.reason, HasSubstr("prev does not match the hash of the record before it (" + path_ + ":3)"));
}

TEST_F(AuditVerifyTest, ReorderedRecordsAreFound) {
  std::swap(lines_[5], lines_[6]);
  Write(path_, lines_);
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.line, 6u);
}

TEST_F(AuditVerifyTest, ATruncatedRecordIsFound) {
  lines_.back().resize(lines_.back().size() / 2);
  Write(path_, lines_, /*last_newline=*/false);
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.line, 10u);
  EXPECT_THAT(r.reason, HasSubstr("ends in the middle of a record"));
}

TEST_F(AuditVerifyTest, CuttingWholeRecordsOffTheEndShowsOnlyAsAMissingStop) {
  // The limit of any hash chain: the file alone cannot prove nothing followed its last record.
  lines_.resize(7);
  Write(path_, lines_);
  AuditVerifyResult r = Verify();
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.ends_with_stop);
  EXPECT_THAT(DescribeAuditVerifyResult(r), HasSubstr("does not end with audit.stop"));
}

TEST_F(AuditVerifyTest, ForeignLinesAndDeletedFirstRecordsAreFound) {
  std::vector<std::string> lines = lines_;
  lines.insert(lines.begin() + 2, "{\"seq\":3}");
  Write(path_, lines);
  EXPECT_THAT(Verify().reason, HasSubstr("no hash at the end"));
  lines = lines_;
  lines.insert(lines.begin() + 2, "not json");
  Write(path_, lines);
  EXPECT_THAT(Verify().reason, HasSubstr("not a JSON record"));
  lines = lines_;
  lines.insert(lines.begin() + 2, "");
  Write(path_, lines);
  EXPECT_EQ(Verify().line, 3u);
  // Deleting the first records: the chain then starts mid-way, which verify reports (not from seq 1).
  lines = lines_;
  lines.erase(lines.begin(), lines.begin() + 2);
  Write(path_, lines);
  AuditVerifyResult r = Verify();
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.from_genesis);
  EXPECT_EQ(r.first_seq, 3u);
}

TEST_F(AuditVerifyTest, FilesAndDirectories) {
  EXPECT_FALSE(AuditFilesInOrder({dir_.File("nope")}).ok());
  EXPECT_FALSE(AuditFilesInOrder({}).ok());
  auto files = AuditFilesInOrder({dir_.path()});
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, std::vector<std::string>{path_});
  AuditVerifyResult missing = VerifyAuditFiles({dir_.File("gone")}, "");
  EXPECT_FALSE(missing.ok);
  {
    std::ofstream(dir_.File("short.key")) << "short\n";
    std::ofstream(dir_.File("good.key")) << "0123456789abcdef0123\n";
  }
  EXPECT_FALSE(ReadAuditKeyFile(dir_.File("short.key")).ok());
  EXPECT_FALSE(ReadAuditKeyFile(dir_.File("none.key")).ok());
  EXPECT_EQ(*ReadAuditKeyFile(dir_.File("good.key")), "0123456789abcdef0123");
}

}  // namespace
}  // namespace vj

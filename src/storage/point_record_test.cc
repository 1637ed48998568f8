#include "storage/point_record.h"

#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace vj {
namespace {

// Bitwise CRC32C, independent of the table-driven one under test.
uint32_t ReferenceCrc32c(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFu;
}

void AppendLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

PointRecord SampleRecord(const PointId& id) {
  PointRecord r;
  r.id = id;
  r.vectors[""] = {1.0f, -2.5f, 0.0f, 3.25e-7f};
  r.vectors["image"] = {0.5f, 0.25f};
  r.vectors["empty"] = {};
  StatusOr<boost::json::value> payload =
      ParseJson(R"({"city":"Berlin","n":42,"tags":["a","b"],"nested":{"x":[1,{"y":null}],"f":1.5}})");
  EXPECT_TRUE(payload.ok());
  r.payload = payload->as_object();
  return r;
}

void ExpectSameRecord(const PointRecord& a, const PointRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.vectors, b.vectors);
  EXPECT_EQ(a.payload, b.payload);
  EXPECT_EQ(a.sparse, b.sparse);
}

PointId SampleUuid() {
  StatusOr<PointId> id = PointId::ParseUuid("936DA01F-9ABD-4D9D-80C7-02AF85C822A8");
  EXPECT_TRUE(id.ok());
  return *id;
}

TEST(PointRecordTest, RoundTripsNumericId) {
  PointRecord r = SampleRecord(PointId::Num(18446744073709551615ull));
  StatusOr<PointRecord> back = DecodePointRecord(EncodePointRecord(r));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameRecord(r, *back);
}

TEST(PointRecordTest, RoundTripsUuidId) {
  PointRecord r = SampleRecord(SampleUuid());
  StatusOr<PointRecord> back = DecodePointRecord(EncodePointRecord(r));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameRecord(r, *back);
  EXPECT_TRUE(back->id.is_uuid());
}

TEST(PointRecordTest, RoundTripsEmptyRecord) {
  PointRecord r;
  r.id = PointId::Num(0);
  StatusOr<PointRecord> back = DecodePointRecord(EncodePointRecord(r));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameRecord(r, *back);
}

TEST(PointRecordTest, RoundTripsPayloadNumberEdgeCases) {
  PointRecord r;
  r.id = PointId::Num(9);
  StatusOr<boost::json::value> payload = ParseJson(
      R"({"u":18446744073709551615,"i":-9223372036854775808,"big":1.7976931348623157e308,"neg0":-0.0,"tiny":5e-324,)"
      R"("s":"\u00e9\n\"","deep":[[[[{"x":[]}]]]]})");
  ASSERT_TRUE(payload.ok()) << payload.status();
  r.payload = payload->as_object();
  StatusOr<PointRecord> back = DecodePointRecord(EncodePointRecord(r));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameRecord(r, *back);
}

TEST(PointRecordTest, NonFiniteNumbersAreStoredAsNull) {
  PointRecord r;
  r.id = PointId::Num(9);
  r.payload["inf"] = std::numeric_limits<double>::infinity();
  r.payload["list"] = boost::json::array{1.5, std::numeric_limits<double>::quiet_NaN()};
  StatusOr<PointRecord> back = DecodePointRecord(EncodePointRecord(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(boost::json::serialize(back->payload), R"({"inf":null,"list":[1.5E0,null]})");
}

TEST(PointRecordTest, RoundTripsMutations) {
  Mutation upsert{Mutation::Kind::kUpsert, SampleRecord(SampleUuid())};
  StatusOr<Mutation> back = DecodeMutation(EncodeMutation(upsert));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, Mutation::Kind::kUpsert);
  ExpectSameRecord(upsert.record, back->record);

  Mutation del;
  del.kind = Mutation::Kind::kDelete;
  del.record.id = PointId::Num(7);
  back = DecodeMutation(EncodeMutation(del));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, Mutation::Kind::kDelete);
  EXPECT_EQ(back->record.id, PointId::Num(7));
  EXPECT_TRUE(back->record.vectors.empty());
}

TEST(PointRecordTest, RecordAndMutationBytesAreNotInterchangeable) {
  PointRecord r = SampleRecord(PointId::Num(3));
  EXPECT_EQ(DecodeMutation(EncodePointRecord(r)).status().code(), absl::StatusCode::kDataLoss);
}

TEST(PointRecordTest, EveryTruncationIsDataLoss) {
  const std::string bytes = EncodePointRecord(SampleRecord(SampleUuid()));
  for (size_t len = 0; len < bytes.size(); ++len) {
    StatusOr<PointRecord> r = DecodePointRecord(std::string_view(bytes).substr(0, len));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "length " << len;
  }
  const std::string mbytes = EncodeMutation({Mutation::Kind::kUpsert, SampleRecord(PointId::Num(1))});
  for (size_t len = 0; len < mbytes.size(); ++len) {
    StatusOr<Mutation> m = DecodeMutation(std::string_view(mbytes).substr(0, len));
    EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << "length " << len;
  }
}

TEST(PointRecordTest, BitFlipsAreDataLoss) {
  const std::string bytes = EncodePointRecord(SampleRecord(SampleUuid()));
  std::mt19937 rng(42);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string corrupt = bytes;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      const size_t bit = rng() % (corrupt.size() * 8);
      corrupt[bit / 8] = static_cast<char>(corrupt[bit / 8] ^ (1 << (bit % 8)));
    }
    // CRC32C detects all 1-3 bit errors in messages this short.
    EXPECT_EQ(DecodePointRecord(corrupt).status().code(), absl::StatusCode::kDataLoss) << trial;
  }
}

TEST(PointRecordTest, AppendedBytesAreDataLoss) {
  std::string bytes = EncodePointRecord(SampleRecord(PointId::Num(1)));
  bytes.push_back('\0');
  EXPECT_EQ(DecodePointRecord(bytes).status().code(), absl::StatusCode::kDataLoss);
}

// Hostile bytes with a valid checksum: length fields lie, so the decoder must check them itself.
TEST(PointRecordTest, RandomBytesWithValidChecksumNeverCrash) {
  const std::string good = EncodePointRecord(SampleRecord(SampleUuid()));
  std::mt19937 rng(7);
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string body = good.substr(0, good.size() - 4);
    // Overwrite a random run of bytes (often a length field) with random values.
    const size_t at = rng() % body.size();
    const size_t n = 1 + rng() % 4;
    for (size_t i = at; i < std::min(body.size(), at + n); ++i) body[i] = static_cast<char>(rng());
    if (trial % 3 == 0) body.resize(rng() % (body.size() + 1));
    AppendLe32(&body, ReferenceCrc32c(body));
    StatusOr<PointRecord> r = DecodePointRecord(body);
    if (r.ok()) {
      ++accepted;
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    }
    StatusOr<Mutation> m = DecodeMutation(body);
    if (!m.ok()) {
      EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  // Some corruptions only change float or name bytes and still decode; most must be rejected.
  EXPECT_LT(accepted, 3000);
}

TEST(PointRecordTest, HugeLengthsWithValidChecksumAreDataLoss) {
  std::string body;
  body.push_back(1);  // version
  body.push_back(0);  // integer id
  body.append(8, '\0');
  AppendLe32(&body, 1);            // one vector
  AppendLe32(&body, 0);            // named ""
  AppendLe32(&body, 0xFFFFFFFFu);  // dim far beyond the bytes present
  AppendLe32(&body, ReferenceCrc32c(body));
  EXPECT_EQ(DecodePointRecord(body).status().code(), absl::StatusCode::kDataLoss);

  std::string name_len;
  name_len.push_back(1);
  name_len.push_back(0);
  name_len.append(8, '\0');
  AppendLe32(&name_len, 1);
  AppendLe32(&name_len, 0x7FFFFFFFu);  // vector name length
  AppendLe32(&name_len, ReferenceCrc32c(name_len));
  EXPECT_EQ(DecodePointRecord(name_len).status().code(), absl::StatusCode::kDataLoss);
}

TEST(PointRecordTest, UnknownVersionIsDataLoss) {
  std::string bytes = EncodePointRecord(SampleRecord(PointId::Num(5)));
  bytes.resize(bytes.size() - 4);
  bytes[0] = 3;
  AppendLe32(&bytes, ReferenceCrc32c(bytes));
  StatusOr<PointRecord> r = DecodePointRecord(bytes);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("version"), std::string_view::npos);
}

TEST(PointRecordTest, ChecksumIsCrc32c) {
  ASSERT_EQ(ReferenceCrc32c("123456789"), 0xE3069283u);  // the standard check value
  const std::string bytes = EncodePointRecord(SampleRecord(PointId::Num(5)));
  std::string resigned = bytes.substr(0, bytes.size() - 4);
  AppendLe32(&resigned, ReferenceCrc32c(resigned));
  EXPECT_EQ(resigned, bytes);
}

PointRecord SparseRecord() {
  PointRecord r = SampleRecord(PointId::Num(77));
  r.sparse["text"] = SparseVector{{0, 7, 4294967295u}, {0.5f, -1.25f, 3.0f}};
  r.sparse["empty"] = SparseVector{};
  return r;
}

// A record written before sparse vectors existed (format version 1), built byte by byte here rather than
// by the encoder, so that a change to the encoder cannot hide a change to what old records look like.
TEST(PointRecordTest, DecodesRecordsOfTheFormatBeforeSparseVectors) {
  std::string old;
  old.push_back(1);                      // version 1
  old.push_back(0);                      // numeric id
  for (int i = 0; i < 8; ++i) old.push_back(i == 0 ? 9 : 0);  // id 9
  AppendLe32(&old, 1);                   // one vector
  AppendLe32(&old, 1);                   // name "v"
  old.push_back('v');
  AppendLe32(&old, 2);                   // dim 2
  AppendLe32(&old, 0x3F800000u);         // 1.0f
  AppendLe32(&old, 0xC0000000u);         // -2.0f
  const std::string payload = R"({"a":1})";
  AppendLe32(&old, static_cast<uint32_t>(payload.size()));
  old += payload;
  AppendLe32(&old, ReferenceCrc32c(old));
  StatusOr<PointRecord> r = DecodePointRecord(old);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, PointId::Num(9));
  EXPECT_EQ(r->vectors.at("v"), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(r->payload.at("a").as_int64(), 1);
  EXPECT_TRUE(r->sparse.empty());
  // And a record without sparse vectors is still written in exactly that format.
  PointRecord same;
  same.id = PointId::Num(9);
  same.vectors["v"] = {1.0f, -2.0f};
  same.payload = r->payload;
  EXPECT_EQ(EncodePointRecord(same), old);
}

TEST(PointRecordTest, RoundTripsSparseVectors) {
  const PointRecord r = SparseRecord();
  const std::string bytes = EncodePointRecord(r);
  EXPECT_EQ(bytes[0], 2);
  StatusOr<PointRecord> back = DecodePointRecord(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameRecord(r, *back);
  Mutation m;
  m.record = r;
  StatusOr<Mutation> mb = DecodeMutation(EncodeMutation(m));
  ASSERT_TRUE(mb.ok()) << mb.status();
  ExpectSameRecord(r, mb->record);
  // Only sparse vectors, no dense ones.
  PointRecord only;
  only.id = PointId::Num(1);
  only.sparse["s"] = SparseVector{{3}, {1.0f}};
  back = DecodePointRecord(EncodePointRecord(only));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameRecord(only, *back);
}

TEST(PointRecordTest, EveryTruncationOfASparseRecordIsDataLoss) {
  const std::string bytes = EncodePointRecord(SparseRecord());
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string cut = bytes.substr(0, n);
    if (cut.size() > 4) {  // re-sign, so that the field reader, not the checksum, sees the truncation
      cut.resize(cut.size() - 4);
      AppendLe32(&cut, ReferenceCrc32c(cut));
    }
    EXPECT_EQ(DecodePointRecord(cut).status().code(), absl::StatusCode::kDataLoss) << n;
  }
}

// Builds a version-2 record of id 1 with one sparse vector "s" from raw index and value bits.
std::string RawSparseRecord(uint32_t nnz, const std::vector<uint32_t>& indices, const std::vector<uint32_t>& bits) {
  std::string b;
  b.push_back(2);
  b.push_back(0);
  for (int i = 0; i < 8; ++i) b.push_back(i == 0 ? 1 : 0);
  AppendLe32(&b, 0);  // no dense vectors
  AppendLe32(&b, 0);  // empty payload
  AppendLe32(&b, 1);  // one sparse vector
  AppendLe32(&b, 1);
  b.push_back('s');
  AppendLe32(&b, nnz);
  for (uint32_t i : indices) AppendLe32(&b, i);
  for (uint32_t f : bits) AppendLe32(&b, f);
  AppendLe32(&b, ReferenceCrc32c(b));
  return b;
}

TEST(PointRecordTest, BadSparseVectorsAreDataLoss) {
  ASSERT_TRUE(DecodePointRecord(RawSparseRecord(2, {1, 5}, {0x3F800000u, 0x3F800000u})).ok());
  // Unsorted, duplicate, NaN, and a count far beyond the bytes present.
  EXPECT_EQ(DecodePointRecord(RawSparseRecord(2, {5, 1}, {0x3F800000u, 0x3F800000u})).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodePointRecord(RawSparseRecord(2, {5, 5}, {0x3F800000u, 0x3F800000u})).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodePointRecord(RawSparseRecord(1, {5}, {0x7FC00000u})).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodePointRecord(RawSparseRecord(0x7FFFFFFFu, {5}, {0x3F800000u})).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace vj

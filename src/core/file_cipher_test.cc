#include "core/file_cipher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/durable_file.h"
#include "core/test_dir.h"

namespace vj {
namespace {

std::shared_ptr<DataKey> MakeKey(const std::string& id, uint8_t fill) {
  auto key = std::make_shared<DataKey>();
  key->id = id;
  for (size_t i = 0; i < key->bytes.size(); ++i) key->bytes[i] = static_cast<uint8_t>(fill + i);
  return key;
}

std::string RawFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(FileCipherTest, GcmRoundTripAndWrongKeyRefused) {
  auto a = MakeKey("a", 1);
  auto b = MakeKey("b", 2);
  auto sealed = GcmSeal(a->bytes.data(), "aad", "the secret payload");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("secret"), std::string::npos);
  auto opened = GcmOpen(a->bytes.data(), "aad", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "the secret payload");
  EXPECT_EQ(GcmOpen(b->bytes.data(), "aad", *sealed).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(GcmOpen(a->bytes.data(), "other aad", *sealed).status().code(), absl::StatusCode::kDataLoss);
  std::string flipped = *sealed;
  flipped[kGcmNonceBytes + 3] ^= 1;
  EXPECT_EQ(GcmOpen(a->bytes.data(), "aad", flipped).status().code(), absl::StatusCode::kDataLoss);
}

TEST(FileCipherTest, EverySealUsesAFreshNonce) {
  auto key = MakeKey("k", 3);
  std::set<std::string> nonces;
  for (int i = 0; i < 1000; ++i) {
    auto sealed = SealBytes(*key, "same plaintext every time");
    ASSERT_TRUE(sealed.ok());
    const size_t header = sizeof(kSealedMagic) + 1 + key->id.size();
    nonces.insert(sealed->substr(header, kGcmNonceBytes));
  }
  EXPECT_EQ(nonces.size(), 1000u);
}

TEST(FileCipherTest, SealedBytesNameTheirKey) {
  auto a = MakeKey("key-a", 1);
  auto b = MakeKey("key-b", 1);  // same bytes, other id: refused by id before any decryption
  auto sealed = SealBytes(*a, "x");
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(UnsealBytes(*a, *sealed, "f").ok());
  EXPECT_EQ(UnsealBytes(*b, *sealed, "f").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(UnsealBytes(*a, sealed->substr(0, sealed->size() - 1), "f").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(FileCipherTest, CtrAtAnyOffsetMatchesTheWholeStream) {
  auto key = MakeKey("k", 9);
  uint8_t iv[16];
  for (int i = 0; i < 16; ++i) iv[i] = static_cast<uint8_t>(0xF0 + i);  // near a carry
  std::string plain(5000, '\0');
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<char>(i * 7);
  std::string whole = plain;
  ASSERT_TRUE(AesCtrXor(key->bytes.data(), iv, 0, whole.data(), whole.size()).ok());
  EXPECT_NE(whole, plain);
  for (size_t at : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{4095}, size_t{4999}}) {
    std::string piece = plain.substr(at);
    ASSERT_TRUE(AesCtrXor(key->bytes.data(), iv, at, piece.data(), piece.size()).ok());
    EXPECT_EQ(piece, whole.substr(at)) << at;
    ASSERT_TRUE(AesCtrXor(key->bytes.data(), iv, at, piece.data(), piece.size()).ok());
    EXPECT_EQ(piece, plain.substr(at)) << at;
  }
}

TEST(FileCipherTest, DurableFilesUnderAKeyedDirectoryAreSealed) {
  TestDir dir;
  const std::string path = dir.File("config.json");
  RegisterDirectoryKey(dir.path(), MakeKey("dir-key", 5));
  ASSERT_TRUE(WriteFileDurably(path, "{\"marker\":\"plain-marker-text\"}").ok());
  const std::string raw = RawFile(path);
  EXPECT_TRUE(IsSealed(raw));
  EXPECT_EQ(raw.find("plain-marker-text"), std::string::npos);
  auto back = ReadDurableFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "{\"marker\":\"plain-marker-text\"}");

  // A streamed file bigger than the writer's piece size, read through a decrypted descriptor.
  std::string big(3 << 20, 'v');
  {
    auto w = DurableFileWriter::Create(dir.File("big.bin"));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(big.data(), 1000).ok());
    ASSERT_TRUE((*w)->Append(big.data() + 1000, big.size() - 1000).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto fd = OpenPlainFile(dir.File("big.bin"));
  ASSERT_TRUE(fd.ok()) << fd.status();
  std::string read_back(big.size() + 1, '\0');
  size_t got = 0;
  for (ssize_t r; (r = ::read(*fd, read_back.data() + got, read_back.size() - got)) > 0;) got += r;
  ::close(*fd);
  EXPECT_EQ(got, big.size());
  EXPECT_EQ(read_back.substr(0, got), big);

  // A plaintext file planted in the keyed directory is refused, and so is a damaged one.
  ASSERT_TRUE(WriteFileDurably(dir.File("planted"), "x", Sealing::kNever).ok());
  EXPECT_EQ(ReadDurableFile(dir.File("planted")).status().code(), absl::StatusCode::kDataLoss);
  std::string damaged = raw;
  damaged[damaged.size() - 20] ^= 1;
  ASSERT_TRUE(WriteFileDurably(path, damaged, Sealing::kNever).ok());
  EXPECT_EQ(ReadDurableFile(path).status().code(), absl::StatusCode::kDataLoss);

  // Without the key the sealed file is not readable and says why.
  ASSERT_TRUE(WriteFileDurably(path, "again").ok());
  UnregisterDirectoryKey(dir.path());
  auto refused = ReadDurableFile(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("encryption.enabled"), std::string::npos);
}

TEST(FileCipherTest, LongestRegisteredDirectoryWins) {
  TestDir dir;
  auto outer = MakeKey("outer", 1);
  auto inner = MakeKey("inner", 2);
  RegisterDirectoryKey(dir.path(), outer);
  RegisterDirectoryKey(dir.File("collections/c1"), inner);
  EXPECT_EQ(DirectoryKeyFor(dir.File("aliases.json")), outer);
  EXPECT_EQ(DirectoryKeyFor(dir.File("collections/c1/shard_0/index/ids.bin")), inner);
  EXPECT_EQ(DirectoryKeyFor(dir.File("collections/c10/config.json")), outer);
  EXPECT_EQ(DirectoryKeyFor("/somewhere/else"), nullptr);
  UnregisterDirectoryKey(dir.File("collections/c1"));
  UnregisterDirectoryKey(dir.path());
  EXPECT_EQ(DirectoryKeyFor(dir.File("aliases.json")), nullptr);
}

}  // namespace
}  // namespace vj

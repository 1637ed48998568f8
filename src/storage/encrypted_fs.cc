#include "storage/encrypted_fs.h"

#include <cstring>
#include <string>

#include "rocksdb/env_encryption.h"

namespace vj {
namespace {

constexpr char kMagic[8] = {'V', 'J', 'R', 'K', 'E', 'N', 'C', '1'};
constexpr size_t kPrefixBytes = 4096;  // a page, as env_encryption.h advises
constexpr size_t kIvBytes = 16;

class CtrStream : public rocksdb::BlockAccessCipherStream {
 public:
  CtrStream(std::shared_ptr<const DataKey> key, const char* iv) : key_(std::move(key)) {
    std::memcpy(iv_, iv, kIvBytes);
  }
  size_t BlockSize() override { return 16; }
  rocksdb::Status Encrypt(uint64_t offset, char* data, size_t n) override { return Xor(offset, data, n); }
  rocksdb::Status Decrypt(uint64_t offset, char* data, size_t n) override { return Xor(offset, data, n); }

 protected:
  void AllocateScratch(std::string&) override {}
  rocksdb::Status EncryptBlock(uint64_t block, char* data, char*) override { return Xor(block * 16, data, 16); }
  rocksdb::Status DecryptBlock(uint64_t block, char* data, char*) override { return Xor(block * 16, data, 16); }

 private:
  rocksdb::Status Xor(uint64_t offset, char* data, size_t n) {
    Status st = AesCtrXor(key_->bytes.data(), iv_, offset, data, n);
    return st.ok() ? rocksdb::Status::OK() : rocksdb::Status::IOError(std::string(st.message()));
  }

  std::shared_ptr<const DataKey> key_;
  uint8_t iv_[kIvBytes];
};

class AesCtrProvider : public rocksdb::EncryptionProvider {
 public:
  explicit AesCtrProvider(std::shared_ptr<const DataKey> key) : key_(std::move(key)) {}
  const char* Name() const override { return "VJVectorAes256Ctr"; }
  size_t GetPrefixLength() const override { return kPrefixBytes; }

  rocksdb::Status CreateNewPrefix(const std::string&, char* prefix, size_t length) const override {
    if (length < kPrefixBytes) return rocksdb::Status::InvalidArgument("encryption prefix too short");
    std::memset(prefix, 0, length);
    std::memcpy(prefix, kMagic, sizeof(kMagic));
    prefix[sizeof(kMagic)] = static_cast<char>(key_->id.size());
    std::memcpy(prefix + sizeof(kMagic) + 1, key_->id.data(), key_->id.size());
    char* iv = prefix + sizeof(kMagic) + 1 + key_->id.size();
    if (Status st = RandomBytes(iv, kIvBytes); !st.ok()) return rocksdb::Status::IOError(std::string(st.message()));
    return rocksdb::Status::OK();
  }

  rocksdb::Status AddCipher(const std::string&, const char*, size_t, bool) override {
    return rocksdb::Status::NotSupported("keys come from the VJVector keyring");
  }

  rocksdb::Status CreateCipherStream(const std::string& fname, const rocksdb::EnvOptions&, rocksdb::Slice& prefix,
                                     std::unique_ptr<rocksdb::BlockAccessCipherStream>* result) override {
    if (prefix.size() < kPrefixBytes || std::memcmp(prefix.data(), kMagic, sizeof(kMagic)) != 0) {
      return rocksdb::Status::Corruption(fname + ": not encrypted by VJVector (no encryption prefix)");
    }
    const size_t id_bytes = static_cast<uint8_t>(prefix[sizeof(kMagic)]);
    const std::string id(prefix.data() + sizeof(kMagic) + 1, id_bytes);
    if (id != key_->id) {
      return rocksdb::Status::Corruption(fname + ": encrypted with data key " + id + ", not " + key_->id);
    }
    *result = std::make_unique<CtrStream>(key_, prefix.data() + sizeof(kMagic) + 1 + id_bytes);
    return rocksdb::Status::OK();
  }

 private:
  std::shared_ptr<const DataKey> key_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> NewEncryptedFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base,
                                                            std::shared_ptr<const DataKey> key) {
  return rocksdb::NewEncryptedFS(base, std::make_shared<AesCtrProvider>(std::move(key)));
}

std::unique_ptr<rocksdb::Env> NewEncryptedEnv(const std::shared_ptr<rocksdb::FileSystem>& base,
                                              std::shared_ptr<const DataKey> key) {
  return rocksdb::NewCompositeEnv(NewEncryptedFileSystem(base, std::move(key)));
}

}  // namespace vj

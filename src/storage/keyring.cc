#include "storage/keyring.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/durable_file.h"
#include "core/hex.h"
#include "core/json_fields.h"
#include "core/payload.h"

namespace vj {
namespace fs = std::filesystem;
namespace json = boost::json;
namespace {

constexpr int kKeysVersion = 1;

std::string MasterKeyId(const std::array<uint8_t, kAesKeyBytes>& key) {
  static constexpr char kLabel[] = "vjvector master key id";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, kLabel, sizeof(kLabel));
  EVP_DigestUpdate(ctx, key.data(), key.size());
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  return HexEncode(digest, 8);
}

std::string Aad(const std::string& key_id) { return "vjvector data key v1|" + key_id; }

// One keys.json: the data key's id, the id of the master key that wraps it, and the wrapped bytes.
struct WrappedKey {
  std::string key_id;
  std::string master_key_id;
  std::string wrapped;  // nonce | ciphertext | tag
};

std::string Encode(const WrappedKey& w) {
  json::object o;
  o["version"] = kKeysVersion;
  o["algorithm"] = "AES-256-GCM";
  o["key_id"] = w.key_id;
  o["master_key_id"] = w.master_key_id;
  o["wrapped_key"] = HexEncode(w.wrapped.data(), w.wrapped.size());
  return json::serialize(o) + "\n";
}

StatusOr<WrappedKey> ReadWrapped(const std::string& path) {
  VJ_ASSIGN_OR_RETURN(std::string text, ReadDurableFile(path, Sealing::kNever));
  auto bad = [&](const std::string& why) { return absl::DataLossError(path + ": " + why); };
  auto parsed = ParseJson(text, 4);
  if (!parsed.ok() || !parsed->is_object()) return bad("not a keys file");
  const json::object& o = parsed->as_object();
  const json::value* version = FindField(o, "version");
  if (version == nullptr || !version->is_int64() || version->as_int64() != kKeysVersion) {
    return bad("unknown version");
  }
  WrappedKey w;
  for (auto [field, into] : {std::pair{"key_id", &w.key_id}, std::pair{"master_key_id", &w.master_key_id},
                             std::pair{"wrapped_key", &w.wrapped}}) {
    const json::value* v = FindField(o, field);
    if (v == nullptr || !v->is_string()) return bad(std::string("no ") + field);
    *into = std::string(v->as_string());
  }
  std::string bytes;
  if (std::optional<std::string> decoded = HexDecode(w.wrapped); decoded) bytes = std::move(*decoded);
  if (bytes.size() != kGcmNonceBytes + kAesKeyBytes + kGcmTagBytes) {
    return bad("wrapped_key is not a wrapped 32-byte key");
  }
  w.wrapped = std::move(bytes);
  if (w.key_id.empty() || w.key_id.size() > 64) return bad("bad key_id");
  return w;
}

StatusOr<std::shared_ptr<DataKey>> Unwrap(const WrappedKey& w, const MasterKey& master, const std::string& path) {
  auto plain = GcmOpen(master.bytes.data(), Aad(w.key_id), w.wrapped);
  if (!plain.ok()) {
    return absl::FailedPreconditionError(
        path + ": the master key (id " + master.id + ") does not open data key " + w.key_id +
        ", which was wrapped by master key " + w.master_key_id +
        ": wrong encryption.master_key_file/master_key_command, or a rotation that did not finish "
        "(run `vjvector keys rotate-master` again)");
  }
  auto key = std::make_shared<DataKey>();
  key->id = w.key_id;
  std::memcpy(key->bytes.data(), plain->data(), kAesKeyBytes);
  OPENSSL_cleanse(plain->data(), plain->size());
  return key;
}

StatusOr<WrappedKey> Wrap(const DataKey& key, const MasterKey& master) {
  WrappedKey w;
  w.key_id = key.id;
  w.master_key_id = master.id;
  VJ_ASSIGN_OR_RETURN(w.wrapped, GcmSeal(master.bytes.data(), Aad(key.id),
                                         std::string_view(reinterpret_cast<const char*>(key.bytes.data()),
                                                          key.bytes.size())));
  return w;
}

StatusOr<std::shared_ptr<DataKey>> NewDataKey(const std::string& owner) {
  auto key = std::make_shared<DataKey>();
  uint8_t id[8];
  VJ_RETURN_IF_ERROR(RandomBytes(id, sizeof(id)));
  key->id = owner + "-" + HexEncode(id, sizeof(id));
  VJ_RETURN_IF_ERROR(RandomBytes(key->bytes.data(), key->bytes.size()));
  return key;
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Whether data_dir holds anything but empty directories: data written before encryption was enabled
// (collections, aliases, a security state, a cluster node's replicas, ...).
bool HoldsData(const std::string& data_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
    if (!entry.is_directory() || !fs::is_empty(entry.path(), ec)) return true;
  }
  return false;
}

// The collection directories that hold a collection (a config.json), as Database::Open sees them.
std::vector<std::string> CollectionDirs(const std::string& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir + "/collections", ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.empty() || name[0] == '.') continue;
    if (Exists(entry.path().string() + "/config.json")) out.push_back(entry.path().string());
  }
  return out;
}

}  // namespace

StatusOr<MasterKey> ParseMasterKey(std::string_view text, const std::string& what) {
  MasterKey key;
  std::string_view trimmed = text;
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!trimmed.empty() && space(trimmed.front())) trimmed.remove_prefix(1);
  while (!trimmed.empty() && space(trimmed.back())) trimmed.remove_suffix(1);
  std::string bytes;
  std::optional<std::string> decoded =
      trimmed.size() == 2 * kAesKeyBytes ? HexDecode(trimmed) : std::optional<std::string>();
  if (decoded) {
    bytes = std::move(*decoded);  // moved, not copied: the key's bytes live in one buffer
  } else if (text.size() == kAesKeyBytes) {
    bytes = std::string(text);
  } else {
    return absl::InvalidArgumentError(what + ": a master key is 64 hex digits or 32 raw bytes; got " +
                                      std::to_string(text.size()) + " bytes of something else");
  }
  std::memcpy(key.bytes.data(), bytes.data(), kAesKeyBytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  key.id = MasterKeyId(key.bytes);
  return key;
}

StatusOr<MasterKey> LoadMasterKeyFile(const std::string& path) {
  const std::string what = "encryption.master_key_file " + path;
  // Checked and read through one descriptor, opened without following a symbolic link: the file whose
  // mode and owner were checked is the one read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(what + ": " + (errno == ELOOP ? std::string("a symbolic link; name the key "
                                                                                      "file itself")
                                                                        : std::string(std::strerror(errno))));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return absl::FailedPreconditionError(what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return absl::FailedPreconditionError(what + ": not a regular file");
  if (st.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(what + ": owned by uid " + std::to_string(st.st_uid) +
                                         ", not by the user the node runs as");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return absl::FailedPreconditionError(what + ": mode " + mode +
                                         " lets others read it; a master key file must be 0600 (chmod 600)");
  }
  if (st.st_size > 4096) return absl::InvalidArgumentError(what + ": too large for a key");
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::FailedPreconditionError(what + ": cannot read it: " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  StatusOr<MasterKey> key = ParseMasterKey(text, what);
  OPENSSL_cleanse(text.data(), text.size());
  return key;
}

StatusOr<MasterKey> LoadMasterKeyCommand(const std::string& command) {
  const std::string what = "encryption.master_key_command";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::FailedPreconditionError(what + ": cannot run: " + std::strerror(errno));
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) {
    if (out.size() < 8192) out.append(buf, n);
  }
  const int status = ::pclose(pipe);
  if (status != 0) {
    OPENSSL_cleanse(out.data(), out.size());
    return absl::FailedPreconditionError(what + ": the command failed (exit status " +
                                         std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  auto key = ParseMasterKey(out, what + "'s output");
  OPENSSL_cleanse(out.data(), out.size());
  return key;
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Open(const std::string& data_dir, const MasterKey& master) {
  std::unique_ptr<Keyring> ring(new Keyring(master));
  const std::string node_file = data_dir + "/" + kKeysFile;
  // Every key is checked before anything is registered or written.
  std::vector<std::pair<std::string, std::shared_ptr<DataKey>>> keys;  // directory -> key
  std::shared_ptr<DataKey> node_key;
  if (Exists(node_file)) {
    VJ_ASSIGN_OR_RETURN(WrappedKey w, ReadWrapped(node_file));
    VJ_ASSIGN_OR_RETURN(node_key, Unwrap(w, master, node_file));
    for (const std::string& dir : CollectionDirs(data_dir)) {
      const std::string file = dir + "/" + kKeysFile;
      if (!Exists(file)) {
        return absl::FailedPreconditionError(dir + " has no " + kKeysFile + ": its data key is lost, or it was "
                                             "copied in from a data directory without encryption");
      }
      VJ_ASSIGN_OR_RETURN(WrappedKey cw, ReadWrapped(file));
      VJ_ASSIGN_OR_RETURN(std::shared_ptr<DataKey> key, Unwrap(cw, master, file));
      keys.emplace_back(dir, std::move(key));
    }
  } else {
    if (HoldsData(data_dir)) {
      return absl::FailedPreconditionError(
          data_dir + " holds data written without encryption (and no " + kKeysFile +
          "); encryption can be enabled on a new data directory only: start an encrypted node and move "
          "the collections over with snapshots");
    }
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) return absl::UnavailableError("cannot create " + data_dir + ": " + ec.message());
    VJ_ASSIGN_OR_RETURN(node_key, NewDataKey("node"));
    VJ_ASSIGN_OR_RETURN(WrappedKey w, Wrap(*node_key, master));
    VJ_RETURN_IF_ERROR(WriteFileDurably(node_file, Encode(w), Sealing::kNever));
  }
  RegisterDirectoryKey(data_dir, node_key);
  for (auto& [dir, key] : keys) RegisterDirectoryKey(dir, key);
  return ring;
}

Status Keyring::CreateCollectionKey(const std::string& dir) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<DataKey> key, NewDataKey("collection"));
  VJ_ASSIGN_OR_RETURN(WrappedKey w, Wrap(*key, master_));
  VJ_RETURN_IF_ERROR(WriteFileDurably(dir + "/" + kKeysFile, Encode(w), Sealing::kNever));
  RegisterDirectoryKey(dir, std::move(key));
  return absl::OkStatus();
}

Status Keyring::LoadCollectionKey(const std::string& dir) {
  const std::string file = dir + "/" + kKeysFile;
  VJ_ASSIGN_OR_RETURN(WrappedKey w, ReadWrapped(file));
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<DataKey> key, Unwrap(w, master_, file));
  RegisterDirectoryKey(dir, std::move(key));
  return absl::OkStatus();
}

void Keyring::ForgetDirectory(const std::string& dir) { UnregisterDirectoryKey(dir); }

Status CheckDataDirNotEncrypted(const std::string& data_dir) {
  if (Exists(data_dir + "/" + kKeysFile)) {
    return absl::FailedPreconditionError(data_dir + " is encrypted (it has " + kKeysFile +
                                         "): set encryption.enabled and the master key "
                                         "(encryption.master_key_file or encryption.master_key_command)");
  }
  return absl::OkStatus();
}

Status RotateMasterKey(const std::string& data_dir, const MasterKey& old_key, const MasterKey& new_key,
                       size_t* rotated) {
  *rotated = 0;
  const std::string node_file = data_dir + "/" + kKeysFile;
  if (!Exists(node_file)) return absl::FailedPreconditionError(data_dir + " has no " + kKeysFile + ": not encrypted");
  std::vector<std::string> files = {node_file};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir + "/collections", ec)) {
    const std::string file = entry.path().string() + "/" + kKeysFile;
    if (entry.is_directory() && Exists(file)) files.push_back(file);
  }
  // First every file must open, so that a wrong old key changes nothing.
  std::vector<std::pair<std::string, std::shared_ptr<DataKey>>> todo;
  for (const std::string& file : files) {
    VJ_ASSIGN_OR_RETURN(WrappedKey w, ReadWrapped(file));
    if (GcmOpen(new_key.bytes.data(), Aad(w.key_id), w.wrapped).ok()) continue;  // done by an earlier run
    VJ_ASSIGN_OR_RETURN(std::shared_ptr<DataKey> key, Unwrap(w, old_key, file));
    todo.emplace_back(file, std::move(key));
  }
  for (const auto& [file, key] : todo) {
    VJ_ASSIGN_OR_RETURN(WrappedKey w, Wrap(*key, new_key));
    VJ_RETURN_IF_ERROR(WriteFileDurably(file, Encode(w), Sealing::kNever));
    ++*rotated;
  }
  return absl::OkStatus();
}

}  // namespace vj

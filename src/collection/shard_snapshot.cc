#include "collection/shard_snapshot.h"

#include <fcntl.h>
#include <xxhash.h>

#include <cerrno>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "core/crash_point.h"
#include "core/durable_file.h"

namespace vj {
namespace {

constexpr char kMagic[4] = {'V', 'J', 'I', 'D'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kSeed = 0x736e617073686f74ULL;  // "snapshot"

std::string IndexDir(const std::string& dir) { return dir + "/index"; }

Status WriteSnapshotFiles(const ShardState& s, const std::string& index_dir);

// The file of vector `name` in the index directory `index_dir`.
std::string VectorFileIn(const std::string& index_dir, const std::string& name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : name) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return index_dir + "/vector-" + hex + ".hnsw";
}

std::string VectorFile(const std::string& dir, const std::string& name) {
  return VectorFileIn(IndexDir(dir), name);
}

template <typename T>
void Put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
bool Get(std::string_view& in, T* value) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(value, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

// Puts the complete snapshot in `next` in place of `current` (which may not exist): one atomic swap
// where the filesystem supports RENAME_EXCHANGE, else two renames (a crash between them leaves no
// snapshot: the next start rebuilds from the store).
Status SwapIn(const std::string& next, const std::string& current) {
  std::error_code ec;
  if (!std::filesystem::exists(current, ec)) {
    if (::rename(next.c_str(), current.c_str()) != 0) {
      return absl::UnavailableError("cannot rename " + next + ": " + std::strerror(errno));
    }
    return absl::OkStatus();
  }
  if (::renameat2(AT_FDCWD, next.c_str(), AT_FDCWD, current.c_str(), RENAME_EXCHANGE) == 0) {
    std::filesystem::remove_all(next, ec);  // now the previous snapshot
    return absl::OkStatus();
  }
  const std::string old = current + ".old";
  std::filesystem::remove_all(old, ec);
  if (::rename(current.c_str(), old.c_str()) != 0 || ::rename(next.c_str(), current.c_str()) != 0) {
    return absl::UnavailableError("cannot swap in " + next + ": " + std::strerror(errno));
  }
  std::filesystem::remove_all(old, ec);
  return absl::OkStatus();
}

}  // namespace

Status SaveShardSnapshot(const ShardState& s, const std::string& dir) {
  // Everything is written into index.new/ and swapped in only when complete, so a snapshot that fails
  // (a full disk) leaves the previous one as it was.
  const std::string next = IndexDir(dir) + ".new";
  std::error_code ec;
  std::filesystem::remove_all(next, ec);
  std::filesystem::create_directories(next, ec);
  if (ec) return absl::UnavailableError("cannot create " + next + ": " + ec.message());
  Status written = WriteSnapshotFiles(s, next);
  if (written.ok()) written = SwapIn(next, IndexDir(dir));
  if (written.ok()) written = SyncDirectory(dir);  // the swap itself survives a power loss
  if (!written.ok()) std::filesystem::remove_all(next, ec);
  return written;
}

namespace {

Status WriteSnapshotFiles(const ShardState& s, const std::string& index_dir) {
  for (const auto& [name, index] : s.vector_indexes) {
    VJ_RETURN_IF_ERROR(index->Save(VectorFileIn(index_dir, name)));
  }
  VJ_CRASH_POINT("index_snapshot");
  std::string bytes(kMagic, sizeof(kMagic));
  Put(bytes, kVersion);
  Put<uint64_t>(bytes, s.store->last_sequence());
  Put<uint64_t>(bytes, s.external_of.size());
  for (uint32_t internal = 0; internal < s.external_of.size(); ++internal) {
    const bool live = s.live.contains(internal);
    Put<uint8_t>(bytes, live ? 1 : 0);
    if (!live) continue;
    const std::string key = s.external_of[internal].Key();
    Put<uint8_t>(bytes, static_cast<uint8_t>(key.size()));
    bytes += key;
  }
  Put<uint64_t>(bytes, XXH64(bytes.data(), bytes.size(), kSeed));
  // Fsynced (and its directory), as the vector files are by Save: the whole of index.new/ is durable
  // before it is swapped in.
  return WriteFileDurably(index_dir + "/ids.bin", bytes);
}

}  // namespace

Status LoadShardSnapshot(ShardState& s, const std::string& dir,
                         std::vector<QuarantinedRecord>* quarantined) {
  std::ifstream in(IndexDir(dir) + "/ids.bin", std::ios::binary);
  if (!in) return absl::NotFoundError("no index snapshot in " + dir);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  auto corrupt = [&](const char* why) {
    return absl::DataLossError(IndexDir(dir) + "/ids.bin: " + why);
  };
  if (bytes.size() < sizeof(kMagic) + 4 + 8 + 8 + 8) return corrupt("truncated");
  uint64_t checksum;
  std::memcpy(&checksum, bytes.data() + bytes.size() - 8, 8);
  if (XXH64(bytes.data(), bytes.size() - 8, kSeed) != checksum) return corrupt("checksum mismatch");
  std::string_view view(bytes.data(), bytes.size() - 8);
  if (view.substr(0, 4) != std::string_view(kMagic, 4)) return corrupt("not an id map");
  view.remove_prefix(4);
  uint32_t version;
  uint64_t sequence, count;
  if (!Get(view, &version) || version != kVersion) return corrupt("unknown format version");
  if (!Get(view, &sequence) || !Get(view, &count) || count > (uint64_t{1} << 32)) return corrupt("bad header");
  if (sequence != s.store->last_sequence()) {
    return absl::FailedPreconditionError("index snapshot covers sequence " + std::to_string(sequence) +
                                         ", the store is at " + std::to_string(s.store->last_sequence()));
  }
  std::unordered_map<std::string, uint32_t> internal_by_key;
  for (uint32_t internal = 0; internal < count; ++internal) {
    uint8_t live, length;
    if (!Get(view, &live)) return corrupt("truncated id list");
    if (!live) continue;
    if (!Get(view, &length) || view.size() < length) return corrupt("truncated id");
    internal_by_key.emplace(std::string(view.substr(0, length)), internal);
    view.remove_prefix(length);
  }
  if (!view.empty()) return corrupt("trailing bytes");

  for (const auto& [name, params] : s.config.vectors) {
    VJ_ASSIGN_OR_RETURN(s.vector_indexes[name],
                        LoadHnswIndex(VectorFile(dir, name), params.size, params.distance,
                                      s.IndexParamsFor(name)));
  }
  s.external_of.assign(count, PointId());
  s.payloads.assign(count, Payload());
  size_t matched = 0;
  VJ_RETURN_IF_ERROR(s.store->RecoverEach([&](PointRecord&& record) -> Status {
    auto it = internal_by_key.find(record.id.Key());
    if (it == internal_by_key.end()) {
      return absl::DataLossError("point " + record.id.ToString() + " is stored but not in the index snapshot");
    }
    const uint32_t internal = it->second;
    s.external_of[internal] = record.id;
    s.payloads[internal] = std::move(record.payload);
    s.internal_of[record.id] = internal;
    s.live.add(internal);
    ++matched;
    return absl::OkStatus();
  }, quarantined));
  if (matched != internal_by_key.size()) return corrupt("names points the store does not hold");
  s.next_internal = static_cast<uint32_t>(count);
  return absl::OkStatus();
}

}  // namespace vj

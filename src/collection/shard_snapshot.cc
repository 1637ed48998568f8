#include "collection/shard_snapshot.h"

#include <fcntl.h>
#include <xxhash.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <mutex>
#include <shared_mutex>

#include "collection/shard_apply.h"
#include "core/crash_point.h"
#include "core/durable_file.h"
#include "core/hex.h"

namespace vj {
namespace {

constexpr char kMagic[4] = {'V', 'J', 'I', 'D'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kSeed = 0x736e617073686f74ULL;  // "snapshot"

std::string IndexDir(const std::string& dir) { return dir + "/index"; }

// The file of vector `name` in the index directory `index_dir`.
std::string VectorFileIn(const std::string& index_dir, const std::string& name) {
  return index_dir + "/vector-" + HexEncode(name) + ".hnsw";
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

// The id map as ids.bin holds it (without its checksum), copied under state.mu held shared: the live
// points' keys by internal id, stamped with the sequence of the last mutation applied to the maps.
std::string EncodeIdMap(const ShardState& s) {
  std::shared_lock lock(s.mu);
  std::string bytes(kMagic, sizeof(kMagic));
  Put(bytes, kVersion);
  Put<uint64_t>(bytes, s.applied_sequence);
  // Not next_internal: the writer moves it without the lock; external_of covers every id the maps use.
  Put<uint64_t>(bytes, s.external_of.size());
  for (uint32_t internal = 0; internal < s.external_of.size(); ++internal) {
    const bool live = s.live.contains(internal);
    Put<uint8_t>(bytes, live ? 1 : 0);
    if (!live) continue;
    const std::string key = s.external_of[internal].Key();
    Put<uint8_t>(bytes, static_cast<uint8_t>(key.size()));
    bytes += key;
  }
  return bytes;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Status SaveShardSnapshot(const ShardState& s, const std::string& dir, IndexSnapshotWritten* written) {
  const auto start = std::chrono::steady_clock::now();
  // The id map first: every point it holds live was inserted into the vector indexes before it became
  // live (shard_apply.h), so the indexes saved after it hold each of them (points that die meanwhile are
  // tombstoned there, and the log entry that killed them is replayed at load).
  std::string ids = EncodeIdMap(s);
  uint64_t sequence;
  std::memcpy(&sequence, ids.data() + sizeof(kMagic) + sizeof(kVersion), sizeof(sequence));
  Put<uint64_t>(ids, XXH64(ids.data(), ids.size(), kSeed));

  // Everything is written into index.new/ and swapped in only when complete, so a snapshot that fails
  // (a full disk) or a crash leaves the previous one as it was.
  const std::string next = IndexDir(dir) + ".new";
  std::error_code ec;
  std::filesystem::remove_all(next, ec);
  std::filesystem::create_directories(next, ec);
  if (ec) return absl::UnavailableError("cannot create " + next + ": " + ec.message());
  double saving_s = 0;
  Status status = absl::OkStatus();
  for (const auto& [name, index] : s.vector_indexes) {
    const auto saving = std::chrono::steady_clock::now();
    status = index->Save(VectorFileIn(next, name));
    saving_s += SecondsSince(saving);
    if (!status.ok()) break;
  }
  if (status.ok()) {
    VJ_CRASH_POINT("index_snapshot");
    // Fsynced (and its directory), as the vector files are by Save: the whole of index.new/ is durable
    // before it is swapped in.
    status = WriteFileDurably(next + "/ids.bin", ids);
  }
  if (status.ok()) status = SwapIn(next, IndexDir(dir));
  if (status.ok()) status = SyncDirectory(dir);  // the swap itself survives a power loss
  if (!status.ok()) {
    std::filesystem::remove_all(next, ec);
    return status;
  }
  if (written != nullptr) *written = IndexSnapshotWritten{sequence, SecondsSince(start), saving_s};
  return absl::OkStatus();
}

namespace {

// Applies the store's log entries from..last over the state, as the writer applied them.
Status ReplayLog(ShardState& s, uint64_t from, uint64_t last, size_t insert_threads, uint64_t* replayed) {
  constexpr size_t kChunk = 4096;
  std::vector<LoggedMutation> entries;
  while (from <= last) {
    entries.clear();
    VJ_RETURN_IF_ERROR(s.store->ReadLog(from, kChunk, &entries));
    if (entries.empty() || entries.front().sequence != from) {
      return absl::DataLossError("the mutation log has no entry " + std::to_string(from));
    }
    std::vector<const Mutation*> order;
    order.reserve(entries.size());
    for (const LoggedMutation& e : entries) {
      if (e.sequence > last) break;
      order.push_back(&e.mutation);
    }
    // The log does not say which upserts changed only the payload: re-inserting the vector is right
    // for both (the old entry becomes a tombstone).
    ApplyToShardState(s, order, std::vector<bool>(order.size(), true), insert_threads,
                      from + order.size() - 1);
    *replayed += order.size();
    from += order.size();
  }
  return absl::OkStatus();
}

}  // namespace

Status LoadShardSnapshot(ShardState& s, const std::string& dir, size_t insert_threads,
                         IndexSnapshotLoaded* loaded, std::vector<QuarantinedRecord>* quarantined) {
  const auto start = std::chrono::steady_clock::now();
  auto read = ReadDurableFile(IndexDir(dir) + "/ids.bin");
  if (absl::IsNotFound(read.status())) return absl::NotFoundError("no index snapshot in " + dir);
  if (!read.ok()) return read.status();
  const std::string bytes = std::move(*read);
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
  const uint64_t last = s.store->last_sequence();
  if (sequence > last) {
    return absl::FailedPreconditionError("index snapshot covers sequence " + std::to_string(sequence) +
                                         ", past the store's last " + std::to_string(last) +
                                         " (the store was rolled back)");
  }
  if (sequence + 1 < s.store->first_log_sequence()) {
    return absl::FailedPreconditionError("index snapshot covers sequence " + std::to_string(sequence) +
                                         " but the log was trimmed up to " +
                                         std::to_string(s.store->first_log_sequence() - 1));
  }
  s.external_of.assign(count, PointId());
  s.payloads.assign(count, Payload());
  for (uint32_t internal = 0; internal < count; ++internal) {
    uint8_t live, length;
    if (!Get(view, &live)) return corrupt("truncated id list");
    if (!live) continue;
    if (!Get(view, &length) || view.size() < length) return corrupt("truncated id");
    StatusOr<PointId> id = PointId::FromKey(view.substr(0, length));
    if (!id.ok() || !s.internal_of.emplace(*id, internal).second) return corrupt("bad point id");
    s.external_of[internal] = *id;
    s.live.add(internal);
    view.remove_prefix(length);
  }
  if (!view.empty()) return corrupt("trailing bytes");
  s.next_internal = static_cast<uint32_t>(count);
  s.applied_sequence = sequence;

  for (const auto& [name, params] : s.config.vectors) {
    VJ_ASSIGN_OR_RETURN(s.vector_indexes[name],
                        LoadHnswIndex(VectorFile(dir, name), params.size, params.distance,
                                      s.IndexParamsFor(name)));
  }
  s.CreateSparseIndexes();  // filled by the replay, then from the store below
  const double files_s = SecondsSince(start);
  const auto replaying = std::chrono::steady_clock::now();
  uint64_t replayed = 0;
  VJ_RETURN_IF_ERROR(ReplayLog(s, sequence + 1, last, insert_threads, &replayed));
  const double replay_s = SecondsSince(replaying);
  // The snapshot's indexes may hold entries of points that were dead in its id map (removed after the
  // copy of the map) or of writes the replay made again under other ids: tombstone them.
  for (uint32_t internal = 0; internal < s.next_internal; ++internal) {
    if (s.live.contains(internal)) continue;
    for (auto& [name, index] : s.vector_indexes) index->Remove(internal);
  }

  // The store is the truth: every stored point must be live in the state, and its payload comes from
  // there.
  size_t matched = 0;
  VJ_RETURN_IF_ERROR(s.store->RecoverEach([&](PointRecord&& record) -> Status {
    auto it = s.internal_of.find(record.id);
    if (it == s.internal_of.end()) {
      return absl::DataLossError("point " + record.id.ToString() + " is stored but not in the index snapshot");
    }
    s.payloads[it->second] = std::move(record.payload);
    for (auto& [name, v] : record.sparse) {
      auto sparse = s.sparse_indexes.find(name);
      if (sparse == s.sparse_indexes.end()) {
        return absl::DataLossError("point " + record.id.ToString() + " has sparse vector \"" + name +
                                   "\", which the collection does not have");
      }
      sparse->second->Insert(it->second, std::move(v));
    }
    ++matched;
    return absl::OkStatus();
  }, quarantined));
  if (matched != s.internal_of.size()) return corrupt("names points the store does not hold");
  if (loaded != nullptr) *loaded = IndexSnapshotLoaded{sequence, replayed, files_s, replay_s};
  return absl::OkStatus();
}

}  // namespace vj

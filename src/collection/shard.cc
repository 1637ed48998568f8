#include "collection/shard.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "collection/index_compactor.h"
#include "collection/index_snapshotter.h"
#include "collection/shard_writer.h"
#include "collection/payload_edit.h"
#include "collection/shard_snapshot.h"
#include "collection/shard_state.h"
#include "core/payload_limits.h"

#include "tracing/tracer.h"

namespace vj {

Shard::Shard(std::string name, std::string dir, CollectionOptions options)
    : name_(std::move(name)), dir_(std::move(dir)), options_(options),
      state_(std::make_unique<ShardState>()) {}

Shard::~Shard() {
  // A background snapshot in progress completes; a rebuild in progress is cancelled (the index stays as
  // it was); then queued writes drain.
  if (snapshotter_) snapshotter_->Stop();
  if (compactor_) compactor_->Stop();
  writer_.reset();
  if (state_->store) {
    // Best effort: without a snapshot the next start replays the log over the last background one, or
    // rebuilds the indexes from the store.
    if (options_.index_snapshot_on_close) (void)SaveShardSnapshot(*state_, dir_);
    (void)state_->store->Flush();
  }
}

Status Shard::SaveIndexSnapshot() {
  std::lock_guard lock(snapshot_mu_);
  IndexSnapshotWritten written;
  VJ_RETURN_IF_ERROR(SaveShardSnapshot(*state_, dir_, &written));
  snapshot_sequence_.store(written.sequence, std::memory_order_release);
  // The log keeps what a restart must replay over this snapshot (PointStore::SetLogTrimFloor).
  if (snapshotter_policy().enabled()) state_->store->SetLogTrimFloor(written.sequence + 1);
  spdlog::info("shard {}: index snapshot at sequence {} written in {:.3f} s (vector index saves {:.3f} s)",
               name_, written.sequence, written.seconds, written.vector_saves_s);
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<Shard>> Shard::Open(std::string name, std::string dir,
                                                       CollectionConfig config,
                                                       const CollectionOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError("cannot create " + dir + ": " + ec.message());
  std::unique_ptr<Shard> collection(new Shard(std::move(name), dir, options));
  collection->state_->config = std::move(config);
  PointStoreOptions store_options;
  store_options.min_free_bytes = options.min_free_disk_bytes;
  VJ_ASSIGN_OR_RETURN(collection->state_->store, PointStore::Open(dir + "/store", store_options));
  VJ_RETURN_IF_ERROR(collection->Load());
  collection->compactor_ =
      std::make_unique<IndexCompactor>(*collection->state_, options.compaction_threads, options.rebuild_slots);
  Shard* shard = collection.get();
  collection->snapshotter_ = std::make_unique<IndexSnapshotter>(
      collection->name_, collection->snapshotter_policy(), [shard] { return shard->SaveIndexSnapshot(); });
  WriteQueueLimits limits;
  limits.max_mutations = options.write_queue_max_mutations;
  limits.max_bytes = options.write_queue_max_bytes;
  limits.full_wait = std::chrono::milliseconds(options.write_queue_full_wait_ms);
  collection->writer_ = std::make_unique<ShardWriter>(*collection->state_, options.max_batch_mutations,
                                                      options.build_threads, limits,
                                                      *collection->compactor_,
                                                      collection->snapshotter_.get());
  return collection;
}

Status Shard::Load() {
  const auto start = std::chrono::steady_clock::now();
  ShardState& s = *state_;
  std::vector<QuarantinedRecord> quarantined;
  IndexSnapshotLoaded loaded;
  Status from_snapshot = LoadShardSnapshot(s, dir_, options_.build_threads, &loaded, &quarantined);
  if (from_snapshot.ok()) {
    ReportQuarantined(quarantined);
    loaded_from_snapshot_ = true;
    replayed_log_entries_ = loaded.replayed;
    snapshot_sequence_.store(loaded.sequence, std::memory_order_release);
    if (snapshotter_policy().enabled()) s.store->SetLogTrimFloor(loaded.sequence + 1);
    for (const auto& [key, type] : s.config.payload_schema) {
      VJ_RETURN_IF_ERROR(s.BuildPayloadIndex(key, type));
    }
    load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("shard {}: loaded {} points from the index snapshot at sequence {} and replayed {} log "
                 "entries in {:.3f} s (snapshot files {:.3f} s, replay {:.3f} s)", name_, s.internal_of.size(),
                 loaded.sequence, loaded.replayed, load_seconds_, loaded.files_s, loaded.replay_s);
    return absl::OkStatus();
  }
  // No usable snapshot (none, trimmed log, rolled-back store, or corrupt): rebuild from the store.
  s.Clear();
  std::map<std::string, std::vector<std::vector<float>>> vectors;
  VJ_RETURN_IF_ERROR(s.store->RecoverEach([&](PointRecord&& record) -> Status {
    const uint32_t internal = s.next_internal++;
    for (auto& [name, values] : record.vectors) {
      auto it = s.config.vectors.find(name);
      if (it == s.config.vectors.end() || it->second.size != values.size()) {
        return absl::DataLossError("stored point " + record.id.ToString() +
                                   " does not match the collection's vectors");
      }
      vectors[name].resize(internal + 1);
      vectors[name][internal] = std::move(values);
    }
    for (auto& [name, v] : record.sparse) {
      auto it = s.sparse_indexes.find(name);
      if (it == s.sparse_indexes.end()) {
        return absl::DataLossError("stored point " + record.id.ToString() + " has sparse vector \"" + name +
                                   "\", which the collection does not have");
      }
      it->second->Insert(internal, std::move(v));
    }
    s.external_of.push_back(record.id);
    s.payloads.push_back(std::move(record.payload));
    s.internal_of[record.id] = internal;
    s.live.add(internal);
    return absl::OkStatus();
  }, &quarantined));
  ReportQuarantined(quarantined);
  s.applied_sequence = s.store->last_sequence();  // no writer yet: the scan saw exactly that
  for (auto& [name, per_point] : vectors) {
    std::vector<uint32_t> ids;
    std::vector<const float*> data;
    for (uint32_t i = 0; i < per_point.size(); ++i) {
      if (per_point[i].empty()) continue;
      ids.push_back(i);
      data.push_back(per_point[i].data());
    }
    s.vector_indexes[name]->InsertBatch(ids, data, options_.build_threads);
  }
  for (const auto& [key, type] : s.config.payload_schema) {
    VJ_RETURN_IF_ERROR(s.BuildPayloadIndex(key, type));
  }
  load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("shard {}: rebuilt the indexes of {} points from the store in {:.3f} s ({})", name_,
               s.internal_of.size(), load_seconds_,
               absl::IsNotFound(from_snapshot) ? std::string("no index snapshot")
                                               : "index snapshot not used: " + StatusMessage(from_snapshot));
  return absl::OkStatus();
}

IndexSnapshotPolicy Shard::snapshotter_policy() const {
  return IndexSnapshotPolicy{options_.index_snapshot_every_mutations, options_.index_snapshot_interval_s};
}

void Shard::ReportQuarantined(const std::vector<QuarantinedRecord>& quarantined) const {
  for (const QuarantinedRecord& q : quarantined) {
    StatusOr<PointId> id = PointId::FromKey(q.key);
    spdlog::error("shard {}: point record {} does not decode and was moved to the quarantine: {}", name_,
                  id.ok() ? id->ToString() : "with key of " + std::to_string(q.key.size()) + " bytes",
                  q.reason);
  }
}

uint64_t Shard::quarantined_records() const { return state_->store->quarantined_count(); }

bool Shard::write_blocked() const { return state_->store->write_blocked(); }

CollectionConfig Shard::config() const {
  std::shared_lock lock(state_->mu);
  return state_->config;
}

void Shard::DescribeSpan(Span& span, std::string_view operation) const {
  span.SetAttribute("db.system.name", "vjvector");
  span.SetAttribute("db.operation.name", operation);
  std::string_view name = name_;
  span.SetAttribute("db.collection.name", name.substr(0, name.rfind('/')));
  span.SetAttribute("vjvector.shard", name_);
}

Status Shard::Submit(std::unique_ptr<WriteRequest> request, WriteWait wait, int64_t apply_by_unix_ms) {
  request->apply_by_unix_ms = apply_by_unix_ms;
  // The shard's write: queueing, the group commit (its own span, on the writer thread: a child of this
  // one through request->trace) and, when the caller waits, until it is durable and applied.
  Span span = StartSpan("shard.write");
  if (span.recording()) {
    DescribeSpan(span, "write");
    span.SetAttribute("vjvector.mutations", uint64_t{request->mutations.size()});
    span.SetAttribute("vjvector.wait", wait != WriteWait::kNone);
  }
  request->trace = span.context();
  Status status = SubmitUntraced(std::move(request), wait);
  if (!status.ok()) span.SetError(status);
  return status;
}

Status Shard::SubmitUntraced(std::unique_ptr<WriteRequest> request, WriteWait wait) {
  Clock::time_point deadline = Clock::time_point::max();
  if (wait == WriteWait::kClient && options_.write_timeout_ms > 0) {
    deadline = Clock::now() + std::chrono::milliseconds(options_.write_timeout_ms);
  }
  VJ_ASSIGN_OR_RETURN(std::future<Status> done,
                      writer_->Submit(std::move(request), wait != WriteWait::kNone, deadline));
  if (wait == WriteWait::kNone) return absl::OkStatus();
  if (deadline != Clock::time_point::max() &&
      done.wait_until(deadline) == std::future_status::timeout) {
    return absl::DeadlineExceededError(
        "the write was not confirmed within " + std::to_string(options_.write_timeout_ms) +
        " ms (write_timeout_ms): it is queued and may still be applied; read the points back before "
        "retrying it");
  }
  return done.get();
}

void Shard::WaitForQueuedWrites() {
  auto barrier = std::make_unique<WriteRequest>();
  (void)Submit(std::move(barrier), WriteWait::kInternal);
}

void Shard::WaitForIndexMaintenance() {
  WaitForQueuedWrites();
  compactor_->WaitIdle();
}

uint64_t Shard::compactions() const { return compactor_->compactions(); }

Status Shard::Flush() { return state_->store->Flush(); }

Status Shard::Checkpoint(const std::string& shard_dir, uint64_t* sequence) {
  // A fresh index snapshot first, so that a collection recovered from the copy loads its indexes and
  // replays only the writes made between it and the store's copy, rather than rebuilding them.
  VJ_RETURN_IF_ERROR(SaveIndexSnapshot());
  {
    // Held while the files are linked: no other snapshot replaces them meanwhile. Snapshot files are
    // never changed in place (a new snapshot is a new directory renamed over the old), so hard links
    // are a consistent copy; another file system gets a copy.
    std::lock_guard lock(snapshot_mu_);
    const std::filesystem::path from = dir_ + "/index";
    const std::filesystem::path to = shard_dir + "/index";
    std::error_code ec;
    std::filesystem::create_directories(to, ec);
    if (ec) return absl::UnavailableError("cannot create " + to.string() + ": " + ec.message());
    for (const auto& entry : std::filesystem::directory_iterator(from, ec)) {
      if (!entry.is_regular_file()) continue;
      const std::filesystem::path target = to / entry.path().filename();
      std::filesystem::create_hard_link(entry.path(), target, ec);
      if (ec) {
        ec.clear();
        std::filesystem::copy_file(entry.path(), target, ec);
      }
      if (ec) return absl::UnavailableError("cannot copy " + entry.path().string() + ": " + ec.message());
    }
    if (ec) return absl::UnavailableError("cannot list " + from.string() + ": " + ec.message());
  }
  // The store after the index files: the copy holds every write the index snapshot holds, and the log
  // after it (SetLogTrimFloor keeps it), so the snapshot is never newer than the store it is opened with.
  return state_->store->Checkpoint(shard_dir + "/store", sequence);
}

TraceContext Shard::TraceOfLog(uint64_t after, uint64_t upto) const { return writer_->TraceOf(after, upto); }

Status Shard::ReadLog(uint64_t from, size_t max_entries, std::vector<LoggedMutation>* out) const {
  return state_->store->ReadLog(from, max_entries, out);
}

Status Shard::ApplyLogged(std::vector<LoggedMutation> entries) {
  auto request = std::make_unique<WriteRequest>();
  for (const LoggedMutation& e : entries) request->held_bytes += QueuedBytes(e.mutation);
  // Checked on the writer thread, where last_sequence cannot move under us.
  // Runs once, on the writer thread: the entries' records move into the batch instead of being copied.
  request->build = [entries = std::move(entries)](const ShardState& s) mutable -> StatusOr<std::vector<Mutation>> {
    const uint64_t last = s.store->last_sequence();
    std::vector<Mutation> out;
    uint64_t expected = last + 1;
    for (LoggedMutation& e : entries) {
      if (e.sequence < expected && out.empty()) continue;  // already applied
      if (e.sequence != expected) {
        return absl::FailedPreconditionError("replication gap: expected log entry " +
                                             std::to_string(expected) + ", got " +
                                             std::to_string(e.sequence));
      }
      out.push_back(std::move(e.mutation));
      ++expected;
    }
    return out;
  };
  return Submit(std::move(request), WriteWait::kInternal);
}

Status Shard::ForEachPoint(const std::function<Status(PointRecord&&)>& fn) const {
  return state_->store->ForEach(fn);
}

Status Shard::DeleteAllPoints() {
  auto request = std::make_unique<WriteRequest>();
  request->build = [](const ShardState& s) -> StatusOr<std::vector<Mutation>> {
    std::shared_lock lock(s.mu);
    std::vector<Mutation> out(s.internal_of.size());
    size_t i = 0;
    for (const auto& [id, internal] : s.internal_of) {
      out[i].kind = Mutation::Kind::kDelete;
      out[i++].record.id = id;
    }
    return out;
  };
  return Submit(std::move(request), WriteWait::kInternal);
}

Status Shard::ApplyMutations(std::vector<Mutation> mutations) {
  auto request = std::make_unique<WriteRequest>();
  request->mutations = std::move(mutations);
  return Submit(std::move(request), WriteWait::kInternal);
}

Status Shard::ResetSequence(uint64_t sequence) {
  // Held until the reset is done: a background snapshot that began before it must not be swapped in
  // after it. (Taken here, not on the writer thread: a snapshot in progress waits for state.mu, which
  // the writer holds while it reconfigures.)
  std::lock_guard snapshots(snapshot_mu_);
  auto request = std::make_unique<WriteRequest>();
  const std::string index_dir = dir_ + "/index";
  request->reconfigure = [sequence, index_dir](ShardState& s) -> Status {
    // An index snapshot stamped with a sequence the store may reach again with other contents.
    std::error_code ec;
    std::filesystem::remove_all(index_dir, ec);
    if (ec) return absl::UnavailableError("cannot remove " + index_dir + ": " + ec.message());
    VJ_RETURN_IF_ERROR(s.store->ResetSequence(sequence));
    s.applied_sequence = sequence;
    return absl::OkStatus();
  };
  Status reset = Submit(std::move(request), WriteWait::kInternal);
  if (reset.ok()) snapshot_sequence_.store(0, std::memory_order_release);
  return reset;
}

namespace {

// Names, dimensions and finiteness of the vectors a point carries.
Status CheckGivenVectors(const CollectionConfig& config, const PointInput& point) {
  const std::string who = "point " + point.id.ToString();
  for (const auto& [name, values] : point.vectors) {
    auto it = config.vectors.find(name);
    if (it == config.vectors.end()) {
      return absl::InvalidArgumentError(who + ": " + (name.empty() ? std::string("unnamed vector")
                                                                   : "vector \"" + name + "\"") +
                                        " is not configured in this collection");
    }
    if (values.size() != it->second.size) {
      return absl::InvalidArgumentError(
          who + ": wrong vector dimension" + (name.empty() ? "" : " for \"" + name + "\"") +
          ": expected " + std::to_string(it->second.size) + ", got " +
          std::to_string(values.size()));
    }
    VJ_RETURN_IF_ERROR(CheckVectorValues(values.data(), values.size(), who + ": vector"));
  }
  for (const auto& [name, v] : point.sparse) {
    if (config.sparse_vectors.find(name) == config.sparse_vectors.end()) {
      return absl::InvalidArgumentError(who + ": sparse vector \"" + name + "\" is not configured in this collection" +
                                        (config.vectors.count(name) != 0 ? " (it is a dense vector)" : ""));
    }
    VJ_RETURN_IF_ERROR(ValidateSparseVector(v, kMaxSparseNnzHardLimit, who + ": sparse vector \"" + name + "\""));
  }
  return absl::OkStatus();
}

}  // namespace

Status ValidatePointVectors(const CollectionConfig& config, const PointInput& point) {
  VJ_RETURN_IF_ERROR(CheckGivenVectors(config, point));
  if (config.has_unnamed_vector() && point.vectors.empty()) {
    return absl::InvalidArgumentError("point " + point.id.ToString() + ": missing vector");
  }
  return absl::OkStatus();
}

Status ValidateVectorUpdate(const CollectionConfig& config, const PointInput& point) {
  VJ_RETURN_IF_ERROR(CheckGivenVectors(config, point));
  if (point.vectors.empty() && point.sparse.empty()) {
    return absl::InvalidArgumentError("point " + point.id.ToString() + ": no vector to update");
  }
  return absl::OkStatus();
}

Status ValidateVectorNames(const CollectionConfig& config, const std::vector<std::string>& names,
                           const std::string& where) {
  if (names.empty()) return absl::InvalidArgumentError(where + ": expected at least one vector name");
  for (size_t i = 0; i < names.size(); ++i) {
    if (config.vectors.find(names[i]) == config.vectors.end() &&
        config.sparse_vectors.find(names[i]) == config.sparse_vectors.end()) {
      return absl::InvalidArgumentError(where + "[" + std::to_string(i) + "]: vector \"" + names[i] +
                                        "\" is not configured in this collection");
    }
  }
  return absl::OkStatus();
}

Status Shard::Upsert(std::vector<PointInput> points, bool wait) { return Upsert(std::move(points), wait, 0); }

Status Shard::Upsert(std::vector<PointInput> points, bool wait, int64_t apply_by_unix_ms) {
  const CollectionConfig cfg = config();
  for (const PointInput& p : points) VJ_RETURN_IF_ERROR(ValidatePointVectors(cfg, p));
  auto request = std::make_unique<WriteRequest>();
  request->mutations.reserve(points.size());
  for (PointInput& p : points) {
    Mutation m;
    m.kind = Mutation::Kind::kUpsert;
    m.record.id = p.id;
    m.record.vectors = std::move(p.vectors);
    m.record.payload = std::move(p.payload);
    for (auto& [name, v] : p.sparse) CanonicalizeSparseVector(&v);
    m.record.sparse = std::move(p.sparse);
    request->mutations.push_back(std::move(m));
  }
  return Submit(std::move(request), ClientWait(wait), apply_by_unix_ms);
}


Status Shard::Delete(const PointSelector& selector, bool wait) { return Delete(selector, wait, 0); }

Status Shard::Delete(const PointSelector& selector, bool wait, int64_t apply_by_unix_ms) {
  auto request = std::make_unique<WriteRequest>();
  if (!selector.filter) {
    for (const PointId& id : selector.ids) {
      Mutation m;
      m.kind = Mutation::Kind::kDelete;
      m.record.id = id;
      request->mutations.push_back(std::move(m));
    }
    return Submit(std::move(request), ClientWait(wait), apply_by_unix_ms);
  }
  request->build = [selector](const ShardState& s) -> StatusOr<std::vector<Mutation>> {
    VJ_ASSIGN_OR_RETURN(std::vector<PointId> ids, SelectedIds(s, selector, false));
    std::vector<Mutation> mutations(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      mutations[i].kind = Mutation::Kind::kDelete;
      mutations[i].record.id = ids[i];
    }
    return mutations;
  };
  return Submit(std::move(request), ClientWait(wait), apply_by_unix_ms);
}

Status Shard::UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                 std::vector<std::string> keys, std::optional<std::string> key,
                                 bool wait) {
  return UpdatePayload(op, selector, std::move(payload), std::move(keys), std::move(key), wait, 0);
}

Status Shard::UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                            std::vector<std::string> keys, std::optional<std::string> key, bool wait,
                            int64_t apply_by_unix_ms) {
  // Keys are parsed here too, not only by the API: peers and tests call this directly.
  std::optional<PayloadPath> path;
  if (op == PayloadUpdate::kSet && key && !key->empty()) {
    StatusOr<PayloadPath> parsed = ParsePayloadPath(*key);
    if (!parsed.ok()) return WithContext(parsed.status(), "key");
    path = std::move(*parsed);
  }
  std::vector<PayloadPath> paths;
  if (op == PayloadUpdate::kDeleteKeys) {
    VJ_ASSIGN_OR_RETURN(paths, ParsePayloadPaths(keys, "keys"));
  }
  if (op == PayloadUpdate::kSet || op == PayloadUpdate::kOverwrite) {
    VJ_RETURN_IF_ERROR(CheckPayloadLimits(payload, "payload"));
  }
  const size_t patch_bytes = op == PayloadUpdate::kSet ? SerializedPayloadBytes(payload) : 0;
  auto request = std::make_unique<WriteRequest>();
  request->vectors_changed = false;
  // The patch waits in the queue inside `build`; a wait=false flood of large patches must count.
  request->held_bytes = op == PayloadUpdate::kDeleteKeys ? keys.size() * sizeof(PayloadPath)
                                                          : (patch_bytes != 0 ? patch_bytes
                                                                              : SerializedPayloadBytes(payload));
  request->build = [op, selector, payload = std::move(payload), patch_bytes, paths = std::move(paths),
                    path = std::move(path)](const ShardState& s) -> StatusOr<std::vector<Mutation>> {
    VJ_ASSIGN_OR_RETURN(std::vector<PointId> ids, SelectedIds(s, selector, true));
    std::vector<Mutation> mutations;
    mutations.reserve(ids.size());
    for (const PointId& id : ids) {
      VJ_ASSIGN_OR_RETURN(std::optional<PointRecord> record, s.store->Get(id));
      if (!record) continue;
      switch (op) {
        case PayloadUpdate::kSet:
          VJ_RETURN_IF_ERROR(MergePayload(record->payload, payload, patch_bytes, path ? &*path : nullptr));
          // The merged result is what gets stored: it must be readable back (storage/point_record.h).
          VJ_RETURN_IF_ERROR(CheckPayloadLimits(record->payload, "payload of point " + id.ToString()));
          break;
        case PayloadUpdate::kOverwrite: record->payload = payload; break;
        case PayloadUpdate::kDeleteKeys: DeletePayloadPaths(record->payload, paths); break;
        case PayloadUpdate::kClear: record->payload = Payload(); break;
      }
      Mutation m;
      m.kind = Mutation::Kind::kUpsert;
      m.record = std::move(*record);
      mutations.push_back(std::move(m));
    }
    return mutations;
  };
  return Submit(std::move(request), ClientWait(wait), apply_by_unix_ms);
}

Status Shard::CreatePayloadIndex(const std::string& key, const PayloadFieldSchema& type, bool wait) {
  VJ_RETURN_IF_ERROR(PayloadIndex::Create(key, type).status());
  auto request = std::make_unique<WriteRequest>();
  request->reconfigure = [key, type](ShardState& s) -> Status {
    VJ_RETURN_IF_ERROR(s.BuildPayloadIndex(key, type));
    s.config.payload_schema[key] = type;
    return absl::OkStatus();
  };
  return Submit(std::move(request), ClientWait(wait));
}

Status Shard::DeletePayloadIndex(const std::string& key, bool wait) {
  {
    std::shared_lock lock(state_->mu);
    if (state_->payload_indexes.find(key) == state_->payload_indexes.end()) {
      return absl::NotFoundError("no payload index on \"" + key + "\"");
    }
  }
  auto request = std::make_unique<WriteRequest>();
  request->reconfigure = [key](ShardState& s) -> Status {
    s.payload_indexes.erase(key);
    s.config.payload_schema.erase(key);
    return absl::OkStatus();
  };
  return Submit(std::move(request), ClientWait(wait));
}

}  // namespace vj

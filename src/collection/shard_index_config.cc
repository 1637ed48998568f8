// Shard::UpdateIndexConfig: rebuilding a shard's vector indexes with new HNSW or quantization settings
// (PATCH /collections/{name}) while searches go on.
#include <filesystem>

#include <spdlog/spdlog.h>

#include "collection/index_compactor.h"
#include "collection/shard.h"
#include "collection/shard_state.h"
#include "collection/shard_writer.h"
#include "collection/write_queue.h"

namespace vj {

namespace {

// Copies every live point's vectors of `name` from the index in use into a new one built with
// `params`. Runs on the writer thread, which alone changes the state, so it reads without the lock.
std::unique_ptr<VectorIndex> RebuiltIndex(const ShardState& s, const std::string& name, const VectorParams& vector,
                                          const HnswParams& params, size_t threads) {
  const VectorIndex& old = *s.vector_indexes.at(name);
  std::unique_ptr<VectorIndex> fresh = NewHnswIndex(vector.size, vector.distance, params);
  std::vector<uint32_t> ids;
  std::vector<float> values;
  values.reserve(static_cast<size_t>(s.live.cardinality()) * vector.size);
  std::vector<float> one(vector.size);
  for (uint32_t internal : s.live) {
    if (!old.GetVector(internal, one.data())) continue;  // a point without this vector
    ids.push_back(internal);
    values.insert(values.end(), one.begin(), one.end());
  }
  std::vector<const float*> data(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) data[i] = values.data() + i * vector.size;
  fresh->InsertBatch(ids, data, threads);
  return fresh;
}

}  // namespace

Status Shard::UpdateIndexConfig(const CollectionConfig& config) {
  {
    std::lock_guard<std::mutex> lock(index_config_mu_);
    const CollectionConfig& current = index_config_asked_ ? *index_config_asked_ : state_->config;
    if (SameIndexSettings(current, config)) return absl::OkStatus();
    index_config_asked_ = config;
  }
  auto request = std::make_unique<WriteRequest>();
  const size_t threads = options_.build_threads;
  request->rebuild = [this, config, threads](ShardState& s) -> Status {
    // A compaction works on the indexes being replaced: cancel it and hold others off until the swap.
    compactor_->Pause();
    std::map<std::string, std::unique_ptr<VectorIndex>> fresh;
    CollectionConfig next = s.config;  // payload indexes and strict mode as the shard has them
    next.hnsw = config.hnsw;
    next.quantization = config.quantization;
    for (auto& [name, vector] : next.vectors) {
      auto it = config.vectors.find(name);
      if (it == config.vectors.end()) continue;
      vector.hnsw = it->second.hnsw;
      vector.quantization = it->second.quantization;
    }
    ShardState probe;  // IndexParamsFor reads the config only
    probe.config = next;
    for (const auto& [name, vector] : next.vectors) {
      fresh[name] = RebuiltIndex(s, name, vector, probe.IndexParamsFor(name), threads);
    }
    {
      // A background index snapshot reads vector_indexes without s.mu (it holds snapshot_mu_), and the
      // snapshot on disk holds indexes built with the old settings: it goes, so that a restart before
      // the next snapshot rebuilds with the new ones rather than loading the old.
      std::lock_guard snapshots(snapshot_mu_);
      std::unique_lock lock(s.mu);
      for (auto& [name, index] : fresh) s.vector_indexes[name] = std::move(index);
      s.config = std::move(next);
      std::error_code ec;
      std::filesystem::remove_all(dir_ + "/index", ec);
      if (ec) spdlog::warn("shard {}: cannot remove the old index snapshot: {}", name_, ec.message());
      snapshot_sequence_.store(0, std::memory_order_release);
    }
    compactor_->Resume();
    index_rebuilds_pending_.fetch_sub(1);
    spdlog::info("shard {}: vector indexes rebuilt with new settings", name_);
    return absl::OkStatus();
  };
  index_rebuilds_pending_.fetch_add(1);
  // Queued as an internal write (waits for room in a full queue rather than being refused: the new
  // config is already stored), but not waited for.
  Status queued = writer_->Submit(std::move(request), /*sync=*/true, Clock::time_point::max()).status();
  if (!queued.ok()) {
    index_rebuilds_pending_.fetch_sub(1);
    std::lock_guard<std::mutex> lock(index_config_mu_);
    index_config_asked_.reset();  // asked again by the next call
  }
  return queued;
}

}  // namespace vj

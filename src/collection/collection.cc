#include "collection/collection.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unordered_map>

#include "collection/fan_out.h"
#include "collection/hash_ring.h"

namespace vj {

Collection::Collection(std::string name, ConfigSink save_config)
    : name_(std::move(name)), save_config_(std::move(save_config)) {}

Collection::~Collection() = default;  // each shard drains its writer and flushes

StatusOr<std::unique_ptr<Collection>> Collection::Open(std::string name, std::string dir,
                                                       CollectionConfig config,
                                                       const CollectionOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Collection> c(new Collection(
      name, [dir](const CollectionConfig& local, const ConfigChange& change) -> StatusOr<CollectionConfig> {
        VJ_ASSIGN_OR_RETURN(CollectionConfig next, change(local));
        VJ_RETURN_IF_ERROR(SaveCollectionConfig(dir, next));
        return next;
      }));
  const uint32_t shards = std::max<uint32_t>(1, config.shard_number);
  c->ring_ = std::make_unique<HashRing>(shards);
  for (uint32_t i = 0; i < shards; ++i) {
    VJ_ASSIGN_OR_RETURN(std::unique_ptr<Shard> shard,
                        Shard::Open(name + "/" + std::to_string(i), dir + "/shards/" + std::to_string(i),
                                    config, options));
    c->quarantined_records_ += shard->quarantined_records();
    c->shards_.push_back(std::move(shard));
  }
  c->config_ = std::move(config);
  c->load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return c;
}

Collection::ConfigSink Collection::InMemoryConfig() {
  return [](const CollectionConfig& local, const ConfigChange& change) { return change(local); };
}

std::unique_ptr<Collection> Collection::Assemble(std::string name, CollectionConfig config,
                                             std::vector<std::shared_ptr<ShardAccess>> shards,
                                             ConfigSink save_config) {
  std::unique_ptr<Collection> c(new Collection(std::move(name), std::move(save_config)));
  c->ring_ = std::make_unique<HashRing>(static_cast<uint32_t>(shards.size()));
  c->shards_ = std::move(shards);
  c->config_ = std::move(config);
  return c;
}

StatusOr<std::vector<uint64_t>> Collection::Checkpoint(const std::string& dir) const {
  std::vector<uint64_t> sequences;
  for (size_t i = 0; i < shards_.size(); ++i) {
    const std::string shard_dir = dir + "/shards/" + std::to_string(i);
    std::error_code ec;
    std::filesystem::create_directories(shard_dir, ec);
    if (ec) return absl::UnavailableError("cannot create " + shard_dir + ": " + ec.message());
    uint64_t sequence = 0;
    VJ_RETURN_IF_ERROR(shards_[i]->Checkpoint(shard_dir, &sequence));
    sequences.push_back(sequence);
  }
  return sequences;
}

CollectionConfig Collection::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

StrictModeConfig Collection::strict_mode() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_.strict_mode;
}

CollectionInfo Collection::Info() const {
  CollectionInfo info;
  std::vector<CollectionInfo> parts(shards_.size());
  RunOnShardPool(shards_.size(), [&](size_t i) { parts[i] = shards_[i]->Info(); });
  for (const CollectionInfo& part : parts) {
    info.points_count += part.points_count;
    info.indexed_vectors_count += part.indexed_vectors_count;
    info.last_sequence += part.last_sequence;  // == last_sequence()
    info.tombstones += part.tombstones;
    if (part.status != "green") info.status = part.status;  // a shard rebuilding or unreachable
    for (const auto& [key, n] : part.payload_index_points) info.payload_index_points[key] += n;
  }
  info.config = config();
  return info;
}

std::vector<uint64_t> Collection::ShardPointCounts() const {
  std::vector<uint64_t> counts(shards_.size());
  RunOnShardPool(shards_.size(), [&](size_t i) { counts[i] = shards_[i]->Info().points_count; });
  return counts;
}

uint64_t Collection::last_sequence() const {
  uint64_t sum = 0;
  for (const auto& shard : shards_) sum += shard->last_sequence();
  return sum;
}

std::vector<std::vector<PointId>> Collection::SplitIds(const std::vector<PointId>& ids) const {
  std::vector<std::vector<PointId>> parts(shards_.size());
  for (const PointId& id : ids) parts[ring_->ShardOf(id)].push_back(id);
  return parts;
}

Status Collection::Upsert(std::vector<PointInput> points, bool wait, const RequestContext& context) {
  if (shards_.size() == 1) return shards_[0]->Upsert(std::move(points), wait, context);
  std::vector<std::vector<PointInput>> parts(shards_.size());
  for (PointInput& p : points) parts[ring_->ShardOf(p.id)].push_back(std::move(p));
  // Validation happens per shard before anything is queued; validate every part first so that a bad
  // point in one part leaves the other shards unchanged too.
  const CollectionConfig cfg = config();
  for (const auto& part : parts) {
    for (const PointInput& p : part) VJ_RETURN_IF_ERROR(ValidatePointVectors(cfg, p));
  }
  std::vector<Status> done(parts.size());
  RunOnShardPool(parts.size(), [&](size_t i) {
    if (!parts[i].empty()) done[i] = shards_[i]->Upsert(std::move(parts[i]), wait, context);
  });
  for (const Status& s : done) VJ_RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

Status Collection::Delete(const PointSelector& selector, bool wait, const RequestContext& context) {
  if (selector.filter || shards_.size() == 1) {
    for (const auto& shard : shards_) VJ_RETURN_IF_ERROR(shard->Delete(selector, wait, context));
    return absl::OkStatus();
  }
  auto parts = SplitIds(selector.ids);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    VJ_RETURN_IF_ERROR(shards_[i]->Delete(PointSelector{parts[i], std::nullopt}, wait, context));
  }
  return absl::OkStatus();
}

Status Collection::UpdatePayload(PayloadUpdate op, const PointSelector& selector, Payload payload,
                                 std::vector<std::string> keys, std::optional<std::string> key,
                                 bool wait, const RequestContext& context) {
  if (selector.filter || shards_.size() == 1) {
    for (const auto& shard : shards_) {
      VJ_RETURN_IF_ERROR(shard->UpdatePayload(op, selector, payload, keys, key, wait, context));
    }
    return absl::OkStatus();
  }
  auto parts = SplitIds(selector.ids);
  VJ_RETURN_IF_ERROR(CheckAllExist(parts));
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    VJ_RETURN_IF_ERROR(
        shards_[i]->UpdatePayload(op, PointSelector{parts[i], std::nullopt}, payload, keys, key, wait, context));
  }
  return absl::OkStatus();
}

Status Collection::CheckAllExist(const std::vector<std::vector<PointId>>& parts) const {
  // Every id must exist before any shard changes (a shard checks only its own ids).
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    VJ_ASSIGN_OR_RETURN(auto found, shards_[i]->Retrieve(parts[i], PayloadSelector{}, VectorSelector{}));
    if (found.size() != parts[i].size()) {
      for (const PointId& id : parts[i]) {
        bool present = std::any_of(found.begin(), found.end(), [&](const PointView& v) { return v.id == id; });
        if (!present) return absl::NotFoundError("No point with id " + id.ToString() + " found");
      }
    }
  }
  return absl::OkStatus();
}

Status Collection::UpdateVectors(std::vector<PointInput> points, bool wait, const RequestContext& context) {
  const CollectionConfig cfg = config();
  for (const PointInput& p : points) VJ_RETURN_IF_ERROR(ValidateVectorUpdate(cfg, p));
  if (shards_.size() == 1) return shards_[0]->UpdateVectors(std::move(points), wait, context);
  std::vector<std::vector<PointInput>> parts(shards_.size());
  std::vector<std::vector<PointId>> ids(shards_.size());
  for (PointInput& p : points) {
    const uint32_t shard = ring_->ShardOf(p.id);
    ids[shard].push_back(p.id);
    parts[shard].push_back(std::move(p));
  }
  VJ_RETURN_IF_ERROR(CheckAllExist(ids));
  std::vector<Status> done(parts.size());
  RunOnShardPool(parts.size(), [&](size_t i) {
    if (!parts[i].empty()) done[i] = shards_[i]->UpdateVectors(std::move(parts[i]), wait, context);
  });
  for (const Status& s : done) VJ_RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

Status Collection::DeleteVectors(const PointSelector& selector, std::vector<std::string> names, bool wait,
                                 const RequestContext& context) {
  VJ_RETURN_IF_ERROR(ValidateVectorNames(config(), names, "vector"));
  if (selector.filter || shards_.size() == 1) {
    for (const auto& shard : shards_) VJ_RETURN_IF_ERROR(shard->DeleteVectors(selector, names, wait, context));
    return absl::OkStatus();
  }
  auto parts = SplitIds(selector.ids);
  VJ_RETURN_IF_ERROR(CheckAllExist(parts));
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    VJ_RETURN_IF_ERROR(shards_[i]->DeleteVectors(PointSelector{parts[i], std::nullopt}, names, wait, context));
  }
  return absl::OkStatus();
}

Status Collection::CreatePayloadIndex(const std::string& key, const PayloadFieldSchema& type, bool wait) {
  for (const auto& shard : shards_) VJ_RETURN_IF_ERROR(shard->CreatePayloadIndex(key, type, wait));
  std::lock_guard<std::mutex> lock(mu_);
  VJ_ASSIGN_OR_RETURN(config_, save_config_(config_, [&](CollectionConfig c) -> StatusOr<CollectionConfig> {
                        c.payload_schema[key] = type;
                        return c;
                      }));
  return absl::OkStatus();
}

Status Collection::DeletePayloadIndex(const std::string& key, bool wait) {
  for (const auto& shard : shards_) VJ_RETURN_IF_ERROR(shard->DeletePayloadIndex(key, wait));
  std::lock_guard<std::mutex> lock(mu_);
  VJ_ASSIGN_OR_RETURN(config_, save_config_(config_, [&](CollectionConfig c) -> StatusOr<CollectionConfig> {
                        c.payload_schema.erase(key);
                        return c;
                      }));
  return absl::OkStatus();
}

Status Collection::UpdateIndexSettings(const boost::json::object& body) {
  CollectionConfig updated;
  {
    std::lock_guard<std::mutex> lock(mu_);
    VJ_ASSIGN_OR_RETURN(updated, ApplyCollectionUpdate(config_, body));
    if (SameIndexSettings(updated, config_)) return absl::OkStatus();
    VJ_ASSIGN_OR_RETURN(updated, save_config_(config_, [&body](const CollectionConfig& c) {
                          return ApplyCollectionUpdate(c, body);
                        }));
    config_ = updated;
  }
  for (const auto& shard : shards_) VJ_RETURN_IF_ERROR(shard->UpdateIndexConfig(updated));
  return absl::OkStatus();
}

Status Collection::UpdateStrictMode(const StrictModeConfig& update) {
  std::lock_guard<std::mutex> lock(mu_);
  VJ_ASSIGN_OR_RETURN(config_, save_config_(config_, [&update](CollectionConfig c) -> StatusOr<CollectionConfig> {
                        c.strict_mode = MergeStrictModeConfig(c.strict_mode, update);
                        return c;
                      }));
  return absl::OkStatus();
}

StatusOr<std::vector<PointView>> Collection::Retrieve(const std::vector<PointId>& ids,
                                                      const PayloadSelector& with_payload,
                                                      const VectorSelector& with_vector) const {
  if (shards_.size() == 1) return shards_[0]->Retrieve(ids, with_payload, with_vector);
  auto parts = SplitIds(ids);
  auto answers = FanOut<std::vector<PointView>>(parts.size(), [&](size_t i) -> StatusOr<std::vector<PointView>> {
    if (parts[i].empty()) return std::vector<PointView>();
    return shards_[i]->Retrieve(parts[i], with_payload, with_vector);
  });
  std::unordered_map<PointId, PointView, PointIdHash> found;
  for (auto& answer : answers) {
    VJ_RETURN_IF_ERROR(answer.status());
    for (PointView& v : *answer) found.emplace(v.id, std::move(v));
  }
  std::vector<PointView> out;  // in the order asked, as one shard answers
  for (const PointId& id : ids) {
    auto it = found.find(id);
    if (it == found.end()) continue;
    out.push_back(std::move(it->second));
    found.erase(it);
  }
  return out;
}

StatusOr<ScrollResult> Collection::Scroll(const ScrollRequest& request) const {
  if (request.order_by) return ScrollOrdered(request);
  if (shards_.size() == 1) return shards_[0]->Scroll(request);
  ScrollResult merged;
  std::optional<PointId> next;
  auto consider_next = [&next](const PointId& id) {
    if (!next || id < *next) next = id;
  };
  auto answers = FanOut<ScrollResult>(shards_.size(), [&](size_t i) { return shards_[i]->Scroll(request); });
  for (auto& answer : answers) {
    VJ_ASSIGN_OR_RETURN(ScrollResult part, std::move(answer));
    if (part.next_page_offset) consider_next(*part.next_page_offset);
    for (PointView& v : part.points) merged.points.push_back(std::move(v));
  }
  std::sort(merged.points.begin(), merged.points.end(),
            [](const PointView& a, const PointView& b) { return a.id < b.id; });
  if (merged.points.size() > request.limit) {
    consider_next(merged.points[request.limit].id);
    merged.points.resize(request.limit);
  }
  merged.next_page_offset = next;
  return merged;
}

StatusOr<uint64_t> Collection::Count(const std::optional<Filter>& filter, bool exact,
                                     const Deadline& deadline) const {
  uint64_t total = 0;
  auto answers = FanOut<uint64_t>(shards_.size(),
                                  [&](size_t i) { return shards_[i]->Count(filter, exact, deadline); });
  for (auto& answer : answers) {
    VJ_ASSIGN_OR_RETURN(uint64_t n, std::move(answer));
    total += n;
  }
  return total;
}

StatusOr<std::vector<PointView>> Collection::Query(const QueryRequest& request) const {
  if (shards_.size() == 1) return shards_[0]->Query(request);
  // Each shard returns its best offset + limit; the global best are among them.
  QueryRequest per_shard = request;
  per_shard.offset = 0;
  per_shard.limit = request.offset + request.limit;
  std::vector<PointView> all;
  auto answers =
      FanOut<std::vector<PointView>>(shards_.size(), [&](size_t i) { return shards_[i]->Query(per_shard); });
  for (auto& answer : answers) {
    VJ_ASSIGN_OR_RETURN(auto part, std::move(answer));
    for (PointView& v : part) all.push_back(std::move(v));
  }
  const CollectionConfig cfg = config();
  auto it = cfg.vectors.find(request.using_vector);
  // Recommend scores and sparse dot products are higher-is-better whatever the metric.
  const bool higher_is_closer =
      request.examples.has_value() || request.sparse_vector.has_value() ||
      (it != cfg.vectors.end() && (it->second.distance == Metric::kCosine || it->second.distance == Metric::kDot));
  std::stable_sort(all.begin(), all.end(), [higher_is_closer](const PointView& a, const PointView& b) {
    if (*a.score != *b.score) return higher_is_closer ? *a.score > *b.score : *a.score < *b.score;
    return a.id < b.id;
  });
  std::vector<PointView> out;
  for (size_t i = request.offset; i < all.size() && out.size() < request.limit; ++i) {
    out.push_back(std::move(all[i]));
  }
  return out;
}

void Collection::WaitForQueuedWrites() {
  for (const auto& shard : shards_) shard->WaitForQueuedWrites();
}

Status Collection::Flush() {
  for (const auto& shard : shards_) VJ_RETURN_IF_ERROR(shard->Flush());
  return absl::OkStatus();
}

}  // namespace vj

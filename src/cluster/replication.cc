#include "cluster/replication.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "cluster/peer_protocol.h"

#include "tracing/tracer.h"

namespace vj {

Replicator::Replicator(std::string collection, uint32_t shard, std::shared_ptr<Shard> local, uint64_t term,
                       uint64_t start_sequence, HttpClient& http, HttpHeaders headers)
    : collection_(std::move(collection)), shard_(shard), local_(std::move(local)), term_(term),
      start_sequence_(start_sequence), http_(http), headers_([&] {
        headers.emplace_back("Content-Type", "application/octet-stream");
        return std::move(headers);
      }()) {}

Replicator::~Replicator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  acked_cv_.notify_all();
  std::lock_guard<std::mutex> lock(streams_mu_);
  for (auto& [node, stream] : streams_) stream->thread.join();
  for (auto& stream : retired_) stream->thread.join();
}

void Replicator::SetTargets(std::vector<ReplicaTarget> targets) {
  std::lock_guard<std::mutex> streams_lock(streams_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, ReplicaProgress> progress;
    for (const ReplicaTarget& t : targets) {
      auto it = progress_.find(t.node);
      progress[t.node] = it != progress_.end() ? it->second : ReplicaProgress{};
    }
    progress_ = std::move(progress);
    ++generation_;
  }
  // Streams of replicas no longer targeted (or whose address changed) stop; they may be stuck in a
  // request to a hung replica, so they are joined later, not here. Their stop flag is set under mu_:
  // what they learn from a request still in flight is then never recorded.
  for (auto it = streams_.begin(); it != streams_.end();) {
    const bool kept = std::any_of(targets.begin(), targets.end(), [&](const ReplicaTarget& t) {
      return t.node == it->first && t.url == it->second->target.url;
    });
    if (kept) {
      ++it;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      it->second->stop = true;
    }
    retired_.push_back(std::move(it->second));
    it = streams_.erase(it);
  }
  for (auto it = retired_.begin(); it != retired_.end();) {
    if (!(*it)->done.load()) {
      ++it;
      continue;
    }
    (*it)->thread.join();
    it = retired_.erase(it);
  }
  for (const ReplicaTarget& t : targets) {
    if (streams_.count(t.node) != 0) continue;
    // Never two streams to one replica: one still finishing a request (a snapshot page, say) would
    // interleave with the new one. A later SetTargets (the node reconciles every few hundred ms) starts it.
    const bool finishing = std::any_of(retired_.begin(), retired_.end(),
                                       [&](const std::unique_ptr<Stream>& r) { return r->target.node == t.node; });
    if (finishing) continue;
    auto stream = std::make_unique<Stream>();
    stream->target = t;
    Stream* raw = stream.get();
    stream->thread = std::thread([this, raw] {
      Run(*raw);
      raw->done = true;
    });
    streams_[t.node] = std::move(stream);
  }
  cv_.notify_all();
}

void Replicator::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

Status Replicator::WaitForAcks(uint64_t sequence, size_t copies, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto enough = [&] {
    size_t n = 0;
    for (const auto& [node, p] : progress_) n += p.acked >= sequence ? 1 : 0;
    return n >= copies;
  };
  if (!acked_cv_.wait_until(lock, deadline, [&] { return enough() || stop_ || superseded_.load(); })) {
    return absl::DeadlineExceededError("write_consistency_factor not reached: " + std::to_string(copies) +
                                       " replica(s) did not confirm sequence " + std::to_string(sequence) +
                                       " in time");
  }
  if (superseded_.load()) {
    return absl::AbortedError("this node is no longer the primary of shard " + std::to_string(shard_) +
                              "; the write is not acknowledged");
  }
  if (!enough()) return absl::UnavailableError("the node is shutting down");
  return absl::OkStatus();
}

void Replicator::Supersede() {
  std::lock_guard<std::mutex> lock(mu_);
  superseded_.store(true);
  acked_cv_.notify_all();
}

std::map<std::string, ReplicaProgress> Replicator::Progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

void Replicator::Run(Stream& stream) {
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Also every 50 ms without a Notify: retries an unreachable replica, notices the last write.
      cv_.wait_for(lock, std::chrono::milliseconds(50),
                   [&] { return Stopping(stream) || generation_ != seen; });
      if (Stopping(stream)) return;
      seen = generation_;
    }
    // Keep going while there is more to send.
    while (!Stopping(stream) && !superseded_.load() && Step(stream)) {
    }
  }
}

StatusOr<std::pair<uint64_t, bool>> Replicator::Post(const Stream& stream, const std::string& query,
                                                     const std::string& body, const TraceContext& parent,
                                                     size_t entries) {
  const ReplicaTarget& target = stream.target;
  const std::string url = target.url + "/internal/replication/" + collection_ + "/" + std::to_string(shard_) +
                          "?term=" + std::to_string(term_) + "&start=" + std::to_string(start_sequence_) +
                          query;
  // A stopped stream gives up its request at once: the Replicator's destructor (which runs when this node
  // stops being primary) joins the stream, and a paused replica would otherwise hold it for 30 s.
  // Replication of a traced write: a client span of its trace, which the replica continues.
  Span span;
  const HttpHeaders* headers = &headers_;
  HttpHeaders traced;
  if (parent.valid()) {
    span = StartSpan("replicate", SpanKind::kClient, parent);
    if (span.recording()) {
      span.SetName("POST /internal/replication/{name}/{shard}");
      span.SetAttribute("http.request.method", "POST");
      span.SetAttribute("server.address", target.url);
      span.SetAttribute("db.system.name", "vjvector");
      span.SetAttribute("db.operation.name", "replicate");
      span.SetAttribute("db.collection.name", collection_);
      span.SetAttribute("vjvector.shard", uint32_t{shard_});
      span.SetAttribute("vjvector.replica.node", target.node);
      span.SetAttribute("vjvector.log.entries", uint64_t{entries});
    }
    traced = headers_;
    traced.emplace_back("traceparent", FormatTraceparent(span.context()));
    headers = &traced;
  }
  auto result = http_.Send("POST", url, body, *headers, std::chrono::milliseconds(30000),
                           [&] { return Stopping(stream); });
  if (!result.ok()) span.SetError(result.status());
  if (result.ok() && span.recording()) span.SetAttribute("http.response.status_code", result->status);
  if (!result.ok()) return result.status();
  // A replica refuses an older term with Aborted (the peer envelope keeps the code): the caller steps down.
  if (result->status != 200) {
    Status status = DecodeReplicationAnswer(result->status, result->body);
    if (status.ok()) status = absl::InternalError("replica answered HTTP " + std::to_string(result->status));
    return status;
  }
  VJ_ASSIGN_OR_RETURN(ReplicationAck ack, DecodeReplicationAck(result->body));
  return std::make_pair(ack.last_sequence, ack.needs_snapshot);
}

bool Replicator::Step(const Stream& stream) {
  const ReplicaTarget& target = stream.target;
  bool reachable;
  uint64_t acked;
  bool snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const ReplicaProgress* p = Owned(stream);
    if (p == nullptr) return false;
    reachable = p->reachable;
    acked = p->acked;
    snapshot = p->needs_snapshot;
    if (p->disk_full && std::chrono::steady_clock::now() < p->retry_at) return false;
  }
  auto record = [&](const StatusOr<std::pair<uint64_t, bool>>& answer) {
    std::lock_guard<std::mutex> lock(mu_);
    ReplicaProgress* p = Owned(stream);
    if (p == nullptr) return;
    if (!answer.ok() && IsDiskFull(answer.status())) {
      // It answered: it is reachable, only lagging until it has room again. Back off instead of
      // resending the same entries every 50 ms.
      if (!p->disk_full) {
        spdlog::warn("cluster: shard {}/{}: replica {} cannot store entries, its disk is full; it lags until "
                     "space returns: {}", collection_, shard_, target.node, StatusMessage(answer.status()));
      }
      p->disk_full = true;
      p->backoff = std::clamp(p->backoff * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(5000));
      p->retry_at = std::chrono::steady_clock::now() + p->backoff;
    } else if (!answer.ok()) {
      if (absl::IsAborted(answer.status())) {
        superseded_.store(true);
        spdlog::warn("cluster: shard {}/{}: replica {} knows a newer term than {}: stepping down", collection_,
                     shard_, target.node, term_);
      } else if (p->reachable) {
        spdlog::warn("cluster: shard {}/{}: replica {} unreachable: {}", collection_, shard_, target.node,
                     StatusMessage(answer.status()));
      }
      p->reachable = false;
    } else {
      if (p->disk_full && answer->first > p->acked) {
        spdlog::info("cluster: shard {}/{}: replica {} stores entries again", collection_, shard_, target.node);
        p->disk_full = false;
        p->backoff = std::chrono::milliseconds(0);
      }
      p->reachable = true;
      p->acked = answer->first;
      p->needs_snapshot = answer->second;
    }
    acked_cv_.notify_all();
  };

  if (snapshot) {
    Status s = SendSnapshot(stream);
    if (!s.ok()) {
      record(s);
      return false;
    }
    return true;
  }
  const uint64_t last = local_->last_sequence();
  if (reachable && acked >= last) return false;
  std::vector<LoggedMutation> entries;
  if (reachable) {
    Status read = local_->ReadLog(acked + 1, kBatchEntries, &entries);
    if (absl::IsOutOfRange(read)) {
      std::lock_guard<std::mutex> lock(mu_);
      ReplicaProgress* p = Owned(stream);
      if (p == nullptr) return false;
      p->needs_snapshot = true;
      return true;
    }
    if (!read.ok()) {
      spdlog::error("cluster: shard {}/{}: reading the log: {}", collection_, shard_, StatusMessage(read));
      return false;
    }
  }
  // An unreachable (or new) target first gets an empty batch: its answer tells where it stands.
  const TraceContext parent = entries.empty() || ActiveTracer() == nullptr
                                  ? TraceContext()
                                  : local_->TraceOfLog(acked, entries.back().sequence);
  auto answer = Post(stream, "", EncodeLogBatch(entries), parent, entries.size());
  record(answer);
  if (!answer.ok()) return false;
  return answer->second || answer->first < local_->last_sequence();
}

ReplicaProgress* Replicator::Owned(const Stream& stream) {
  auto it = progress_.find(stream.target.node);
  return it == progress_.end() || stream.stop.load() ? nullptr : &it->second;
}

Status Replicator::SendSnapshot(const Stream& stream) {
  const ReplicaTarget& target = stream.target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReplicaProgress* p = Owned(stream);
    if (p == nullptr) return absl::CancelledError("no longer a target");
    p->snapshotting = true;
  }
  // Every request of the transfer first checks that this stream still owns the replica.
  auto post = [&](const std::string& query, const std::vector<LoggedMutation>& entries) {
    if (Stopping(stream)) {
      return StatusOr<std::pair<uint64_t, bool>>(
          absl::CancelledError("the stream to " + target.node + " was stopped"));
    }
    return Post(stream, query, EncodeLogBatch(entries));
  };
  spdlog::info("cluster: shard {}/{}: sending a snapshot to {}", collection_, shard_, target.node);
  // Every point as of a moment after `from`; the log from `from` + 1 then brings the replica up to date
  // (log entries hold resulting states, so replaying ones the snapshot already reflects is harmless).
  const uint64_t from = local_->last_sequence();
  VJ_RETURN_IF_ERROR(post("&snapshot=begin", {}).status());
  std::vector<LoggedMutation> page;
  Status sent = local_->ForEachPoint([&](PointRecord&& record) -> Status {
    LoggedMutation e;
    e.mutation.kind = Mutation::Kind::kUpsert;
    e.mutation.record = std::move(record);
    page.push_back(std::move(e));
    if (page.size() < kSnapshotPagePoints) return absl::OkStatus();
    auto answer = post("&snapshot=points", page);
    page.clear();
    return answer.status();
  });
  VJ_RETURN_IF_ERROR(sent);
  if (!page.empty()) VJ_RETURN_IF_ERROR(post("&snapshot=points", page).status());
  auto answer = post("&snapshot=end&sequence=" + std::to_string(from), {});
  VJ_RETURN_IF_ERROR(answer.status());
  std::lock_guard<std::mutex> lock(mu_);
  ReplicaProgress* p = Owned(stream);
  if (p == nullptr) return absl::CancelledError("no longer a target");
  p->snapshotting = false;
  p->reachable = true;
  p->acked = answer->first;
  p->needs_snapshot = false;
  acked_cv_.notify_all();
  spdlog::info("cluster: shard {}/{}: snapshot to {} done at sequence {}", collection_, shard_, target.node, from);
  return absl::OkStatus();
}

}  // namespace vj

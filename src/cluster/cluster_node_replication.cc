// ClusterNode: the replica side of replication (POST /internal/replication/...); see cluster_node.h.
#include "cluster/cluster_node.h"

#include <algorithm>

#include <absl/strings/numbers.h>
#include <spdlog/spdlog.h>

#include "api/error_mapping.h"
#include "core/crash_point.h"

namespace vj {
namespace json = boost::json;

// ---- Replication, replica side ------------------------------------------------------------------------

Response ClusterNode::HandleReplication(const Request& request) {
  auto fail = [](const Status& s) { return ErrorResponse(s, 0); };
  // /internal/replication/{collection}/{shard}
  const std::string base = "/internal/replication/";
  const std::string rest = request.path.substr(std::min(request.path.size(), base.size()));
  const size_t slash = rest.find('/');
  uint32_t shard = 0;
  if (request.path.rfind(base, 0) != 0 || slash == std::string::npos ||
      !absl::SimpleAtoi(rest.substr(slash + 1), &shard)) {
    return fail(absl::NotFoundError("no such endpoint: " + request.method + " " + request.path));
  }
  const std::string collection = rest.substr(0, slash);
  auto number = [&](const char* name) -> uint64_t {
    auto it = request.query.find(name);
    uint64_t v = 0;
    if (it != request.query.end()) (void)absl::SimpleAtoi(it->second, &v);
    return v;
  };
  const uint64_t term = number("term");
  const uint64_t start = number("start");
  const std::string phase = request.query.count("snapshot") != 0 ? request.query.at("snapshot") : "";
  auto entries = DecodeLogBatch(request.body);
  if (!entries.ok()) return fail(entries.status());

  std::shared_ptr<LocalReplicaState> replica = Replica({collection, shard});
  if (replica == nullptr) {
    return fail(absl::UnavailableError("no replica of shard " + ShardLabel(collection, shard) + " here"));
  }
  std::lock_guard<std::mutex> apply(replica->apply_mu);
  std::shared_ptr<const ClusterSnapshot> snap = view_.Current();
  const ShardEntry* entry = snap->Shard(collection, shard);
  const uint64_t known = std::max(entry != nullptr ? entry->placement.term : 0, replica->meta.term);
  if (term < known) {
    return fail(absl::AbortedError("stale term " + std::to_string(term) + " for shard " +
                                   ShardLabel(collection, shard) + "; the current term is " + std::to_string(known)));
  }
  {
    // A newer primary exists: if this node still acted for an older term, it stops now.
    std::shared_ptr<Replicator> ended;  // destroyed after the lock: it joins threads
    std::lock_guard<std::mutex> lock(mu_);
    auto it = replicators_.find({collection, shard});
    if (it != replicators_.end() && it->second->term() < term) {
      it->second->Supersede();
      ended = std::move(it->second);
      replicators_.erase(it);
    }
  }
  Shard& local = *replica->shard;
  auto answer = [&](bool needs_snapshot) {
    Response r;
    r.body = json::serialize(
        json::object{{"last_sequence", local.last_sequence()}, {"needs_snapshot", needs_snapshot}});
    return r;
  };
  Status st;
  if (phase == "begin") {
    replica->meta = ReplicaMeta{term, false};
    st = SaveMeta(*replica);
    if (st.ok()) st = local.DeleteAllPoints();
    return st.ok() ? answer(false) : fail(st);
  }
  if (phase == "points" || phase == "end") {
    if (replica->meta.complete || replica->meta.term != term) {
      return fail(absl::FailedPreconditionError("no snapshot of term " + std::to_string(term) + " in progress"));
    }
    if (phase == "points") {
      std::vector<Mutation> mutations;
      for (LoggedMutation& e : *entries) mutations.push_back(std::move(e.mutation));
      st = local.ApplyMutations(std::move(mutations));
      VJ_CRASH_POINT("replica_snapshot");
      return st.ok() ? answer(false) : fail(st);
    }
    st = local.ResetSequence(number("sequence"));
    if (st.ok()) {
      replica->meta.complete = true;
      st = SaveMeta(*replica);
    }
    return st.ok() ? answer(false) : fail(st);
  }
  if (!replica->meta.complete) return answer(true);
  if (term > replica->meta.term) {
    // Entries up to `start` are the same on every replica (the new primary had them when elected);
    // beyond it, this replica may hold writes of the old term the new primary never had.
    const uint64_t last = local.last_sequence();
    if (!(replica->meta.term == 0 && last == 0) && last > start) return answer(true);
    replica->meta.term = term;
    st = SaveMeta(*replica);
    if (!st.ok()) return fail(st);
  }
  if (!entries->empty()) {
    st = local.ApplyLogged(std::move(*entries));
    // A gap: the answer's last_sequence tells the primary where to resume.
    if (!st.ok() && !absl::IsFailedPrecondition(st)) return fail(st);
  }
  return answer(false);
}

}  // namespace vj

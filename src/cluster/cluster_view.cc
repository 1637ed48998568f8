#include "cluster/cluster_view.h"

#include <iterator>

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "core/json_fields.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;

namespace {

constexpr auto kRefreshInterval = std::chrono::milliseconds(1000);

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// "name/shard" after `base`; false when the key has another shape.
bool SplitShardKey(const std::string& key, const std::string& base, std::string* name, uint32_t* shard) {
  const std::string rest = key.substr(base.size());
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) return false;
  *name = rest.substr(0, slash);
  const std::string number = rest.substr(slash + 1);
  if (number.empty() || number.size() > 6 || number.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *shard = static_cast<uint32_t>(std::stoul(number));
  return true;
}

}  // namespace

const ShardEntry* ClusterSnapshot::Shard(const std::string& collection, uint32_t shard) const {
  auto it = shards.find(collection);
  if (it == shards.end() || shard >= it->second.size()) return nullptr;
  return &it->second[shard];
}

ClusterView::ClusterView(EtcdClient& etcd, ClusterKeys keys) : etcd_(etcd), keys_(std::move(keys)) {
  current_ = std::make_shared<ClusterSnapshot>();
}

ClusterView::~ClusterView() { Stop(); }

StatusOr<std::shared_ptr<ClusterSnapshot>> ClusterView::Read() const {
  const std::string shards_base = keys_.prefix + "/shards/";
  const std::string leaders_base = keys_.prefix + "/leaders/";
  const std::string progress_base = keys_.prefix + "/progress/";
  // The five key ranges the view is made of, and the aliases key, in one transaction (one revision, one round trip). Not the
  // whole prefix: other documents live under it too (security/state, the managed keys, up to ~1 MB),
  // and this read runs every second.
  VJ_ASSIGN_OR_RETURN(TxnResult read,
                      etcd_.Txn({}, {TxnOp::GetPrefix(keys_.Nodes()), TxnOp::GetPrefix(keys_.Collections()),
                                     TxnOp::GetPrefix(shards_base), TxnOp::GetPrefix(leaders_base),
                                     TxnOp::GetPrefix(progress_base), TxnOp::Get(keys_.Aliases())}));
  auto snap = std::make_shared<ClusterSnapshot>();
  snap->revision = read.revision;
  std::map<std::string, std::map<uint32_t, ShardEntry>> shards;
  std::map<std::string, std::map<uint32_t, ShardLeader>> leaders;
  std::map<std::string, std::map<uint32_t, std::map<std::string, PublishedProgress>>> progress;
  std::vector<KeyValue> kvs;
  for (TxnOpResult& op : read.responses) std::move(op.kvs.begin(), op.kvs.end(), std::back_inserter(kvs));
  for (const KeyValue& kv : kvs) {
    std::string name;
    uint32_t shard = 0;
    if (StartsWith(kv.key, keys_.Nodes())) {
      auto v = ParseJson(kv.value, 4);
      if (!v.ok() || !v->is_object()) continue;
      if (const json::value* url = FindField(v->as_object(), "url"); url && url->is_string()) {
        snap->nodes[kv.key.substr(keys_.Nodes().size())] = std::string(url->as_string());
      }
    } else if (kv.key == keys_.Aliases()) {
      auto aliases = AliasMap::Parse(kv.value, kv.key);
      if (!aliases.ok()) {
        spdlog::error("cluster: {}", StatusMessage(aliases.status()));
        continue;
      }
      snap->aliases = std::move(*aliases);
    } else if (StartsWith(kv.key, keys_.Collections())) {
      auto v = ParseJson(kv.value);
      if (!v.ok()) continue;
      auto config = ParseCollectionConfig(*v);
      if (!config.ok()) {
        spdlog::error("cluster: unreadable config of collection {}: {}", kv.key, StatusMessage(config.status()));
        continue;
      }
      const std::string name = kv.key.substr(keys_.Collections().size());
      snap->collections[name] = std::move(*config);
      snap->incarnations[name] = kv.create_revision;
    } else if (StartsWith(kv.key, shards_base) && SplitShardKey(kv.key, shards_base, &name, &shard)) {
      auto placement = ParseShardPlacement(kv.value);
      if (!placement.ok()) continue;
      shards[name][shard] = ShardEntry{std::move(*placement), kv.mod_revision, std::nullopt, {}};
    } else if (StartsWith(kv.key, progress_base)) {
      // <collection>/<shard>/<node>
      const size_t slash = kv.key.rfind('/');
      if (slash <= progress_base.size()) continue;
      const std::string node = kv.key.substr(slash + 1);
      if (!SplitShardKey(kv.key.substr(0, slash), progress_base, &name, &shard)) continue;
      auto v = ParseJson(kv.value, 4);
      if (!v.ok() || !v->is_object()) continue;
      const json::object& obj = v->as_object();
      const json::value* term = FindField(obj, "term");
      const json::value* seq = FindField(obj, "sequence");
      const json::value* complete = FindField(obj, "complete");
      if (term == nullptr || !term->is_number() || seq == nullptr || !seq->is_number() ||
          complete == nullptr || !complete->is_bool()) {
        continue;
      }
      PublishedProgress published{term->to_number<uint64_t>(), seq->to_number<uint64_t>(), complete->as_bool(),
                                  std::nullopt};
      if (const json::value* reaches = FindField(obj, "reaches"); reaches != nullptr && reaches->is_array()) {
        published.reaches.emplace();
        for (const json::value& peer : reaches->as_array()) {
          if (peer.is_string()) published.reaches->emplace_back(peer.as_string());
        }
      }
      if (const json::value* writable = FindField(obj, "writable"); writable != nullptr && writable->is_bool()) {
        published.writable = writable->as_bool();
      }
      progress[name][shard][node] = std::move(published);
    } else if (StartsWith(kv.key, leaders_base) && SplitShardKey(kv.key, leaders_base, &name, &shard)) {
      auto v = ParseJson(kv.value, 4);
      if (!v.ok() || !v->is_object()) continue;
      const json::value* node = FindField(v->as_object(), "node_id");
      const json::value* term = FindField(v->as_object(), "term");
      if (node == nullptr || !node->is_string() || term == nullptr || !term->is_number()) continue;
      leaders[name][shard] =
          ShardLeader{std::string(node->as_string()), term->to_number<uint64_t>(), kv.lease};
    }
  }
  // A collection is visible once its config and every shard's placement are stored.
  for (auto it = snap->collections.begin(); it != snap->collections.end();) {
    const uint32_t n = std::max<uint32_t>(1, it->second.shard_number);
    auto& placed = shards[it->first];
    if (placed.size() != n || placed.rbegin()->first != n - 1) {
      snap->incarnations.erase(it->first);
      it = snap->collections.erase(it);
      continue;
    }
    std::vector<ShardEntry> entries;
    for (auto& [i, entry] : placed) {
      if (auto l = leaders[it->first].find(i); l != leaders[it->first].end()) entry.leader = l->second;
      entry.progress = std::move(progress[it->first][i]);
      entries.push_back(std::move(entry));
    }
    snap->shards[it->first] = std::move(entries);
    ++it;
  }
  return snap;
}

Status ClusterView::Refresh() {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<ClusterSnapshot> snap, Read());
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (snap->revision < current_->revision) return absl::OkStatus();  // a newer read already won
    current_ = std::move(snap);
    callbacks = callbacks_;
  }
  for (auto& cb : callbacks) cb();
  return absl::OkStatus();
}

Status ClusterView::Start() {
  VJ_RETURN_IF_ERROR(Refresh());
  stop_.store(false);
  refresh_thread_ = std::thread([this] { Loop(); });
  watch_thread_ = std::thread([this] {
    while (!stop_.load()) {
      // Any event re-reads everything; a failed watch is retried, the periodic refresh covers the gap.
      Status s = etcd_.Watch(
          keys_.prefix + "/", 0,
          [this](const std::vector<WatchEvent>&) {
            std::lock_guard<std::mutex> lock(mu_);
            dirty_ = true;
            cv_.notify_all();
          },
          stop_);
      if (stop_.load()) break;
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, kRefreshInterval, [this] { return stop_.load(); });
    }
  });
  return absl::OkStatus();
}

void ClusterView::Loop() {
  while (!stop_.load()) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, kRefreshInterval, [this] { return stop_.load() || dirty_; });
      if (stop_.load()) return;
      dirty_ = false;
    }
    if (Status s = Refresh(); !s.ok()) {
      spdlog::warn("cluster: cannot read the cluster state from etcd: {}", StatusMessage(s));
    }
  }
}

void ClusterView::Stop() {
  if (!refresh_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  refresh_thread_.join();
  watch_thread_.join();
}

std::shared_ptr<const ClusterSnapshot> ClusterView::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void ClusterView::OnChange(std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.push_back(std::move(callback));
}

}  // namespace vj

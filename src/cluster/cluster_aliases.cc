#include "cluster/cluster_aliases.h"

#include <map>
#include <set>
#include <string>

#include "core/retry_backoff.h"

namespace vj {

StatusOr<ClusterAliases::Stored> ClusterAliases::Read() {
  VJ_ASSIGN_OR_RETURN(RangeResult read, etcd_.Get(keys_.Aliases()));
  Stored stored;
  if (read.kvs.empty()) return stored;
  VJ_ASSIGN_OR_RETURN(stored.aliases, AliasMap::Parse(read.kvs[0].value, keys_.Aliases()));
  stored.mod_revision = read.kvs[0].mod_revision;
  return stored;
}

TxnCompare ClusterAliases::Unchanged(const Stored& stored) const {
  return TxnCompare::ModRevisionEquals(keys_.Aliases(), stored.mod_revision);
}

TxnOp ClusterAliases::Store(const AliasMap& aliases) const {
  return aliases.empty() ? TxnOp::Delete(keys_.Aliases()) : TxnOp::Put(keys_.Aliases(), aliases.Serialize());
}

Status ClusterAliases::Update(const std::vector<AliasAction>& actions) {
  // The collection names the actions depend on: the collections aliases are created for, and every new
  // alias name (which must be no collection's).
  std::set<std::string> names;
  for (const AliasAction& a : actions) {
    if (a.kind == AliasAction::Kind::kCreate) {
      names.insert(a.collection);
      names.insert(a.alias);
    } else if (a.kind == AliasAction::Kind::kRename) {
      names.insert(a.new_alias);
    }
  }
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    BackOffBeforeRetry(attempt);  // lost to another writer: take turns (core/retry_backoff.h)
    // One read at one revision: the aliases and each named collection's config key.
    std::vector<TxnOp> reads{TxnOp::Get(keys_.Aliases())};
    for (const std::string& name : names) reads.push_back(TxnOp::Get(keys_.Collection(name)));
    VJ_ASSIGN_OR_RETURN(TxnResult read, etcd_.Txn({}, reads));
    if (read.responses.size() != reads.size()) return absl::InternalError("etcd answered a read with too few results");
    Stored stored;
    if (!read.responses[0].kvs.empty()) {
      VJ_ASSIGN_OR_RETURN(stored.aliases, AliasMap::Parse(read.responses[0].kvs[0].value, keys_.Aliases()));
      stored.mod_revision = read.responses[0].kvs[0].mod_revision;
    }
    std::map<std::string, int64_t> created;  // collection name -> create revision (0: none)
    size_t i = 1;
    for (const std::string& name : names) {
      const auto& kvs = read.responses[i++].kvs;
      created[name] = kvs.empty() ? 0 : kvs[0].create_revision;
    }
    AliasMap next = stored.aliases;
    VJ_RETURN_IF_ERROR(next.Apply(actions, [&](const std::string& c) {
      auto it = created.find(c);
      return it != created.end() && it->second != 0;
    }));
    if (next == stored.aliases) return absl::OkStatus();
    std::vector<TxnCompare> compares{Unchanged(stored)};
    for (const auto& [name, revision] : created) {
      compares.push_back(TxnCompare::CreateRevisionEquals(keys_.Collection(name), revision));
    }
    VJ_ASSIGN_OR_RETURN(TxnResult txn, etcd_.Txn(compares, {Store(next)}));
    if (txn.succeeded) return absl::OkStatus();
  }
  return absl::AbortedError("the aliases or their collections kept changing while this update was applied; "
                            "try again");
}

}  // namespace vj

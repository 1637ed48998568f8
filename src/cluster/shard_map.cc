#include "cluster/shard_map.h"

#include <algorithm>

#include <xxhash.h>

#include "core/json_fields.h"
#include "core/payload.h"

namespace vj {
namespace json = boost::json;

bool ShardPlacement::Holds(const std::string& node) const {
  return std::find(replicas.begin(), replicas.end(), node) != replicas.end();
}

std::string ShardPlacementToJson(const ShardPlacement& placement) {
  json::array replicas;
  for (const std::string& r : placement.replicas) replicas.push_back(json::value(r));
  json::object out{{"replicas", std::move(replicas)},
                   {"primary", placement.primary},
                   {"term", placement.term},
                   {"start_sequence", placement.start_sequence}};
  if (placement.stepped_down) out["stepped_down"] = true;
  return json::serialize(out);
}

StatusOr<ShardPlacement> ParseShardPlacement(std::string_view text) {
  VJ_ASSIGN_OR_RETURN(json::value v, ParseJson(text, 8));
  VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(v, "shard placement"));
  ShardPlacement p;
  const json::value* replicas = FindField(*obj, "replicas");
  const json::value* primary = FindField(*obj, "primary");
  const json::value* term = FindField(*obj, "term");
  if (replicas == nullptr || primary == nullptr || term == nullptr) {
    return absl::DataLossError("shard placement: replicas, primary and term are required");
  }
  VJ_ASSIGN_OR_RETURN(const json::array* list, ReadArray(*replicas, "replicas"));
  for (const json::value& r : *list) {
    VJ_ASSIGN_OR_RETURN(std::string node, ReadString(r, "replicas[]"));
    p.replicas.push_back(std::move(node));
  }
  VJ_ASSIGN_OR_RETURN(p.primary, ReadString(*primary, "primary"));
  VJ_ASSIGN_OR_RETURN(p.term, ReadUint(*term, "term"));
  if (const json::value* start = FindField(*obj, "start_sequence")) {
    VJ_ASSIGN_OR_RETURN(p.start_sequence, ReadUint(*start, "start_sequence"));
  }
  if (const json::value* stepped_down = FindField(*obj, "stepped_down")) {
    VJ_ASSIGN_OR_RETURN(p.stepped_down, ReadBool(*stepped_down, "stepped_down"));
  }
  return p;
}

StatusOr<std::vector<ShardPlacement>> PlaceShards(const std::vector<std::string>& nodes, uint32_t shards,
                                                  uint32_t replication_factor, std::string_view seed) {
  if (replication_factor == 0) replication_factor = 1;
  if (nodes.size() < replication_factor) {
    return absl::InvalidArgumentError(
        "replication_factor " + std::to_string(replication_factor) + " needs as many live nodes; " +
        std::to_string(nodes.size()) + " are in the cluster");
  }
  const size_t offset = XXH64(seed.data(), seed.size(), 0) % nodes.size();
  std::vector<ShardPlacement> out(shards);
  for (uint32_t s = 0; s < shards; ++s) {
    for (uint32_t r = 0; r < replication_factor; ++r) {
      out[s].replicas.push_back(nodes[(offset + s + r) % nodes.size()]);
    }
    out[s].primary = out[s].replicas.front();
  }
  return out;
}

}  // namespace vj

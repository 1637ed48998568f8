// Collection endpoints: list, get, create, delete, exists, payload indexes.
#include "api/handlers.h"
#include "api/service.h"
#include "security/permission.h"
#include "api/strict_mode.h"
#include "collection/collection_config.h"
#include "collection/peer_number.h"
#include "core/json_fields.h"

namespace vj {
namespace json = boost::json;

StatusOr<json::value> HandleRoot(const Call& call) {
  return json::object{{"title", "vjvector - vector search engine"},
                      {"version", kQdrantApiVersion},
                      {"vjvector_version", call.options.version}};
}

StatusOr<json::value> HandleClusterInfo(const Call& call) {
  if (call.options.cluster_status) return call.options.cluster_status();
  return json::object{{"status", "disabled"}};
}

StatusOr<json::value> HandleRebalance(const Call& call) {
  if (!call.options.rebalance) return absl::NotFoundError("this node is not in a cluster");
  bool replace_dead = false;
  if (auto it = call.request.query.find("replace_dead"); it != call.request.query.end()) {
    if (it->second != "true" && it->second != "false") {
      return absl::InvalidArgumentError("query parameter replace_dead: expected true or false, got \"" +
                                        it->second + "\"");
    }
    replace_dead = it->second == "true";
  }
  return call.options.rebalance(replace_dead);
}

StatusOr<json::value> HandleCollectionCluster(const Call& call) {
  if (call.options.collection_cluster) {
    VJ_RETURN_IF_ERROR(call.GetCollection().status());  // a name outside the namespace is absent
    return call.options.collection_cluster(call.StoredName(call.params[0]));
  }
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  // Qdrant's CollectionClusterInfo for a single node: every shard is local and active.
  json::array local;
  const std::vector<uint64_t> counts = collection->ShardPointCounts();
  for (uint32_t i = 0; i < counts.size(); ++i) {
    local.push_back(json::object{{"shard_id", i}, {"points_count", counts[i]}, {"state", "Active"}});
  }
  return json::object{{"peer_id", PeerNumber("local")},
                      {"shard_count", counts.size()},
                      {"local_shards", std::move(local)},
                      {"remote_shards", json::array()},
                      {"shard_transfers", json::array()}};
}

std::vector<std::string> VisibleCollections(const Call& call) {
  std::vector<std::string> names;
  const Principal* principal = call.context.principal.get();
  for (std::string& name : call.catalog.List()) {
    if (principal != nullptr && principal->CanSee(name)) names.push_back(std::move(name));
  }
  return names;
}

StatusOr<json::value> HandleListCollections(const Call& call) {
  json::array list;
  for (const std::string& name : VisibleCollections(call)) list.push_back(json::object{{"name", name}});
  return json::object{{"collections", std::move(list)}};
}

StatusOr<json::value> HandleGetCollection(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  CollectionInfo info = collection->Info();
  json::object schema;
  for (const auto& [key, type] : info.config.payload_schema) {
    uint64_t points = 0;
    if (auto it = info.payload_index_points.find(key); it != info.payload_index_points.end()) {
      points = it->second;
    }
    schema[key] = json::object{{"data_type", std::string(PayloadSchemaTypeName(type.type))},
                               {"params", PayloadFieldSchemaParams(type)},
                               {"points", points}};
  }
  return json::object{{"status", info.status},
                      {"optimizer_status", "ok"},
                      {"vectors_count", info.indexed_vectors_count},
                      {"indexed_vectors_count", info.indexed_vectors_count},
                      {"points_count", info.points_count},
                      {"segments_count", 1},
                      {"config", CollectionInfoConfigJson(info.config)},
                      {"payload_schema", std::move(schema)}};
}

StatusOr<json::value> HandleCreateCollection(const Call& call) {
  VJ_RETURN_IF_ERROR(ValidateUserCollectionName(call.params[0]));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  if (body.contains("payload_schema")) {
    return absl::InvalidArgumentError("unknown field \"payload_schema\"");
  }
  VJ_ASSIGN_OR_RETURN(CollectionConfig config, ParseCollectionConfig(body));
  VJ_RETURN_IF_ERROR(CreateCollection(call, call.params[0], config));
  return json::value(true);
}

Status CreateCollection(const Call& call, const std::string& name, const CollectionConfig& config) {
  VJ_RETURN_IF_ERROR(ValidateUserCollectionName(name));
  // Limits apply to new collections only: a stored config with more shards still loads.
  const RequestLimits& limits = call.limits();
  if (config.shard_number > limits.max_shard_number) {
    return OverLimit("shard_number", config.shard_number, "shards", limits.max_shard_number, "shard_number");
  }
  if (config.replication_factor > limits.max_replication_factor) {
    return OverLimit("replication_factor", config.replication_factor, "replicas",
                     limits.max_replication_factor, "replication_factor");
  }
  // The catalog checks again atomically (a standalone Database); this answers early, and bounds a
  // cluster's catalog, which counts the cluster's collections.
  // Node-wide (every tenant's collections count); a tenant's own quota is its namespace's check.
  const Catalog& node = call.node_catalog != nullptr ? *call.node_catalog : call.catalog;
  if (limits.max_collections != 0 && !call.catalog.Exists(name) &&
      node.List().size() >= limits.max_collections) {
    // A tenant is not told how many collections the node holds (other tenants' among them).
    const size_t asked = call.context.tenant.empty() ? node.List().size() + 1 : limits.max_collections + 1;
    return OverLimit("collections", asked, "collections", limits.max_collections, "collections");
  }
  return call.catalog.CreateCollection(name, config);
}

StatusOr<json::value> HandleDeleteCollection(const Call& call) {
  VJ_ASSIGN_OR_RETURN(bool deleted, DeleteCollection(call, call.params[0]));
  return json::value(deleted);
}

StatusOr<bool> DeleteCollection(const Call& call, const std::string& name) {
  // As Qdrant: deleting a collection that does not exist answers 200 with false (recreateCollection
  // deletes first).
  Status deleted = call.catalog.DeleteCollection(name);
  if (deleted.code() == absl::StatusCode::kNotFound) return false;
  VJ_RETURN_IF_ERROR(deleted);
  return true;
}

StatusOr<json::value> HandleCollectionExists(const Call& call) {
  return json::object{{"exists", call.catalog.Exists(call.params[0])}};
}

StatusOr<json::value> HandleCreateIndex(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(bool wait, call.Wait());
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"field_name", "field_schema"}, ""));
  const json::value* name = FindField(body, "field_name");
  if (name == nullptr) return absl::InvalidArgumentError("field_name: missing");
  VJ_ASSIGN_OR_RETURN(std::string key, ReadString(*name, "field_name"));
  const json::value* schema = FindField(body, "field_schema");
  if (schema == nullptr) return absl::InvalidArgumentError("field_schema: missing");
  VJ_ASSIGN_OR_RETURN(PayloadFieldSchema type, ParsePayloadFieldSchema(*schema, "field_schema"));
  VJ_RETURN_IF_ERROR(StrictMode::For(call, *collection).CheckNewPayloadIndex(key));
  VJ_RETURN_IF_ERROR(WithContext(collection->CreatePayloadIndex(key, type, wait), "field_name"));
  return UpdateResult(*collection, wait);
}

StatusOr<json::value> HandleDeleteIndex(const Call& call) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<Collection> collection, call.GetCollection());
  VJ_ASSIGN_OR_RETURN(bool wait, call.Wait());
  VJ_RETURN_IF_ERROR(collection->DeletePayloadIndex(call.params[1], wait));
  return UpdateResult(*collection, wait);
}

}  // namespace vj

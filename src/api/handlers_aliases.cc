// Collection aliases (Qdrant's shapes): POST /collections/aliases applies an action list all or none;
// GET /aliases and GET /collections/{name}/aliases list them as {"aliases": [{"alias_name",
// "collection_name"}]}. Resolution of aliases in other routes happens before the handlers
// (ResolveCollectionAlias, called by the request pipeline).
#include "api/handlers.h"
#include "core/json_fields.h"
#include "security/permission.h"

namespace vj {
namespace json = boost::json;

namespace {

// At most this many actions in one request (bounded work; a list that reaches every alias fits).
constexpr size_t kMaxAliasActions = 2 * AliasMap::kMaxAliases;

StatusOr<std::string> RequiredString(const json::object& obj, std::string_view key, const std::string& where) {
  const json::value* v = FindField(obj, key);
  if (v == nullptr) return absl::InvalidArgumentError(where + "." + std::string(key) + ": missing");
  return ReadString(*v, where + "." + std::string(key));
}

StatusOr<AliasAction> ParseAction(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::object* action, ReadObject(v, where));
  if (action->size() != 1) {
    return absl::InvalidArgumentError(where + ": expected one of create_alias, delete_alias, rename_alias");
  }
  const auto& [kind, body] = *action->begin();
  AliasAction out;
  const std::string at = where + "." + std::string(kind);
  if (kind == "create_alias") {
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(body, at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"collection_name", "alias_name"}, at));
    out.kind = AliasAction::Kind::kCreate;
    VJ_ASSIGN_OR_RETURN(out.collection, RequiredString(*obj, "collection_name", at));
    VJ_ASSIGN_OR_RETURN(out.alias, RequiredString(*obj, "alias_name", at));
  } else if (kind == "delete_alias") {
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(body, at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"alias_name"}, at));
    out.kind = AliasAction::Kind::kDelete;
    VJ_ASSIGN_OR_RETURN(out.alias, RequiredString(*obj, "alias_name", at));
  } else if (kind == "rename_alias") {
    VJ_ASSIGN_OR_RETURN(const json::object* obj, ReadObject(body, at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*obj, {"old_alias_name", "new_alias_name"}, at));
    out.kind = AliasAction::Kind::kRename;
    VJ_ASSIGN_OR_RETURN(out.alias, RequiredString(*obj, "old_alias_name", at));
    VJ_ASSIGN_OR_RETURN(out.new_alias, RequiredString(*obj, "new_alias_name", at));
  } else {
    return absl::InvalidArgumentError(where + ": unknown action \"" + std::string(kind).substr(0, 64) +
                                      "\" (expected create_alias, delete_alias or rename_alias)");
  }
  return out;
}

json::value AliasesJson(const std::vector<AliasEntry>& entries, const Principal* principal) {
  json::array list;
  for (const AliasEntry& e : entries) {
    if (principal != nullptr && principal->CanSee(e.collection)) {
      list.push_back(json::object{{"alias_name", e.alias}, {"collection_name", e.collection}});
    }
  }
  return json::object{{"aliases", std::move(list)}};
}

}  // namespace

StatusOr<json::value> HandleUpdateAliases(const Call& call) {
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"actions"}, ""));
  const json::value* actions_value = FindField(body, "actions");
  if (actions_value == nullptr) return absl::InvalidArgumentError("actions: missing");
  VJ_ASSIGN_OR_RETURN(const json::array* list, ReadArray(*actions_value, "actions"));
  if (list->size() > kMaxAliasActions) {
    return absl::InvalidArgumentError("actions: " + std::to_string(list->size()) + " actions is over the limit of " +
                                      std::to_string(kMaxAliasActions));
  }
  std::vector<AliasAction> actions;
  actions.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(AliasAction action, ParseAction((*list)[i], "actions[" + std::to_string(i) + "]"));
    actions.push_back(std::move(action));
  }
  VJ_RETURN_IF_ERROR(call.catalog.UpdateAliases(actions));
  return json::value(true);
}

StatusOr<json::value> HandleListAliases(const Call& call) {
  // Only the aliases of collections the principal may read.
  return AliasesJson(call.catalog.ListAliases(), call.context.principal.get());
}

StatusOr<json::value> HandleListCollectionAliases(const Call& call) {
  const std::string& collection = call.params.at(0);  // an alias was resolved already
  if (!call.catalog.Exists(collection)) return absl::NotFoundError("Collection `" + collection + "` doesn't exist!");
  std::vector<AliasEntry> mine;
  for (AliasEntry& e : call.catalog.ListAliases()) {
    if (e.collection == collection) mine.push_back(std::move(e));
  }
  return AliasesJson(mine, call.context.principal.get());
}

}  // namespace vj

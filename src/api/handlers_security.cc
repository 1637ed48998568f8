// API keys and roles (VJVector's own paths; Qdrant has none): /vjvector/keys and /vjvector/roles over
// RestApiOptions::security. The route table gives them Permission::kAdmin.
#include <boost/json.hpp>

#include "api/handlers.h"
#include "core/json_fields.h"
#include "security/security_store.h"

namespace vj {
namespace json = boost::json;
namespace {

StatusOr<SecurityStore*> Store(const Call& call) {
  if (call.options.security == nullptr) return absl::NotFoundError("security is not configured on this node");
  return call.options.security;
}

StatusOr<std::vector<Grant>> ParseGrants(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::array* array, ReadArray(v, where));
  if (array->empty() || array->size() > kMaxGrantsPerRole) {
    return absl::InvalidArgumentError(where + ": expected 1 to " + std::to_string(kMaxGrantsPerRole) +
                                      " grants, got " + std::to_string(array->size()));
  }
  std::vector<Grant> grants;
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    VJ_ASSIGN_OR_RETURN(const json::object* g, ReadObject((*array)[i], at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*g, {"collections", "access"}, at));
    const json::value* collections = FindField(*g, "collections");
    const json::value* access = FindField(*g, "access");
    if (collections == nullptr) return absl::InvalidArgumentError(at + ".collections: missing");
    if (access == nullptr) return absl::InvalidArgumentError(at + ".access: missing");
    Grant grant;
    VJ_ASSIGN_OR_RETURN(grant.collections, ReadString(*collections, at + ".collections"));
    VJ_ASSIGN_OR_RETURN(std::string level, ReadString(*access, at + ".access"));
    std::optional<Permission> p = ParsePermission(level);
    if (!p || *p == Permission::kPublic || *p == Permission::kInternal) {
      return absl::InvalidArgumentError(at + ".access: expected read, write, manage or admin, got \"" +
                                        level.substr(0, 32) + "\"");
    }
    grant.level = *p;
    grants.push_back(std::move(grant));
  }
  return grants;
}

json::array GrantsJson(const std::vector<Grant>& grants) {
  json::array out;
  for (const Grant& g : grants) {
    out.push_back(json::object{{"collections", g.collections}, {"access", PermissionName(g.level)}});
  }
  return out;
}

json::object KeyJson(const ApiKeyInfo& key) {
  json::array collections;
  for (const std::string& c : key.spec.collections) collections.push_back(json::value(c));
  json::object out{{"id", key.id},
                   {"name", key.spec.name},
                   {"description", key.spec.description},
                   {"role", key.spec.role.empty() ? json::value(nullptr) : json::value(key.spec.role)},
                   {"grants", GrantsJson(key.spec.grants)},
                   {"collections", std::move(collections)},
                   {"created_at", key.created_at},
                   {"expires_at", key.spec.expires_at == 0 ? json::value(nullptr) : json::value(key.spec.expires_at)},
                   {"expired", key.expired},
                   {"tenant", key.spec.tenant.empty() ? json::value(nullptr) : json::value(key.spec.tenant)}};
  return out;
}

json::object RoleJson(const Role& role) {
  return json::object{{"name", role.name}, {"builtin", role.builtin}, {"grants", GrantsJson(role.grants)}};
}

}  // namespace

StatusOr<json::value> HandleCreateKey(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(
      CheckKnownFields(body, {"role", "grants", "collections", "expires_at", "name", "description", "tenant"}, ""));
  ApiKeySpec spec;
  if (const json::value* v = FindField(body, "role")) {
    VJ_ASSIGN_OR_RETURN(spec.role, ReadString(*v, "role"));
  }
  if (const json::value* v = FindField(body, "grants")) {
    VJ_ASSIGN_OR_RETURN(spec.grants, ParseGrants(*v, "grants"));
  }
  if (const json::value* v = FindField(body, "collections")) {
    VJ_ASSIGN_OR_RETURN(const json::array* patterns, ReadArray(*v, "collections"));
    if (patterns->size() > kMaxKeyCollections) {
      return absl::InvalidArgumentError("collections: at most " + std::to_string(kMaxKeyCollections) +
                                        " patterns, got " + std::to_string(patterns->size()));
    }
    for (size_t i = 0; i < patterns->size(); ++i) {
      VJ_ASSIGN_OR_RETURN(std::string pattern, ReadString((*patterns)[i], "collections[" + std::to_string(i) + "]"));
      spec.collections.push_back(std::move(pattern));
    }
  }
  if (const json::value* v = FindField(body, "expires_at")) {
    VJ_ASSIGN_OR_RETURN(uint64_t seconds, ReadUint(*v, "expires_at"));
    if (seconds == 0 || seconds > static_cast<uint64_t>(kMaxUnixSeconds)) {
      return absl::InvalidArgumentError("expires_at: expected unix seconds from 1 to " +
                                        std::to_string(kMaxUnixSeconds));
    }
    spec.expires_at = static_cast<int64_t>(seconds);
  }
  if (const json::value* v = FindField(body, "name")) {
    VJ_ASSIGN_OR_RETURN(spec.name, ReadString(*v, "name"));
  }
  if (const json::value* v = FindField(body, "description")) {
    VJ_ASSIGN_OR_RETURN(spec.description, ReadString(*v, "description"));
  }
  if (const json::value* v = FindField(body, "tenant"); v != nullptr && !v->is_null()) {
    VJ_ASSIGN_OR_RETURN(spec.tenant, ReadString(*v, "tenant"));
  }
  VJ_ASSIGN_OR_RETURN(CreatedApiKey created, store->CreateKey(spec));
  json::object out = KeyJson(created.info);
  out["key"] = created.secret;
  return out;
}

StatusOr<json::value> HandleListKeys(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  json::array keys;
  for (const ApiKeyInfo& key : store->ListKeys()) keys.push_back(KeyJson(key));
  return json::object{{"keys", std::move(keys)}};
}

StatusOr<json::value> HandleRevokeKey(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  VJ_RETURN_IF_ERROR(store->RevokeKey(call.params.at(0)));
  return json::value(true);
}

StatusOr<json::value> HandlePutRole(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  VJ_ASSIGN_OR_RETURN(json::object body, call.Body());
  VJ_RETURN_IF_ERROR(CheckKnownFields(body, {"grants"}, ""));
  const json::value* grants_json = FindField(body, "grants");
  if (grants_json == nullptr) return absl::InvalidArgumentError("grants: missing");
  VJ_ASSIGN_OR_RETURN(std::vector<Grant> grants, ParseGrants(*grants_json, "grants"));
  VJ_ASSIGN_OR_RETURN(Role role, store->PutRole(call.params.at(0), grants));
  return RoleJson(role);
}

StatusOr<json::value> HandleListRoles(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  json::array roles;
  for (const Role& role : store->ListRoles()) roles.push_back(RoleJson(role));
  return json::object{{"roles", std::move(roles)}};
}

StatusOr<json::value> HandleDeleteRole(const Call& call) {
  VJ_ASSIGN_OR_RETURN(SecurityStore * store, Store(call));
  VJ_RETURN_IF_ERROR(store->DeleteRole(call.params.at(0)));
  return json::value(true);
}

}  // namespace vj

#include "security/security_state.h"

#include <boost/json.hpp>

#include "core/crc32c.h"
#include "core/json_fields.h"
#include "core/payload.h"
#include "core/tenant_id.h"

namespace vj {
namespace json = boost::json;
namespace {

constexpr std::string_view kFormat = "vjvector-security-state";
constexpr uint64_t kVersion = 1;

json::array EncodeGrants(const std::vector<Grant>& grants) {
  json::array out;
  for (const Grant& g : grants) {
    out.push_back(json::object{{"collections", g.collections}, {"access", PermissionName(g.level)}});
  }
  return out;
}

json::array EncodeStrings(const std::vector<std::string>& strings) {
  json::array out;
  for (const std::string& s : strings) out.push_back(json::value(s));
  return out;
}

json::object EncodeState(const SecurityState& state) {
  json::array roles;
  for (const auto& [name, role] : state.roles) {
    roles.push_back(json::object{{"name", name}, {"grants", EncodeGrants(role.grants)}});
  }
  json::array keys;
  for (const auto& [id, key] : state.keys) {
    const std::string_view digest(reinterpret_cast<const char*>(key.digest.data()), key.digest.size());
    keys.push_back(json::object{{"id", id},
                                {"name", key.spec.name},
                                {"description", key.spec.description},
                                {"role", key.spec.role},
                                {"grants", EncodeGrants(key.spec.grants)},
                                {"collections", EncodeStrings(key.spec.collections)},
                                {"created_at", key.created_at},
                                {"expires_at", key.spec.expires_at},
                                {"salt", HexEncode(key.salt)},
                                {"sha256", HexEncode(digest)}});
    // Written only when set, so that a state without tenants reads on nodes that predate them.
    if (!key.spec.tenant.empty()) keys.back().as_object()["tenant"] = key.spec.tenant;
  }
  json::object out{{"generation", state.generation}, {"roles", std::move(roles)}, {"keys", std::move(keys)}};
  if (!state.tenants.empty()) {
    json::array tenants;
    for (const auto& [id, t] : state.tenants) {
      tenants.push_back(json::object{{"id", id},
                                     {"created_at", t.created_at},
                                     {"quotas", json::object{{"max_collections", t.quotas.max_collections},
                                                             {"max_points", t.quotas.max_points},
                                                             {"read_per_s", t.quotas.read_per_s},
                                                             {"write_per_s", t.quotas.write_per_s}}}});
    }
    out["tenants"] = std::move(tenants);
  }
  return out;
}

// The readers below return InvalidArgument naming the field; DecodeSecurityState turns it into DataLoss.
StatusOr<std::vector<Grant>> ReadGrants(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::array* array, ReadArray(v, where));
  std::vector<Grant> grants;
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    VJ_ASSIGN_OR_RETURN(const json::object* g, ReadObject((*array)[i], at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*g, {"collections", "access"}, at));
    const json::value* collections = g->if_contains("collections");
    const json::value* access = g->if_contains("access");
    if (collections == nullptr || access == nullptr) {
      return absl::InvalidArgumentError(at + ": expected collections and access");
    }
    Grant grant;
    VJ_ASSIGN_OR_RETURN(grant.collections, ReadString(*collections, at + ".collections"));
    VJ_ASSIGN_OR_RETURN(std::string level, ReadString(*access, at + ".access"));
    std::optional<Permission> p = ParsePermission(level);
    if (!p) return absl::InvalidArgumentError(at + ".access: unknown access level");
    grant.level = *p;
    grants.push_back(std::move(grant));
  }
  return grants;
}

StatusOr<const json::value*> Field(const json::object& o, std::string_view key, const std::string& where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return absl::InvalidArgumentError(where + ": missing field \"" + std::string(key) + "\"");
  return v;
}

StatusOr<int64_t> ReadSeconds(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(uint64_t n, ReadUint(v, where));
  if (n > static_cast<uint64_t>(kMaxUnixSeconds)) return absl::InvalidArgumentError(where + ": out of range");
  return static_cast<int64_t>(n);
}

StatusOr<ApiKeyRecord> ReadKey(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::object* o, ReadObject(v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*o, {"id", "name", "description", "role", "grants", "collections",
                                           "created_at", "expires_at", "salt", "sha256", "tenant"},
                                      where));
  ApiKeyRecord key;
  const json::value* f = nullptr;
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "id", where));
  VJ_ASSIGN_OR_RETURN(key.id, ReadString(*f, where + ".id"));
  if (!ValidKeyId(key.id)) return absl::InvalidArgumentError(where + ".id: not a key id");
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "name", where));
  VJ_ASSIGN_OR_RETURN(key.spec.name, ReadString(*f, where + ".name"));
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "description", where));
  VJ_ASSIGN_OR_RETURN(key.spec.description, ReadString(*f, where + ".description"));
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "role", where));
  VJ_ASSIGN_OR_RETURN(key.spec.role, ReadString(*f, where + ".role"));
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "grants", where));
  VJ_ASSIGN_OR_RETURN(key.spec.grants, ReadGrants(*f, where + ".grants"));
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "collections", where));
  VJ_ASSIGN_OR_RETURN(const json::array* collections, ReadArray(*f, where + ".collections"));
  for (const json::value& c : *collections) {
    VJ_ASSIGN_OR_RETURN(std::string pattern, ReadString(c, where + ".collections"));
    key.spec.collections.push_back(std::move(pattern));
  }
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "created_at", where));
  VJ_ASSIGN_OR_RETURN(key.created_at, ReadSeconds(*f, where + ".created_at"));
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "expires_at", where));
  VJ_ASSIGN_OR_RETURN(key.spec.expires_at, ReadSeconds(*f, where + ".expires_at"));
  if (const json::value* t = o->if_contains("tenant")) {
    VJ_ASSIGN_OR_RETURN(key.spec.tenant, ReadString(*t, where + ".tenant"));
  }
  VJ_RETURN_IF_ERROR(ValidateApiKeySpec(key.spec, where));
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "salt", where));
  VJ_ASSIGN_OR_RETURN(std::string salt_hex, ReadString(*f, where + ".salt"));
  std::optional<std::string> salt = HexDecode(salt_hex);
  if (!salt || salt->size() != kKeySaltBytes) return absl::InvalidArgumentError(where + ".salt: malformed");
  key.salt = std::move(*salt);
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "sha256", where));
  VJ_ASSIGN_OR_RETURN(std::string digest_hex, ReadString(*f, where + ".sha256"));
  std::optional<std::string> digest = HexDecode(digest_hex);
  if (!digest || digest->size() != key.digest.size()) {
    return absl::InvalidArgumentError(where + ".sha256: malformed");
  }
  std::copy(digest->begin(), digest->end(), key.digest.begin());
  return key;
}

StatusOr<TenantRecord> ReadTenant(const json::value& v, const std::string& where) {
  VJ_ASSIGN_OR_RETURN(const json::object* o, ReadObject(v, where));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*o, {"id", "created_at", "quotas"}, where));
  TenantRecord tenant;
  const json::value* f = nullptr;
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "id", where));
  VJ_ASSIGN_OR_RETURN(tenant.id, ReadString(*f, where + ".id"));
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "created_at", where));
  VJ_ASSIGN_OR_RETURN(tenant.created_at, ReadSeconds(*f, where + ".created_at"));
  VJ_ASSIGN_OR_RETURN(f, Field(*o, "quotas", where));
  const std::string at = where + ".quotas";
  VJ_ASSIGN_OR_RETURN(const json::object* q, ReadObject(*f, at));
  VJ_RETURN_IF_ERROR(CheckKnownFields(*q, {"max_collections", "max_points", "read_per_s", "write_per_s"}, at));
  VJ_ASSIGN_OR_RETURN(f, Field(*q, "max_collections", at));
  VJ_ASSIGN_OR_RETURN(tenant.quotas.max_collections, ReadUint(*f, at + ".max_collections"));
  VJ_ASSIGN_OR_RETURN(f, Field(*q, "max_points", at));
  VJ_ASSIGN_OR_RETURN(tenant.quotas.max_points, ReadUint(*f, at + ".max_points"));
  VJ_ASSIGN_OR_RETURN(f, Field(*q, "read_per_s", at));
  VJ_ASSIGN_OR_RETURN(tenant.quotas.read_per_s, ReadNumber(*f, at + ".read_per_s"));
  VJ_ASSIGN_OR_RETURN(f, Field(*q, "write_per_s", at));
  VJ_ASSIGN_OR_RETURN(tenant.quotas.write_per_s, ReadNumber(*f, at + ".write_per_s"));
  VJ_RETURN_IF_ERROR(ValidateTenant(tenant, where));
  return tenant;
}

StatusOr<SecurityState> ReadState(const json::object& o) {
  VJ_RETURN_IF_ERROR(CheckKnownFields(o, {"generation", "roles", "keys", "tenants"}, "state"));
  SecurityState state;
  const json::value* f = nullptr;
  VJ_ASSIGN_OR_RETURN(f, Field(o, "generation", "state"));
  VJ_ASSIGN_OR_RETURN(state.generation, ReadUint(*f, "state.generation"));
  VJ_ASSIGN_OR_RETURN(f, Field(o, "roles", "state"));
  VJ_ASSIGN_OR_RETURN(const json::array* roles, ReadArray(*f, "state.roles"));
  for (size_t i = 0; i < roles->size(); ++i) {
    const std::string at = "state.roles[" + std::to_string(i) + "]";
    VJ_ASSIGN_OR_RETURN(const json::object* r, ReadObject((*roles)[i], at));
    VJ_RETURN_IF_ERROR(CheckKnownFields(*r, {"name", "grants"}, at));
    Role role;
    VJ_ASSIGN_OR_RETURN(f, Field(*r, "name", at));
    VJ_ASSIGN_OR_RETURN(role.name, ReadString(*f, at + ".name"));
    VJ_RETURN_IF_ERROR(ValidateRoleName(role.name, at + ".name"));
    if (BuiltinRole(role.name) != nullptr || state.roles.count(role.name) != 0) {
      return absl::InvalidArgumentError(at + ".name: role \"" + role.name + "\" twice");
    }
    VJ_ASSIGN_OR_RETURN(f, Field(*r, "grants", at));
    VJ_ASSIGN_OR_RETURN(role.grants, ReadGrants(*f, at + ".grants"));
    VJ_RETURN_IF_ERROR(ValidateGrants(role.grants, at + ".grants"));
    state.roles.emplace(role.name, std::move(role));
  }
  VJ_ASSIGN_OR_RETURN(f, Field(o, "keys", "state"));
  VJ_ASSIGN_OR_RETURN(const json::array* keys, ReadArray(*f, "state.keys"));
  for (size_t i = 0; i < keys->size(); ++i) {
    VJ_ASSIGN_OR_RETURN(ApiKeyRecord key, ReadKey((*keys)[i], "state.keys[" + std::to_string(i) + "]"));
    const std::string id = key.id;
    if (!state.keys.emplace(id, std::move(key)).second) {
      return absl::InvalidArgumentError("state.keys[" + std::to_string(i) + "].id: key " + id + " twice");
    }
  }
  if (const json::value* tenants_json = o.if_contains("tenants")) {
    VJ_ASSIGN_OR_RETURN(const json::array* tenants, ReadArray(*tenants_json, "state.tenants"));
    for (size_t i = 0; i < tenants->size(); ++i) {
      const std::string at = "state.tenants[" + std::to_string(i) + "]";
      VJ_ASSIGN_OR_RETURN(TenantRecord tenant, ReadTenant((*tenants)[i], at));
      const std::string id = tenant.id;
      if (!state.tenants.emplace(id, std::move(tenant)).second) {
        return absl::InvalidArgumentError(at + ".id: tenant " + id + " twice");
      }
    }
  }
  // A key acts for a tenant that exists: the store deletes a tenant's keys with it.
  for (const auto& [id, key] : state.keys) {
    if (!key.spec.tenant.empty() && state.tenants.count(key.spec.tenant) == 0) {
      return absl::InvalidArgumentError("key " + id + ": tenant \"" + key.spec.tenant + "\" does not exist");
    }
  }
  return state;
}

Status Corrupt(const Status& status) { return absl::DataLossError(StatusMessage(status)); }

}  // namespace

bool ValidKeyId(std::string_view id) {
  if (id.size() != kKeyIdLength) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status ValidateTenant(const TenantRecord& tenant, const std::string& where) {
  auto at = [&where](const std::string& field) { return where.empty() ? field : where + "." + field; };
  if (!ValidTenantId(tenant.id)) {
    return absl::InvalidArgumentError(at("id") + ": a tenant id has 1 to " + std::to_string(kMaxTenantIdLength) +
                                      " characters of a-z, 0-9, '_' and '-'");
  }
  const TenantQuotas& q = tenant.quotas;
  if (q.max_collections > kMaxTenantQuotaCount || q.max_points > kMaxTenantQuotaCount) {
    return absl::InvalidArgumentError(at("quotas") + ": max_collections and max_points are at most " +
                                      std::to_string(kMaxTenantQuotaCount));
  }
  for (auto [name, rate] : {std::pair{"read_per_s", q.read_per_s}, std::pair{"write_per_s", q.write_per_s}}) {
    if (!(rate >= 0 && rate <= kMaxTenantQuotaRate)) {
      return absl::InvalidArgumentError(at(std::string("quotas.") + name) + ": expected 0 (unlimited) to " +
                                        std::to_string(static_cast<int64_t>(kMaxTenantQuotaRate)));
    }
  }
  return absl::OkStatus();
}

Status ValidateApiKeySpec(const ApiKeySpec& spec, const std::string& where) {
  auto at = [&where](const std::string& field) { return where.empty() ? field : where + "." + field; };
  if (!spec.tenant.empty() && !ValidTenantId(spec.tenant)) {
    return absl::InvalidArgumentError(at("tenant") + ": not a tenant id (1 to " +
                                      std::to_string(kMaxTenantIdLength) + " characters of a-z, 0-9, '_', '-')");
  }
  if (spec.role.empty() == spec.grants.empty()) {
    return absl::InvalidArgumentError((where.empty() ? "key" : where) + ": give either role or grants");
  }
  if (!spec.role.empty()) VJ_RETURN_IF_ERROR(ValidateRoleName(spec.role, at("role")));
  if (!spec.grants.empty()) VJ_RETURN_IF_ERROR(ValidateGrants(spec.grants, at("grants")));
  if (spec.collections.size() > kMaxKeyCollections) {
    return absl::InvalidArgumentError(at("collections") + ": at most " + std::to_string(kMaxKeyCollections) +
                                      " patterns, got " + std::to_string(spec.collections.size()));
  }
  for (size_t i = 0; i < spec.collections.size(); ++i) {
    VJ_RETURN_IF_ERROR(ValidatePattern(spec.collections[i], at("collections[" + std::to_string(i) + "]")));
  }
  if (spec.expires_at < 0 || spec.expires_at > kMaxUnixSeconds) {
    return absl::InvalidArgumentError(at("expires_at") + ": expected unix seconds up to " +
                                      std::to_string(kMaxUnixSeconds));
  }
  if (spec.name.size() > kMaxKeyNameLength) {
    return absl::InvalidArgumentError(at("name") + ": at most " + std::to_string(kMaxKeyNameLength) + " bytes");
  }
  if (spec.description.size() > kMaxKeyDescriptionLength) {
    return absl::InvalidArgumentError(at("description") + ": at most " +
                                      std::to_string(kMaxKeyDescriptionLength) + " bytes");
  }
  return absl::OkStatus();
}

std::string EncodeSecurityState(const SecurityState& state) {
  const std::string body = json::serialize(EncodeState(state));
  // The document embeds the state's own serialization, so the checksum covers exactly these bytes.
  return "{\"format\":\"" + std::string(kFormat) + "\",\"version\":" + std::to_string(kVersion) +
         ",\"crc32c\":" + std::to_string(Crc32c(body)) + ",\"state\":" + body + "}\n";
}

StatusOr<SecurityState> DecodeSecurityState(std::string_view document) {
  StatusOr<json::value> parsed = ParseJson(document, 16);
  if (!parsed.ok()) return Corrupt(parsed.status());
  const json::object* o = parsed->if_object();
  if (o == nullptr) return absl::DataLossError("not a JSON object");
  if (Status st = CheckKnownFields(*o, {"format", "version", "crc32c", "state"}, "document"); !st.ok()) {
    return Corrupt(st);
  }
  const json::value* format = o->if_contains("format");
  if (format == nullptr || !format->is_string() || format->as_string() != kFormat) {
    return absl::DataLossError("not a VJVector security state (format is not \"" + std::string(kFormat) + "\")");
  }
  const json::value* version = o->if_contains("version");
  if (version == nullptr || !version->is_int64() || version->as_int64() != static_cast<int64_t>(kVersion)) {
    return absl::DataLossError("unsupported version (this node reads version " + std::to_string(kVersion) + ")");
  }
  const json::value* crc = o->if_contains("crc32c");
  const json::value* state = o->if_contains("state");
  if (crc == nullptr || !crc->is_int64() || state == nullptr || !state->is_object()) {
    return absl::DataLossError("missing crc32c or state");
  }
  // Boost.JSON keeps keys in order and serializes canonically, so this reproduces the written bytes.
  if (static_cast<int64_t>(Crc32c(json::serialize(*state))) != crc->as_int64()) {
    return absl::DataLossError("checksum mismatch (the document was changed or damaged)");
  }
  StatusOr<SecurityState> decoded = ReadState(state->as_object());
  if (!decoded.ok()) return Corrupt(decoded.status());
  return decoded;
}

}  // namespace vj

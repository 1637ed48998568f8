#include "security/qdrant_jwt.h"

#include <set>

#include "core/tenant_id.h"
#include "security/auth_failure.h"
#include "security/jws.h"

namespace vj {
namespace {

Status Malformed(std::string_view message) { return AuthFailure("malformed", message); }

// The `access` claim as grants (see the header for the mapping).
StatusOr<std::vector<Grant>> AccessGrants(const boost::json::object& claims) {
  const boost::json::value* access = claims.if_contains("access");
  if (access == nullptr) return std::vector<Grant>{Grant{"*", Permission::kAdmin}};
  if (access->is_string()) {
    if (access->as_string() == "r") return std::vector<Grant>{Grant{"*", Permission::kRead}};
    if (access->as_string() == "m") return std::vector<Grant>{Grant{"*", Permission::kAdmin}};
    return Malformed("the token's \"access\" claim must be \"r\", \"m\" or a list of collection grants");
  }
  if (!access->is_array()) {
    return Malformed("the token's \"access\" claim must be \"r\", \"m\" or a list of collection grants");
  }
  std::vector<Grant> grants;
  std::set<std::string> seen;
  for (const boost::json::value& item : access->as_array()) {
    const boost::json::object* entry = item.if_object();
    const boost::json::value* collection = entry ? entry->if_contains("collection") : nullptr;
    const boost::json::value* mode = entry ? entry->if_contains("access") : nullptr;
    if (collection == nullptr || !collection->is_string() || mode == nullptr || !mode->is_string()) {
      return Malformed("each entry of the token's \"access\" list needs a string \"collection\" and \"access\"");
    }
    std::string name(collection->as_string());
    // Qdrant matches names exactly; a '*' would turn into a prefix pattern here, and no collection
    // name can contain one.
    if (name.empty() || name.find('*') != std::string::npos) {
      return Malformed("the token's \"access\" list names an invalid collection");
    }
    if (!seen.insert(name).second) {
      return Malformed("the token's \"access\" list names a collection twice");
    }
    if (const boost::json::value* payload = entry->if_contains("payload"); payload && !payload->is_null()) {
      return Malformed("the token's \"access\" list uses the removed \"payload\" constraint");
    }
    Permission level;
    if (mode->as_string() == "r") {
      level = Permission::kRead;
    } else if (mode->as_string() == "rw" || mode->as_string() == "prw") {
      level = Permission::kWrite;
    } else {
      return Malformed("a collection's access in the token must be \"r\", \"rw\" or \"prw\"");
    }
    grants.push_back(Grant{std::move(name), level});
  }
  return grants;
}

// `value_exists`, validated as Qdrant deserializes it (value: string, 64-bit integer or boolean).
StatusOr<std::optional<ValueExistsCondition>> ValueExists(const boost::json::object& claims,
                                                          std::string* canonical_json) {
  const boost::json::value* claim = claims.if_contains("value_exists");
  if (claim == nullptr || claim->is_null()) return std::optional<ValueExistsCondition>();
  const Status bad = Malformed(
      "the token's \"value_exists\" claim must be {\"collection\": ..., \"matches\": [{\"key\": ..., "
      "\"value\": string, integer or boolean}]}");
  const boost::json::object* object = claim->if_object();
  if (object == nullptr) return bad;
  const boost::json::value* collection = object->if_contains("collection");
  const boost::json::value* matches = object->if_contains("matches");
  if (collection == nullptr || !collection->is_string() || collection->as_string().empty() ||
      matches == nullptr || !matches->is_array()) {
    return bad;
  }
  ValueExistsCondition out;
  out.collection = std::string(collection->as_string());
  boost::json::array canonical_matches;
  for (const boost::json::value& item : matches->as_array()) {
    const boost::json::object* pair = item.if_object();
    const boost::json::value* key = pair ? pair->if_contains("key") : nullptr;
    const boost::json::value* value = pair ? pair->if_contains("value") : nullptr;
    if (key == nullptr || !key->is_string() || key->as_string().empty() || value == nullptr) return bad;
    ValueExistsCondition::Match match;
    match.key = std::string(key->as_string());
    if (value->is_string()) {
      match.value = std::string(value->as_string());
    } else if (value->is_int64()) {
      match.value = value->as_int64();
    } else if (value->is_bool()) {
      match.value = value->as_bool();
    } else {
      return bad;  // floats, objects, null and integers beyond int64 do not deserialize in Qdrant
    }
    canonical_matches.push_back(boost::json::object{{"key", *key}, {"value", *value}});
    out.matches.push_back(std::move(match));
  }
  *canonical_json = boost::json::serialize(
      boost::json::object{{"collection", *collection}, {"matches", std::move(canonical_matches)}});
  return std::optional<ValueExistsCondition>(std::move(out));
}

}  // namespace

StatusOr<std::unique_ptr<QdrantJwtVerifier>> QdrantJwtVerifier::Create(std::vector<std::string> keys,
                                                                        std::chrono::seconds leeway) {
  std::erase_if(keys, [](const std::string& key) { return key.empty(); });
  if (keys.empty()) {
    return absl::InvalidArgumentError("security.jwt_rbac needs a non-empty api_key or alt_api_key to verify tokens");
  }
  if (leeway.count() < 0) return absl::InvalidArgumentError("the JWT leeway must not be negative");
  return std::unique_ptr<QdrantJwtVerifier>(new QdrantJwtVerifier(std::move(keys), leeway));
}

StatusOr<Principal> QdrantJwtVerifier::Verify(std::string_view token,
                                              std::chrono::system_clock::time_point now) const {
  auto jws = ParseJws(token);
  if (!jws.ok()) return jws.status();
  // Only HS256: an RS256 or ES256 token (or an HS256 token with a public key as its secret, meant for
  // another verifier) never reaches the HMAC.
  if (jws->alg != "HS256") {
    return AuthFailure("alg_refused", "API-key-signed tokens must use HS256");
  }
  bool signed_by_a_key = false;
  for (const std::string& key : keys_) {
    // Every key is tried (no early exit), so the time taken does not tell which key matched.
    signed_by_a_key |= VerifyHs256(key, jws->signing_input, jws->signature);
  }
  if (!signed_by_a_key) return AuthFailure("bad_signature", "the token's signature is not valid");

  auto claims = ParseJwtClaims(jws->payload);
  if (!claims.ok()) return claims.status();
  VJ_RETURN_IF_ERROR(CheckJwtTimes(*claims, now, leeway_, /*exp_required=*/false));

  Principal principal;
  principal.id = "jwt";
  if (const boost::json::value* subject = claims->if_contains("subject"); subject && !subject->is_null()) {
    if (!subject->is_string()) return Malformed("the token's \"subject\" claim is not a string");
    const std::string_view text(subject->as_string().data(), subject->as_string().size());
    if (!text.empty()) {
      if (!ValidJwtSubject(text)) {
        return Malformed("the token's \"subject\" claim must have 1 to 256 printable characters");
      }
      principal.id = "jwt:" + std::string(text);
    }
  }
  auto grants = AccessGrants(*claims);
  if (!grants.ok()) return grants.status();
  principal.grants = std::move(*grants);
  auto value_exists = ValueExists(*claims, &principal.value_exists_json);
  if (!value_exists.ok()) return value_exists.status();
  principal.value_exists = std::move(*value_exists);
  // VJVector's own claim: the tenant the token acts for (docs/tenancy.md); the pipeline refuses a
  // tenant that does not exist.
  if (const boost::json::value* tenant = claims->if_contains("tenant"); tenant && !tenant->is_null()) {
    if (!tenant->is_string() || !ValidTenantId(std::string_view(tenant->as_string().data(), tenant->as_string().size()))) {
      return Malformed("the token's \"tenant\" claim must be a tenant id (1 to 32 characters of a-z, 0-9, '_', '-')");
    }
    principal.tenant = std::string(tenant->as_string());
  }
  return principal;
}

}  // namespace vj

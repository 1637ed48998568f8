#include "security/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <optional>

#include "core/payload.h"

namespace vj {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ParamBuildPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;

std::optional<std::string> Base64Member(const boost::json::object& jwk, const char* name) {
  const boost::json::value* v = jwk.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  auto decoded = Base64UrlDecode(std::string_view(v->as_string().data(), v->as_string().size()));
  if (!decoded.ok() || decoded->empty()) return std::nullopt;
  return std::move(*decoded);
}

BignumPtr Bignum(const std::string& bytes) {
  return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                             static_cast<int>(bytes.size()), nullptr));
}

// EVP_PKEY_fromdata with the public-key parameters `params`, for key type `type` ("RSA", "EC").
JwsPublicKey PublicKeyFromParams(const char* type, OSSL_PARAM_BLD* build) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(build));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();  // an unusable key is skipped; its reasons must not reach a later OpenSslErrors()
    return nullptr;
  }
  JwsPublicKey out = AdoptPublicKey(key);
  // A point off the curve (or a degenerate RSA key) is refused here rather than at verify time.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return out;
}

JwsPublicKey RsaKey(const boost::json::object& jwk) {
  auto n = Base64Member(jwk, "n");
  auto e = Base64Member(jwk, "e");
  if (!n || !e || e->size() > 8) return nullptr;
  BignumPtr n_bn = Bignum(*n);
  BignumPtr e_bn = Bignum(*e);
  if (!n_bn || !e_bn) return nullptr;
  // Below 2048 bits is forgeable in practice; above 8192 makes each verify needlessly slow.
  const int bits = BN_num_bits(n_bn.get());
  if (bits < 2048 || bits > 8192 || !BN_is_odd(e_bn.get()) || BN_is_one(e_bn.get())) return nullptr;
  ParamBuildPtr build(OSSL_PARAM_BLD_new());
  if (!build || OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return nullptr;
  }
  return PublicKeyFromParams("RSA", build.get());
}

JwsPublicKey EcP256Key(const boost::json::object& jwk) {
  const boost::json::value* crv = jwk.if_contains("crv");
  if (crv == nullptr || !crv->is_string() || crv->as_string() != "P-256") return nullptr;
  auto x = Base64Member(jwk, "x");
  auto y = Base64Member(jwk, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32) return nullptr;
  std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
  ParamBuildPtr build(OSSL_PARAM_BLD_new());
  if (!build ||
      OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return nullptr;
  }
  return PublicKeyFromParams("EC", build.get());
}

std::optional<Jwk> ParseJwk(const boost::json::value& value) {
  const boost::json::object* jwk = value.if_object();
  if (jwk == nullptr) return std::nullopt;
  const boost::json::value* kid = jwk->if_contains("kid");
  const boost::json::value* kty = jwk->if_contains("kty");
  if (kid == nullptr || !kid->is_string() || kid->as_string().empty() || kty == nullptr || !kty->is_string()) {
    return std::nullopt;
  }
  const boost::json::value* use = jwk->if_contains("use");
  if (use != nullptr && !(use->is_string() && use->as_string() == "sig")) return std::nullopt;
  Jwk out;
  out.kid = std::string(kid->as_string());
  out.kty = std::string(kty->as_string());
  if (const boost::json::value* alg = jwk->if_contains("alg")) {
    if (!alg->is_string()) return std::nullopt;
    out.alg = std::string(alg->as_string());
  }
  if (out.kty == "RSA") {
    out.key = RsaKey(*jwk);
  } else if (out.kty == "EC") {
    out.key = EcP256Key(*jwk);
  }
  if (out.key == nullptr) return std::nullopt;
  return out;
}

}  // namespace

const Jwk* JwkSet::Find(std::string_view kid, std::string_view alg) const {
  const std::string_view kty = alg == "RS256" ? "RSA" : alg == "ES256" ? "EC" : "";
  for (const Jwk& jwk : keys) {
    if (jwk.kid == kid && jwk.kty == kty && (jwk.alg.empty() || jwk.alg == alg)) return &jwk;
  }
  return nullptr;
}

bool JwkSet::HasKid(std::string_view kid) const {
  for (const Jwk& jwk : keys) {
    if (jwk.kid == kid) return true;
  }
  return false;
}

StatusOr<JwkSet> ParseJwks(std::string_view json) {
  if (json.size() > kMaxJwksBytes) return absl::InvalidArgumentError("the JWKS document is larger than 1 MiB");
  auto doc = ParseJson(json, /*max_depth=*/32);
  const boost::json::value* keys = doc.ok() && doc->is_object() ? doc->as_object().if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return absl::InvalidArgumentError("the JWKS document is not a JSON object with a \"keys\" array");
  }
  JwkSet set;
  for (const boost::json::value& value : keys->as_array()) {
    if (auto jwk = ParseJwk(value)) {
      set.keys.push_back(std::move(*jwk));
    } else {
      ++set.skipped;
    }
  }
  if (set.keys.empty()) {
    return absl::InvalidArgumentError("the JWKS document has no usable signing key (RSA >= 2048 bits or EC "
                                      "P-256, with a kid)");
  }
  return set;
}

}  // namespace vj

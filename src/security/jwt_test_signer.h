// Test-only: mints real JWTs (HS256, RS256, ES256) and JWKS documents with OpenSSL, so the verifiers'
// tests run against real signatures and keys generated at test time. Not linked into the server.
// Thread-safety: plain functions; keys are immutable once generated.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "security/jws.h"

namespace vj::testing {

inline JwsPublicKey GenerateRsaKey(size_t bits = 2048) {
  return AdoptPublicKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}
inline JwsPublicKey GenerateEcP256Key() {
  return AdoptPublicKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

inline std::string Json(const boost::json::value& v) { return boost::json::serialize(v); }

// "<b64(header)>.<b64(claims)>" with `alg` (and `kid` when non-empty) in the header.
inline std::string SigningInput(std::string_view alg, std::string_view kid, const boost::json::object& claims) {
  boost::json::object header{{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  return Base64UrlEncode(Json(header)) + "." + Base64UrlEncode(Json(claims));
}

inline std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// Signs `signing_input` and appends the signature: HS256 with `secret`, or RS256/ES256 with `key`.
inline std::string SignHs256(std::string_view signing_input, std::string_view secret) {
  return std::string(signing_input) + "." + Base64UrlEncode(HmacSha256(secret, signing_input));
}

inline std::string SignWithKey(std::string_view signing_input, const JwsPublicKey& key, std::string_view alg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()), 1);
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()), 1);
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()), 1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg == "ES256") {  // DER ECDSA-Sig-Value -> R || S
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(ecdsa);
    sig = raw;
  }
  return std::string(signing_input) + "." + Base64UrlEncode(sig);
}

inline std::string BignumParam(const JwsPublicKey& key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key.get(), name, &bn), 1);
  std::string out(pad > 0 ? pad : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return Base64UrlEncode(out);
}

// The public half of `key` as a JWK object.
inline boost::json::object Jwk(const JwsPublicKey& key, std::string_view kid) {
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) {
    return {{"kty", "RSA"}, {"kid", kid}, {"use", "sig"}, {"n", BignumParam(key, OSSL_PKEY_PARAM_RSA_N)},
            {"e", BignumParam(key, OSSL_PKEY_PARAM_RSA_E)}};
  }
  return {{"kty", "EC"}, {"kid", kid}, {"crv", "P-256"}, {"x", BignumParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)},
          {"y", BignumParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
}

inline std::string Jwks(std::initializer_list<boost::json::object> keys) {
  boost::json::array array;
  for (const auto& k : keys) array.push_back(k);
  return Json(boost::json::object{{"keys", std::move(array)}});
}

// The PEM SubjectPublicKeyInfo of `key`: what an attacker would use as an HMAC secret in an
// algorithm-confusion attack.
inline std::string PublicKeyPem(const JwsPublicKey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio, key.get()), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

}  // namespace vj::testing

#include "security/jws.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cmath>

#include "absl/strings/ascii.h"
#include "core/payload.h"
#include "security/auth_failure.h"

namespace vj {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool IsBase64UrlText(std::string_view text) {
  for (char c : text) {
    if (Base64UrlValue(c) < 0) return false;
  }
  return true;
}

Status Malformed(std::string_view message) { return AuthFailure("malformed", message); }

// Parses `text` as one JSON object with the project's parser (never throws; refuses numbers outside
// the double range and nesting deeper than 32).
StatusOr<boost::json::object> ParseJsonObject(std::string_view text, std::string_view what) {
  auto value = ParseJson(text, /*max_depth=*/32);
  if (!value.ok()) return Malformed(std::string(what) + " is not valid JSON");
  if (!value->is_object()) return Malformed(std::string(what) + " is not a JSON object");
  return std::move(value->as_object());
}

// A NumericDate claim (seconds since the epoch, possibly fractional), or nullopt when absent.
StatusOr<std::optional<double>> NumericDate(const boost::json::object& claims, std::string_view name) {
  const boost::json::value* v = claims.if_contains(boost::json::string_view(name.data(), name.size()));
  if (v == nullptr) return std::optional<double>();
  double seconds;
  if (v->is_int64()) {
    seconds = static_cast<double>(v->as_int64());
  } else if (v->is_uint64()) {
    seconds = static_cast<double>(v->as_uint64());
  } else if (v->is_double()) {
    seconds = v->as_double();
  } else {
    return Malformed("the token's \"" + std::string(name) + "\" claim is not a number");
  }
  if (!std::isfinite(seconds) || seconds < 0) {
    return Malformed("the token's \"" + std::string(name) + "\" claim is not a valid time");
  }
  return std::optional<double>(seconds);
}

// An ES256 signature is R || S (32 bytes each); OpenSSL verifies the DER ECDSA-Sig-Value.
std::optional<std::string> EcdsaRawToDer(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (sig == nullptr) return std::nullopt;
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

bool LooksLikeJwt(std::string_view credential) {
  const size_t first = credential.find('.');
  if (first == std::string_view::npos) return false;
  const size_t second = credential.find('.', first + 1);
  if (second == std::string_view::npos || credential.find('.', second + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view header = credential.substr(0, first);
  const std::string_view payload = credential.substr(first + 1, second - first - 1);
  const std::string_view signature = credential.substr(second + 1);
  return !header.empty() && !payload.empty() && IsBase64UrlText(header) && IsBase64UrlText(payload) &&
         IsBase64UrlText(signature);
}

StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return absl::InvalidArgumentError("base64url text has an impossible length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Base64UrlValue(c);
    if (v < 0) return absl::InvalidArgumentError("base64url text has a character outside its alphabet");
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // The 2 or 4 bits left over must be zero, or two texts would decode to the same bytes.
  if ((buffer & ((1u << bits) - 1)) != 0) {
    return absl::InvalidArgumentError("base64url text has non-zero trailing bits");
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

StatusOr<JwsToken> ParseJws(std::string_view token) {
  if (token.size() > kMaxJwtBytes) return Malformed("the token is larger than 16 KiB");
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Malformed("the token does not have three dot-separated parts");
  }
  auto header_bytes = Base64UrlDecode(token.substr(0, first));
  auto payload = Base64UrlDecode(token.substr(first + 1, second - first - 1));
  auto signature = Base64UrlDecode(token.substr(second + 1));
  if (!header_bytes.ok() || !payload.ok() || !signature.ok()) {
    return Malformed("the token is not valid base64url");
  }
  auto header = ParseJsonObject(*header_bytes, "the token header");
  if (!header.ok()) return header.status();
  JwsToken out;
  out.header = std::move(*header);
  const boost::json::value* alg = out.header.if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return Malformed("the token header has no \"alg\"");
  out.alg = std::string(alg->as_string());
  if (absl::AsciiStrToLower(out.alg) == "none") {
    return AuthFailure("alg_refused", "unsigned tokens (alg \"none\") are refused");
  }
  if (out.header.contains("crit")) {
    return Malformed("the token header has critical parameters (\"crit\") this server does not support");
  }
  if (const boost::json::value* kid = out.header.if_contains("kid")) {
    if (!kid->is_string()) return Malformed("the token header's \"kid\" is not a string");
    out.kid = std::string(kid->as_string());
  }
  out.signing_input = std::string(token.substr(0, second));
  out.payload = std::move(*payload);
  out.signature = std::move(*signature);
  return out;
}

StatusOr<boost::json::object> ParseJwtClaims(std::string_view payload) {
  return ParseJsonObject(payload, "the token payload");
}

bool VerifyHs256(std::string_view key, std::string_view signing_input, std::string_view signature) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac;
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac.data(),
           &mac_len) == nullptr) {
    return false;
  }
  // The length is public (always 32 for SHA-256); the bytes are compared in constant time.
  return signature.size() == mac_len && CRYPTO_memcmp(mac.data(), signature.data(), mac_len) == 0;
}

JwsPublicKey AdoptPublicKey(EVP_PKEY* key) { return JwsPublicKey(key, EVP_PKEY_free); }

bool VerifyWithPublicKey(const JwsPublicKey& key, std::string_view alg, std::string_view signing_input,
                         std::string_view signature) {
  if (key == nullptr) return false;
  std::string der;
  if (alg == "RS256") {
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return false;
    der = std::string(signature);
  } else if (alg == "ES256") {
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) return false;
    auto converted = EcdsaRawToDer(signature);
    if (!converted) return false;
    der = std::move(*converted);
  } else {
    return false;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                                   signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  // A refused signature leaves OpenSSL's reasons queued on this thread; a later OpenSslErrors() there
  // (a TLS handshake's) must not report them as its own.
  if (!ok) ERR_clear_error();
  return ok;
}

Status CheckJwtTimes(const boost::json::object& claims, std::chrono::system_clock::time_point now,
                     std::chrono::seconds leeway, bool exp_required) {
  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway_s = static_cast<double>(leeway.count());
  auto exp = NumericDate(claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) {
    if (exp_required) return Malformed("the token has no \"exp\" claim");
  } else if (now_s > **exp + leeway_s) {
    return AuthFailure("expired", "the token has expired");
  }
  auto nbf = NumericDate(claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && now_s + leeway_s < **nbf) {
    return AuthFailure("not_yet_valid", "the token is not valid yet (\"nbf\" is in the future)");
  }
  return absl::OkStatus();
}

bool ValidJwtSubject(std::string_view subject) {
  if (subject.empty() || subject.size() > 256) return false;
  for (unsigned char c : subject) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace vj

#include "server/tls_context.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "security/openssl_errors.h"

namespace vj {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites with forward secrecy and AEAD only (Mozilla's "intermediate" list); TLS 1.3 suites
// are all of that kind and keep OpenSSL's defaults.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr unsigned char kSessionIdContext[] = "vjvector";


Status FileError(const char* what, const std::string& path, const std::string& reason) {
  return absl::InvalidArgumentError(std::string("TLS ") + what + " " + path + ": " + reason);
}

// A missing or unreadable file gets the system's reason rather than OpenSSL's "system lib".
Status CheckReadable(const char* what, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(std::string("TLS ") + what + " is not set");
  std::ifstream f(path);
  if (!f) return FileError(what, path, std::strerror(errno));
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<ssl::context>> Build(const TlsServerFiles& files) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return absl::InternalError("TLS: cannot configure the protocol versions or ciphers: " + OpenSslErrors());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_TICKET);
  // Needed for session resumption once client certificates are verified.
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);

  VJ_RETURN_IF_ERROR(CheckReadable("certificate file (tls.cert_file)", files.cert_file));
  VJ_RETURN_IF_ERROR(CheckReadable("key file (tls.key_file)", files.key_file));
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
    return FileError("certificate file (tls.cert_file)", files.cert_file,
                     "not a PEM certificate: " + OpenSslErrors());
  }
  // Read the key first, so that a key that is not one and a key of another certificate get their own
  // messages (SSL_CTX_use_PrivateKey_file reports both as one error).
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new_file(files.key_file.c_str(), "r"), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr) : nullptr, EVP_PKEY_free);
  if (key == nullptr) {
    return FileError("key file (tls.key_file)", files.key_file,
                     "not an unencrypted PEM private key: " + OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return FileError("key file (tls.key_file)", files.key_file,
                     "does not match the certificate in " + files.cert_file + ": " + OpenSslErrors());
  }
  if (!files.ca_file.empty()) {
    VJ_RETURN_IF_ERROR(CheckReadable("CA file (tls.ca_file)", files.ca_file));
    if (SSL_CTX_load_verify_locations(ctx, files.ca_file.c_str(), nullptr) != 1) {
      return FileError("CA file (tls.ca_file)", files.ca_file, "no PEM certificates: " + OpenSslErrors());
    }
    // Tells clients which CAs their certificate must come from.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_file.c_str());
    if (names == nullptr) {
      return FileError("CA file (tls.ca_file)", files.ca_file, "no PEM certificates: " + OpenSslErrors());
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  } else if (files.client_auth != TlsClientAuth::kNone) {
    return absl::InvalidArgumentError("TLS: tls.client_auth optional or require needs tls.ca_file");
  }
  switch (files.client_auth) {
    case TlsClientAuth::kNone: SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr); break;
    case TlsClientAuth::kOptional: SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr); break;
    case TlsClientAuth::kRequire:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  return context;
}

}  // namespace

StatusOr<TlsClientAuth> ParseTlsClientAuth(const std::string& text) {
  if (text == "none") return TlsClientAuth::kNone;
  if (text == "optional") return TlsClientAuth::kOptional;
  if (text == "require") return TlsClientAuth::kRequire;
  return absl::InvalidArgumentError("expected none, optional or require, got \"" + text + "\"");
}

StatusOr<std::unique_ptr<TlsContext>> TlsContext::Load(TlsServerFiles files) {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> context, Build(files));
  return std::unique_ptr<TlsContext>(new TlsContext(std::move(files), std::move(context)));
}

std::shared_ptr<ssl::context> TlsContext::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return context_;
}

Status TlsContext::Reload() {
  VJ_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> context, Build(files_));
  std::shared_ptr<ssl::context> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::exchange(context_, std::move(context));
  }
  return absl::OkStatus();  // `old` is freed here, or by the last connection that still uses it
}

std::string VerifiedPeerCommonName(SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "";
  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return "";
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  // A CN with an embedded NUL could pass for another name in a C-string comparison: refuse it.
  if (cn.find('\0') != std::string::npos) return "";
  return cn;
}

}  // namespace vj

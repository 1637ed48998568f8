// TlsContext: the server side of TLS on the REST port. It loads the node's certificate chain, private
// key and (for client certificates) the trusted CA bundle from PEM files, checks them (the key must
// match the certificate; every error names the file), and builds a hardened OpenSSL context: TLS 1.2 and
// 1.3 only, forward-secret AEAD ciphers, no compression, no renegotiation, no session tickets.
//
// Rotation: Reload() reads the same files again into a NEW context and swaps it in atomically. A
// connection takes Current() once, when it is accepted, and keeps that context until it closes, so open
// connections are unaffected and new ones see the new certificate. A failed Reload() changes nothing.
//
// Thread-safety: Current() and Reload() may be called concurrently from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "absl/base/thread_annotations.h"
#include "core/status.h"

namespace vj {

// Whether the server asks for and checks client certificates (mutual TLS).
enum class TlsClientAuth {
  kNone,      // no client certificate is requested
  kOptional,  // requested; verified against ca_file when sent; a client without one is served
  kRequire,   // a client without a certificate that verifies against ca_file fails the handshake
};

// "none" | "optional" | "require"; InvalidArgument otherwise.
[[nodiscard]] StatusOr<TlsClientAuth> ParseTlsClientAuth(const std::string& text);

struct TlsServerFiles {
  std::string cert_file;  // PEM: the node's certificate, then any intermediates
  std::string key_file;   // PEM: its private key (unencrypted)
  std::string ca_file;    // PEM: CAs that sign client certificates; needed for optional/require
  TlsClientAuth client_auth = TlsClientAuth::kNone;
};

class TlsContext {
 public:
  // Loads and checks the files. InvalidArgument naming the file and OpenSSL's reason when a file is
  // missing, unreadable, not PEM, or the key does not match the certificate.
  [[nodiscard]] static StatusOr<std::unique_ptr<TlsContext>> Load(TlsServerFiles files);

  // The context new connections use; the caller keeps it alive for as long as its connection lives.
  std::shared_ptr<boost::asio::ssl::context> Current() const;

  // Reads the files again; on success new connections use the new context. On error the old one stays.
  [[nodiscard]] Status Reload();

  const TlsServerFiles& files() const { return files_; }

 private:
  TlsContext(TlsServerFiles files, std::shared_ptr<boost::asio::ssl::context> context)
      : files_(std::move(files)), context_(std::move(context)) {}

  // Fixed after construction.
  const TlsServerFiles files_;

  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_ ABSL_GUARDED_BY(mu_);
};

// The subject common name of the certificate the peer of `ssl` presented and that verified against the
// configured CAs; "" when there is none (no client auth, or the client sent no certificate).
std::string VerifiedPeerCommonName(SSL* ssl);

}  // namespace vj

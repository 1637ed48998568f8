// PeerIdentity: which certificates are cluster nodes. Mutual TLS between nodes proves that a certificate
// was signed by the cluster's CA; that CA may also sign users' client certificates (tls.client_auth on
// the REST port), so a certificate is a node's only when it also carries a node identity:
//   - cluster.peer_names set: one of the certificate's names (subject CN, subjectAltName DNS or URI)
//     matches one of these patterns (shell glob: `*`, `?`, `[...]`; "vjvector-*.vjvector-headless.db.svc");
//   - unset (the default): one of its names is one of this node's own certificate's names (nodes that
//     share one certificate, as the Kubernetes manifests do), or the id of a cluster member
//     (a certificate per node with CN or DNS name = node id, as the test PKI and most setups do).
// IP addresses in subjectAltName never count: they name a host, not a node.
//
// The peer port checks the client certificate of every request (server/request_pipeline.h
// PeerAuthenticator); a node checks the server certificate of every peer it connects to
// (cluster/http_client.h HttpClientOptions::check_server_names), after the hostname check.
//
// Thread-safety: PeerIdentityPolicy's methods may be called concurrently; SetPatterns and SetOwnNames
// (SIGHUP) swap the state atomically.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "absl/base/thread_annotations.h"
#include "core/status.h"

namespace vj {

// The names a certificate carries: its subject CN first (when it has one), then its DNS and URI
// subjectAltNames. Names with an embedded NUL are dropped.
std::vector<std::string> CertificateNames(X509* cert);
// The names of the first certificate of a PEM file; InvalidArgument naming the file when it cannot be read.
[[nodiscard]] StatusOr<std::vector<std::string>> CertificateFileNames(const std::string& pem_file);

// A short, log-safe description of a certificate's names ("[a, b]"), at most ~200 characters.
std::string DescribeNames(const std::vector<std::string>& names);

class PeerIdentityPolicy {
 public:
  // The node ids of the cluster's members, asked on each check against the default rule.
  using MemberIds = std::function<std::vector<std::string>()>;

  PeerIdentityPolicy(std::vector<std::string> patterns, std::vector<std::string> own_names);

  // Set once, when membership starts (before that only the own names and the patterns count).
  void SetMembers(MemberIds members);
  void SetPatterns(std::vector<std::string> patterns);
  void SetOwnNames(std::vector<std::string> own_names);

  // OK when `names` (CertificateNames of a verified certificate) carry a node identity; PermissionDenied
  // saying which names were seen otherwise.
  [[nodiscard]] Status Check(const std::vector<std::string>& names) const;

 private:
  struct State {
    std::vector<std::string> patterns;
    std::vector<std::string> own_names;
  };
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const MemberIds> members_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vj

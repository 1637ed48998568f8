// What a SIGHUP changes: the node reads its settings again (the same file, environment and flags as at
// start) and applies what can change while it serves; everything else keeps its start value until a
// restart, and the log names each such setting that changed.
//
// Applied at run time (docs/security.md "Rotating certificates and keys"):
//   - the TLS files' contents (tls.cert_file / key_file / ca_file, cluster.etcd_*_file): the REST and peer
//     ports' certificates, the client certificate presented to peers and to etcd (tools/main.cc);
//   - security.api_key, alt_api_key, read_only_api_key, jwt_rbac, security.oidc.*: a new front door
//     (server/front_door_auth.h ReloadableFrontDoor), built and checked before it replaces the old one;
//   - security.rate_limits (security/rate_limiter.h SetSettings);
//   - cluster.peer_names (security/peer_identity.h).
// Everything else (ports, paths, cluster membership, internal_token, limits, audit, encryption, ...)
// takes effect at the next restart.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "server/server_config.h"

namespace vj {

// The settings SIGHUP applies that differ between `before` and `after` (YAML names; secrets by name only).
std::vector<std::string> ReloadableChanges(const ServerConfig& before, const ServerConfig& after);

// The settings that differ but are applied only at a restart (YAML names).
std::vector<std::string> RestartOnlyChanges(const ServerConfig& before, const ServerConfig& after);

// Whether reloaded security settings may replace the current ones: refuses (FailedPrecondition saying why)
// settings that would leave a node that must authenticate (`must_authenticate`: not loopback-only and
// not security.allow_unauthenticated, as decided at start) with no credential configured (`configured`:
// FrontDoorAuthenticator::configured()).
[[nodiscard]] Status CheckReloadedSecurity(bool configured, bool must_authenticate);

}  // namespace vj

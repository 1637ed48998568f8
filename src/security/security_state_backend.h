// SecurityStateBackend: where the security state document (security_state.h) lives. Two
// implementations: LocalSecurityStateBackend (a file in the data directory, for a standalone node) and,
// in cluster mode, one in etcd shared by every node. The store (security_store.h) owns the document's
// meaning; a backend only keeps the bytes.
// Thread-safety: implementations allow concurrent calls; Store calls are serialized by the store.
#pragma once

#include <functional>
#include <string>

#include "core/status.h"

namespace vj {

class SecurityStateBackend {
 public:
  virtual ~SecurityStateBackend() = default;

  // The stored document; "" when nothing was ever stored. Unavailable when it cannot be read.
  virtual StatusOr<std::string> Load() = 0;
  // Replaces the document durably (it survives a crash once this returns OK). A backend shared with
  // other writers answers Aborted when the document changed since its last Load or Store; the store then
  // reloads and applies its change again.
  virtual Status Store(const std::string& document) = 0;
  // `callback` runs (on a thread of the backend's) after another writer changed the document, so the
  // store reloads it. A backend with a single writer never calls it. The backend's destructor waits for
  // a callback that is running and starts none after.
  virtual void OnChange(std::function<void()> callback) = 0;
  // Where the document lives, for messages ("file /data/security/state.json").
  virtual std::string Describe() const = 0;
};

}  // namespace vj

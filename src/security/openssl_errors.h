// Small OpenSSL helpers shared by the TLS server context (server/tls_context.cc) and the TLS client
// (cluster/http_client.cc).
// Thread-safety: OpenSSL's error queue is per thread; these read and clear the calling thread's.
#pragma once

#include <string>

namespace vj {

// The calling thread's queued OpenSSL errors as one line ("a; b"), clearing the queue.
std::string OpenSslErrors();

// A pem_password_cb that refuses: an encrypted key fails to load instead of OpenSSL asking for a
// passphrase on the terminal.
int NoPassphrase(char* buf, int size, int rwflag, void* userdata);

}  // namespace vj

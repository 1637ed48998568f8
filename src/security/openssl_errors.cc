#include "security/openssl_errors.h"

#include <openssl/err.h>

namespace vj {

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

int NoPassphrase(char*, int, int, void*) { return 0; }

}  // namespace vj

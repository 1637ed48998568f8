#include "core/status.h"

namespace vj::internal {

void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "VJ_CHECK failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace vj::internal

#include "core/retry_backoff.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

namespace vj {

void BackOffBeforeRetry(int attempt) {
  if (attempt <= 0) return;
  thread_local std::minstd_rand rng{std::random_device{}()};
  const int cap_ms = std::min(100, 1 << std::min(attempt, 7));
  std::this_thread::sleep_for(
      std::chrono::microseconds(std::uniform_int_distribution<int>(0, cap_ms * 1000)(rng)));
}

}  // namespace vj

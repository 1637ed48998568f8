// Test helper: the CPU time this process burns while a test thread only sleeps, to check that idle
// threads (busy-polling I/O threads past their window) really sleep. Test-only.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <thread>

namespace vj {

inline double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Waits `settle` (past any busy-poll window), then returns the CPU seconds spent during `span` of sleep.
inline double IdleCpuSeconds(std::chrono::milliseconds settle = std::chrono::milliseconds(30),
                             std::chrono::milliseconds span = std::chrono::milliseconds(300)) {
  std::this_thread::sleep_for(settle);
  const double before = ProcessCpuSeconds();
  std::this_thread::sleep_for(span);
  return ProcessCpuSeconds() - before;
}

}  // namespace vj

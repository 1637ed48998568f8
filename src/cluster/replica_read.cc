#include "cluster/replica_read.h"

#include <system_error>
#include <thread>

namespace vj {

void RunOnOwnThreads(size_t n, const std::function<void(size_t)>& fn) {
  // Own threads, not the shard pool: this runs inside the pool's tasks (collection/fan_out.h), whose
  // threads must not wait on each other. n is at most a shard's replica count.
  std::vector<std::thread> threads;
  threads.reserve(n);
  size_t inline_from = n;
  for (size_t i = 1; i < n; ++i) {
    try {
      threads.emplace_back(fn, i);
    } catch (const std::system_error&) {  // no thread to be had: run the rest here
      inline_from = i;
      break;
    }
  }
  if (n > 0) fn(0);
  for (size_t i = inline_from; i < n; ++i) fn(i);
  for (std::thread& t : threads) t.join();
}

}  // namespace vj

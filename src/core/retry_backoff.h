// RetryBackoff: the pause before retrying an optimistic update (a compare-and-swap in etcd) that lost
// to a concurrent writer. A writer that retries at once loses again and again to one that writes back to
// back (whose compare is on its own last write); a random pause that grows with the attempt lets the
// writers take turns.
// Thread-safety: safe to call from any thread (each thread has its own random generator).
#pragma once

namespace vj {

// Sleeps a random time in [0, min(2^attempt, 100)] ms; does nothing for attempt 0 (the first try).
void BackOffBeforeRetry(int attempt);

}  // namespace vj

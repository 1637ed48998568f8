// PeerProber: which peers this node reaches right now. One thread per peer asks its GET /livez (answered
// on the server's network thread, so a node whose workers are all busy still answers) every `interval`;
// a peer is reachable while one of these probes was answered within the last `window`. A paused
// process, a dropped route or a firewall all read as unreachable after `window`, long before a request's
// timeout. A peer newly added counts as reachable for its first `window` (no news is not bad news yet).
//
// Each answer also carries the peer's wall clock (kClockHeader, unix milliseconds): the prober keeps the
// latest estimate of how far the peer's wall clock is from this node's, within half the probe's round trip
// (ClockOffset), for the deadlines of forwarded writes (cluster/routed_shard.h), which the peer reads on
// its own clock.
//
// Used by ClusterNode: a primary that reaches too few replicas refuses writes and gives its shards up,
// nodes publish whom they reach (elections only pick candidates that reach enough replicas), and
// requests to a peer that stopped answering are abandoned (PeerClient).
//
// Thread-safety: all public methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/http_client.h"

namespace vj {

struct PeerProberOptions {
  std::chrono::milliseconds interval{200};  // between two probes of one peer
  std::chrono::milliseconds timeout{500};   // one probe (connect + answer)
  std::chrono::milliseconds window{1000};   // reachable while a probe was answered this recently
  HttpClientTls tls{};                       // for peers with https:// URLs
  // Whether a peer's certificate is a node's (HttpClientOptions::check_server_names); unset: any.
  std::function<Status(const std::vector<std::string>& names)> check_server_names;
};

// The peer's wall clock minus this node's, as the last answered probe measured it: the peer's clock read
// between this node's readings t0 and t1 of its own is within offset_ms +- error_ms of (t0 + t1) / 2.
struct ClockOffset {
  int64_t offset_ms = 0;
  int64_t error_ms = 0;
};

class PeerProber {
 public:
  explicit PeerProber(PeerProberOptions options);
  ~PeerProber();  // stops and joins the threads
  PeerProber(const PeerProber&) = delete;
  PeerProber& operator=(const PeerProber&) = delete;

  // The peers to probe (node id -> base URL, this node excluded). Peers no longer listed stop being
  // probed (and are unreachable); a peer whose URL changed starts afresh.
  void SetPeers(const std::map<std::string, std::string>& peers);
  // False for a peer not (or no longer) probed.
  bool Reaches(const std::string& node) const;
  // Whether the peer at `url` answers; nullopt when no probed peer has that URL.
  std::optional<bool> ReachesUrl(const std::string& url) const;
  // The last clock offset measured of the peer at `url`; nullopt before any answer carried a clock.
  std::optional<ClockOffset> ClockOffsetOfUrl(const std::string& url) const;
  // The peers reachable now, sorted.
  std::vector<std::string> Reached() const;
  const PeerProberOptions& options() const { return options_; }
  // Reads the TLS files again (SIGHUP; HttpClient::ReloadTls).
  [[nodiscard]] Status ReloadTls() { return http_.ReloadTls(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Peer {
    std::string url;
    std::atomic<bool> stop{false};
    std::atomic<Clock::rep> last_answer{0};  // Clock::time_point's count
    mutable std::mutex clock_mu;
    std::optional<ClockOffset> clock;  // guarded by clock_mu
    std::thread thread;
  };

  void Probe(Peer& peer);
  bool Fresh(const Peer& peer) const;

  const PeerProberOptions options_;
  HttpClient http_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes probing threads early (stop)
  std::map<std::string, std::unique_ptr<Peer>> peers_;  // guarded by mu_, by node id
};

}  // namespace vj

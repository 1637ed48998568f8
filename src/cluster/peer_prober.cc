#include "cluster/peer_prober.h"

#include "absl/strings/numbers.h"
#include "cluster/peer_protocol.h"
#include "core/wall_clock.h"

namespace vj {

PeerProber::PeerProber(PeerProberOptions options)
    : options_(options), http_([&] {
        HttpClientOptions o;
        o.connect_timeout = options.timeout;
        o.request_timeout = options.timeout;
        o.max_idle_per_host = 1;
        o.tls = options.tls;
        o.check_server_names = options.check_server_names;
        return o;
      }()) {}

PeerProber::~PeerProber() { SetPeers({}); }

void PeerProber::SetPeers(const std::map<std::string, std::string>& peers) {
  std::vector<std::unique_ptr<Peer>> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = peers_.begin(); it != peers_.end();) {
      auto wanted = peers.find(it->first);
      if (wanted != peers.end() && wanted->second == it->second->url) {
        ++it;
        continue;
      }
      it->second->stop = true;
      ended.push_back(std::move(it->second));
      it = peers_.erase(it);
    }
    for (const auto& [node, url] : peers) {
      if (peers_.count(node) != 0) continue;
      auto peer = std::make_unique<Peer>();
      peer->url = url;
      peer->last_answer = Clock::now().time_since_epoch().count();
      Peer* raw = peer.get();
      peer->thread = std::thread([this, raw] { Probe(*raw); });
      peers_[node] = std::move(peer);
    }
  }
  cv_.notify_all();
  // A probe in flight notices `stop` within 100 ms (HttpClient's abandon check).
  for (auto& peer : ended) peer->thread.join();
}

void PeerProber::Probe(Peer& peer) {
  const std::string url = peer.url + "/livez";
  while (!peer.stop.load()) {
    const auto sent = Clock::now();
    const int64_t sent_wall = WallClockUnixMs();
    auto answer = http_.Send("GET", url, {}, {}, options_.timeout, [&] { return peer.stop.load(); });
    if (answer.ok() && answer->status == 200) {
      const auto received = Clock::now();
      peer.last_answer = received.time_since_epoch().count();
      int64_t peer_ms = 0;
      if (absl::SimpleAtoi(answer->Header(kClockHeader), &peer_ms) && peer_ms > 0) {
        const int64_t rtt_ms = std::chrono::duration_cast<std::chrono::milliseconds>(received - sent).count();
        // +1: the peer's reading is truncated to whole milliseconds, and so are ours.
        ClockOffset measured{peer_ms - (sent_wall + rtt_ms / 2), rtt_ms / 2 + 2};
        std::lock_guard<std::mutex> lock(peer.clock_mu);
        peer.clock = measured;
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.interval, [&] { return peer.stop.load(); });
  }
}

bool PeerProber::Fresh(const Peer& peer) const {
  const Clock::time_point last{Clock::duration(peer.last_answer.load())};
  return Clock::now() - last < options_.window;
}

bool PeerProber::Reaches(const std::string& node) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(node);
  return it != peers_.end() && Fresh(*it->second);
}

std::optional<bool> PeerProber::ReachesUrl(const std::string& url) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [node, peer] : peers_) {
    if (peer->url == url) return Fresh(*peer);
  }
  return std::nullopt;
}

std::optional<ClockOffset> PeerProber::ClockOffsetOfUrl(const std::string& url) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [node, peer] : peers_) {
    if (peer->url != url) continue;
    std::lock_guard<std::mutex> clock_lock(peer->clock_mu);
    return peer->clock;
  }
  return std::nullopt;
}

std::vector<std::string> PeerProber::Reached() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [node, peer] : peers_) {
    if (Fresh(*peer)) out.push_back(node);
  }
  return out;
}

}  // namespace vj

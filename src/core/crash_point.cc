#include "core/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <absl/strings/numbers.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <random>

namespace vj {
namespace crash_point_internal {

class Table {
 public:
  Table(std::map<std::string, double> points, uint64_t seed) : points_(std::move(points)), rng_(seed) {}

  // Whether this reach of `name` is the one that dies.
  bool Draw(std::string_view name) const {
    auto it = points_.find(std::string(name));
    if (it == points_.end() || it->second <= 0) return false;
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < it->second;
  }

 private:
  const std::map<std::string, double> points_;
  mutable std::mutex mu_;
  mutable std::mt19937_64 rng_;  // guarded by mu_
};

std::atomic<const Table*> g_armed{nullptr};

void Reach(const Table& table, std::string_view name) {
  if (!table.Draw(name)) return;
  // Only async-signal-safe calls from here: another thread may hold any lock.
  const std::string line = "crash point " + std::string(name) + ": raising SIGKILL\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  ::raise(SIGKILL);
}

}  // namespace crash_point_internal

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

StatusOr<std::map<std::string, double>> ParseCrashPoints(std::string_view spec) {
  std::map<std::string, double> out;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = Trim(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(std::string(kCrashPointsEnvVar) + ": \"" + std::string(item) +
                                        "\": " + why);
    };
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) return bad("want name:probability");
    const std::string name(Trim(item.substr(0, colon)));
    if (std::find(std::begin(kCrashPointNames), std::end(kCrashPointNames), name) == std::end(kCrashPointNames)) {
      std::string known;
      for (std::string_view n : kCrashPointNames) known += (known.empty() ? "" : ", ") + std::string(n);
      return bad("unknown crash point; known: " + known);
    }
    double p = 0;
    if (!absl::SimpleAtod(std::string(Trim(item.substr(colon + 1))), &p) || !(p >= 0 && p <= 1)) {
      return bad("probability must be a number in [0, 1]");
    }
    if (!out.emplace(name, p).second) return bad("crash point named twice");
  }
  return out;
}

StatusOr<std::map<std::string, double>> InitCrashPoints() {
  const char* spec = std::getenv(kCrashPointsEnvVar);
  if (spec == nullptr) return std::map<std::string, double>();
  VJ_ASSIGN_OR_RETURN(auto points, ParseCrashPoints(spec));
  uint64_t seed = 1;
  if (const char* s = std::getenv(kCrashSeedEnvVar); s != nullptr && !absl::SimpleAtoi(s, &seed)) {
    return absl::InvalidArgumentError(std::string(kCrashSeedEnvVar) + ": \"" + s +
                                      "\" is not an unsigned integer");
  }
  if (points.empty()) return points;
  // Never freed: a point may be reached on any thread until the process ends.
  crash_point_internal::g_armed.store(new crash_point_internal::Table(points, seed), std::memory_order_release);
  return points;
}

}  // namespace vj

#include "core/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <absl/strings/numbers.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

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
std::atomic<const std::map<std::string, double>*> g_delays{nullptr};

void Reach(const Table& table, std::string_view name) {
  if (!table.Draw(name)) return;
  // Only async-signal-safe calls from here: another thread may hold any lock.
  const std::string line = "crash point " + std::string(name) + ": raising SIGKILL\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  ::raise(SIGKILL);
}

void Delay(const std::map<std::string, double>& delays, std::string_view name) {
  auto it = delays.find(std::string(name));
  if (it == delays.end() || it->second <= 0) return;
  std::fprintf(stderr, "delay point %s: sleeping %.0f ms\n", it->first.c_str(), it->second);
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(it->second));
}

}  // namespace crash_point_internal

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

namespace {

// "name:value,..." with names from `known` and values that `valid` accepts (`what` says which in errors).
template <size_t N>
StatusOr<std::map<std::string, double>> ParsePoints(std::string_view spec, const char* env_var,
                                                    const char* kind, const std::string_view (&known)[N],
                                                    const char* what, bool (*valid)(double)) {
  std::map<std::string, double> out;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = Trim(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(std::string(env_var) + ": \"" + std::string(item) + "\": " + why);
    };
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) return bad(std::string("want name:") + what);
    const std::string name(Trim(item.substr(0, colon)));
    if (std::find(std::begin(known), std::end(known), name) == std::end(known)) {
      std::string names;
      for (std::string_view n : known) names += (names.empty() ? "" : ", ") + std::string(n);
      return bad(std::string("unknown ") + kind + "; known: " + names);
    }
    double v = 0;
    if (!absl::SimpleAtod(std::string(Trim(item.substr(colon + 1))), &v) || !valid(v)) {
      return bad(std::string(what) + " out of range or not a number");
    }
    if (!out.emplace(name, v).second) return bad(std::string(kind) + " named twice");
  }
  return out;
}

bool ValidProbability(double p) { return p >= 0 && p <= 1; }
bool ValidMilliseconds(double ms) { return ms >= 0 && ms <= 3'600'000 && ms == static_cast<double>(static_cast<int64_t>(ms)); }

}  // namespace

StatusOr<std::map<std::string, double>> ParseCrashPoints(std::string_view spec) {
  return ParsePoints(spec, kCrashPointsEnvVar, "crash point", kCrashPointNames, "probability in [0, 1]",
                     ValidProbability);
}

StatusOr<std::map<std::string, double>> ParseDelayPoints(std::string_view spec) {
  return ParsePoints(spec, kDelayPointsEnvVar, "delay point", kDelayPointNames, "milliseconds (0 to 3600000)",
                     ValidMilliseconds);
}

StatusOr<std::map<std::string, double>> InitDelayPoints() {
  const char* spec = std::getenv(kDelayPointsEnvVar);
  if (spec == nullptr) return std::map<std::string, double>();
  VJ_ASSIGN_OR_RETURN(auto points, ParseDelayPoints(spec));
  if (points.empty()) return points;
  // Never freed: a point may be reached on any thread until the process ends.
  crash_point_internal::g_delays.store(new std::map<std::string, double>(points), std::memory_order_release);
  return points;
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

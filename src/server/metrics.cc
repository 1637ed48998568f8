#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <utility>

namespace vj {
namespace {

enum class Kind { kCounter, kGauge, kHistogram };

// Used when a histogram is observed before it is declared: Prometheus' default buckets.
const std::vector<double>& DefaultBuckets() {
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                               0.5,   1,    2.5,   5,    10};
  return kBuckets;
}

// Prometheus accepts Go's float syntax; std::to_chars gives the shortest round-trip form and is
// independent of the C locale (printf would write "0,5" under a German LC_NUMERIC).
void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) {
    out += "NaN";  // cannot happen with 64 bytes; keep the line well-formed anyway
    return;
  }
  out.append(buf, end);
}

void AppendLabelValue(std::string& out, const std::string& v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// HELP text escapes only backslash and newline (quotes are literal there).
void AppendHelp(std::string& out, const std::string& v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// Writes `{a="x",b="y"}` (or nothing when there are no labels); `extra` is appended last (the
// histogram's `le`).
void AppendLabels(std::string& out, const Labels& labels, const char* extra_name = nullptr,
                  const std::string* extra_value = nullptr) {
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    AppendLabelValue(out, value);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    AppendLabelValue(out, *extra_value);
    out += '"';
  }
  out += '}';
}

struct Series {
  double value = 0;                    // counter or gauge
  std::vector<uint64_t> bucket_count;  // histogram, per bucket (not cumulative)
  uint64_t count = 0;                  // histogram; includes observations above every bucket
  double sum = 0;
};

struct FamilyState {
  // Fixed at declaration.
  Kind kind = Kind::kCounter;
  std::string help;
  std::vector<double> buckets;  // upper bounds, sorted, without +Inf

  // Per-family lock so that hot-path updates of different families do not contend on mu_.
  std::mutex mu;
  std::map<Labels, Series> series;  // guarded by mu; std::map gives the deterministic render order
};

// Templates on the family type because Metrics::Family is private: only members name it.
template <typename F>
std::shared_ptr<F> MakeFamily(Kind kind, const std::string& help, std::vector<double> buckets) {
  auto f = std::make_shared<F>();
  f->kind = kind;
  f->help = help;
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  // +Inf is implicit in the format; a declared one would render twice.
  while (!buckets.empty() && std::isinf(buckets.back())) buckets.pop_back();
  f->buckets = std::move(buckets);
  return f;
}

// Re-declaring is a no-op so that two servers (or tests) may share one registry.
template <typename F>
void Declare(std::mutex& mu, std::map<std::string, std::shared_ptr<F>>& families,
             const std::string& name, Kind kind, const std::string& help,
             std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = families[name];
  if (slot == nullptr) slot = MakeFamily<F>(kind, help, std::move(buckets));
}

// Looks up a family, declaring it when absent: a metric that was never declared still shows up
// (with its name as help) rather than silently vanishing. Returns null when the name is declared
// with another kind, so a mistyped update cannot corrupt a family.
template <typename F>
std::shared_ptr<F> Find(std::mutex& mu, std::map<std::string, std::shared_ptr<F>>& families,
                        const std::string& name, Kind kind) {
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = families[name];
  if (slot == nullptr) {
    slot = MakeFamily<F>(kind, name,
                         kind == Kind::kHistogram ? DefaultBuckets() : std::vector<double>{});
  }
  return slot->kind == kind ? slot : nullptr;
}

}  // namespace

struct Metrics::Family : FamilyState {};

void Metrics::DeclareCounter(const std::string& name, const std::string& help) {
  Declare(mu_, families_, name, Kind::kCounter, help, {});
}

void Metrics::DeclareGauge(const std::string& name, const std::string& help) {
  Declare(mu_, families_, name, Kind::kGauge, help, {});
}

void Metrics::DeclareHistogram(const std::string& name, const std::string& help,
                               std::vector<double> buckets) {
  Declare(mu_, families_, name, Kind::kHistogram, help, std::move(buckets));
}

void Metrics::Increment(const std::string& name, const Labels& labels, double by) {
  auto family = Find(mu_, families_, name, Kind::kCounter);
  if (family == nullptr || !(by >= 0)) return;  // counters only go up; also rejects NaN
  std::lock_guard<std::mutex> lock(family->mu);
  family->series[labels].value += by;
}

void Metrics::Set(const std::string& name, const Labels& labels, double value) {
  auto family = Find(mu_, families_, name, Kind::kGauge);
  if (family == nullptr) return;
  std::lock_guard<std::mutex> lock(family->mu);
  family->series[labels].value = value;
}

void Metrics::SetCounter(const std::string& name, const Labels& labels, double value) {
  auto family = Find(mu_, families_, name, Kind::kCounter);
  if (family == nullptr || !(value >= 0)) return;
  std::lock_guard<std::mutex> lock(family->mu);
  family->series[labels].value = value;
}

void Metrics::Observe(const std::string& name, const Labels& labels, double value) {
  auto family = Find(mu_, families_, name, Kind::kHistogram);
  if (family == nullptr || std::isnan(value)) return;
  // First bucket whose upper bound is >= value ("le" is inclusive).
  size_t i = std::lower_bound(family->buckets.begin(), family->buckets.end(), value) -
             family->buckets.begin();
  std::lock_guard<std::mutex> lock(family->mu);
  auto& s = family->series[labels];
  if (s.bucket_count.empty()) s.bucket_count.assign(family->buckets.size(), 0);
  if (i < s.bucket_count.size()) ++s.bucket_count[i];
  ++s.count;
  s.sum += value;
}

void Metrics::AddCollector(std::function<void(Metrics&)> collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::Render() {
  // Collectors call Set(), which takes mu_, so they run on a copy outside the lock.
  std::vector<std::function<void(Metrics&)>> collectors;
  std::vector<std::pair<std::string, std::shared_ptr<Family>>> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  for (auto& collect : collectors) collect(*this);
  {
    std::lock_guard<std::mutex> lock(mu_);
    families.assign(families_.begin(), families_.end());
  }

  std::string out;
  for (const auto& [name, family] : families) {
    out += "# HELP ";
    out += name;
    out += ' ';
    AppendHelp(out, family->help);
    out += "\n# TYPE ";
    out += name;
    switch (family->kind) {
      case Kind::kCounter: out += " counter\n"; break;
      case Kind::kGauge: out += " gauge\n"; break;
      case Kind::kHistogram: out += " histogram\n"; break;
    }
    std::lock_guard<std::mutex> lock(family->mu);
    for (const auto& [labels, s] : family->series) {
      if (family->kind != Kind::kHistogram) {
        out += name;
        AppendLabels(out, labels);
        out += ' ';
        AppendValue(out, s.value);
        out += '\n';
        continue;
      }
      uint64_t cumulative = 0;
      std::string le;
      for (size_t i = 0; i <= family->buckets.size(); ++i) {
        le.clear();
        if (i < family->buckets.size()) {
          cumulative += s.bucket_count[i];
          AppendValue(le, family->buckets[i]);
        } else {
          cumulative = s.count;
          le = "+Inf";
        }
        out += name;
        out += "_bucket";
        AppendLabels(out, labels, "le", &le);
        out += ' ';
        out += std::to_string(cumulative);
        out += '\n';
      }
      out += name;
      out += "_sum";
      AppendLabels(out, labels);
      out += ' ';
      AppendValue(out, s.sum);
      out += '\n';
      out += name;
      out += "_count";
      AppendLabels(out, labels);
      out += ' ';
      out += std::to_string(s.count);
      out += '\n';
    }
  }
  return out;
}

}  // namespace vj

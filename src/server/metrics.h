// Metrics: a small Prometheus registry (counters, gauges, histograms with labels) rendered in the text
// exposition format 0.0.4 that `promtool check metrics` accepts. Debian packages no Prometheus client
// library for C++, hence this one.
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vj {

using Labels = std::vector<std::pair<std::string, std::string>>;  // in declaration order

class Metrics {
 public:
  // Declares a metric family once (name, help). Names follow Prometheus rules (vjvector_..._total for
  // counters, ..._seconds for durations).
  void DeclareCounter(const std::string& name, const std::string& help);
  void DeclareGauge(const std::string& name, const std::string& help);
  void DeclareHistogram(const std::string& name, const std::string& help, std::vector<double> buckets);

  void Increment(const std::string& name, const Labels& labels, double by = 1);
  void Set(const std::string& name, const Labels& labels, double value);
  // For collectors that mirror a count kept elsewhere: sets a counter to that count (which only grows).
  void SetCounter(const std::string& name, const Labels& labels, double value);
  void Observe(const std::string& name, const Labels& labels, double value);

  // Called at the start of every Render to refresh gauges that are read rather than pushed
  // (points per collection, resident memory).
  void AddCollector(std::function<void(Metrics&)> collector);

  // The whole registry in Prometheus text format.
  std::string Render();

 private:
  struct Family;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Family>> families_;  // guarded by mu_
  std::vector<std::function<void(Metrics&)>> collectors_;    // guarded by mu_
};

}  // namespace vj

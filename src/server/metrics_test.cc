#include "server/metrics.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vj {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, RendersCounterAndGauge) {
  Metrics m;
  m.DeclareCounter("vjvector_things_total", "Things done.");
  m.DeclareGauge("vjvector_points", "Points stored.");
  m.Increment("vjvector_things_total", {{"kind", "a"}});
  m.Increment("vjvector_things_total", {{"kind", "a"}}, 2);
  m.Set("vjvector_points", {}, 0.5);
  EXPECT_EQ(m.Render(),
            "# HELP vjvector_points Points stored.\n"
            "# TYPE vjvector_points gauge\n"
            "vjvector_points 0.5\n"
            "# HELP vjvector_things_total Things done.\n"
            "# TYPE vjvector_things_total counter\n"
            "vjvector_things_total{kind=\"a\"} 3\n");
}

TEST(MetricsTest, SetCounterMirrorsACountAndRefusesGaugesAndNegatives) {
  Metrics m;
  m.DeclareCounter("vjvector_elections_total", "Elections.");
  m.DeclareGauge("vjvector_level", "A level.");
  m.SetCounter("vjvector_elections_total", {}, 4);
  m.SetCounter("vjvector_elections_total", {}, -1);  // ignored
  m.SetCounter("vjvector_level", {}, 7);            // not a counter: ignored
  EXPECT_THAT(m.Render(), HasSubstr("vjvector_elections_total 4\n"));
  EXPECT_THAT(m.Render(), Not(HasSubstr("vjvector_level 7")));
}

TEST(MetricsTest, DeclaredFamilyWithoutSamplesStillHasHelpAndType) {
  Metrics m;
  m.DeclareCounter("vjvector_empty_total", "Nothing yet.");
  EXPECT_EQ(m.Render(),
            "# HELP vjvector_empty_total Nothing yet.\n# TYPE vjvector_empty_total counter\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  Metrics m;
  m.DeclareGauge("vjvector_g", "Help with \\ and\nnewline and \"quotes\".");
  m.Set("vjvector_g", {{"name", "a\"b\\c\nd"}}, 1);
  std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("# HELP vjvector_g Help with \\\\ and\\nnewline and \"quotes\".\n"));
  EXPECT_THAT(text, HasSubstr("vjvector_g{name=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics m;
  m.DeclareHistogram("vjvector_latency_seconds", "Latency.", {0.125, 1, 0.5});  // unsorted on purpose
  // Binary fractions so the sum prints exactly; 0.125 lands in le="0.125" (inclusive).
  for (double v : {0.0625, 0.125, 0.25, 0.75, 2.0}) m.Observe("vjvector_latency_seconds", {{"op", "x"}}, v);
  EXPECT_EQ(m.Render(),
            "# HELP vjvector_latency_seconds Latency.\n"
            "# TYPE vjvector_latency_seconds histogram\n"
            "vjvector_latency_seconds_bucket{op=\"x\",le=\"0.125\"} 2\n"
            "vjvector_latency_seconds_bucket{op=\"x\",le=\"0.5\"} 3\n"
            "vjvector_latency_seconds_bucket{op=\"x\",le=\"1\"} 4\n"
            "vjvector_latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 5\n"
            "vjvector_latency_seconds_sum{op=\"x\"} 3.1875\n"
            "vjvector_latency_seconds_count{op=\"x\"} 5\n");
}

TEST(MetricsTest, SpecialValuesAndOrder) {
  Metrics m;
  m.DeclareGauge("vjvector_g", "G.");
  m.Set("vjvector_g", {{"k", "b"}}, std::numeric_limits<double>::infinity());
  m.Set("vjvector_g", {{"k", "a"}}, -std::numeric_limits<double>::infinity());
  m.Set("vjvector_g", {{"k", "c"}}, 1e21);
  std::string text = m.Render();
  size_t a = text.find("vjvector_g{k=\"a\"} -Inf\n");
  size_t b = text.find("vjvector_g{k=\"b\"} +Inf\n");
  size_t c = text.find("vjvector_g{k=\"c\"} 1e+21\n");
  ASSERT_NE(a, std::string::npos) << text;
  ASSERT_NE(b, std::string::npos) << text;
  ASSERT_NE(c, std::string::npos) << text;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(text, m.Render());  // deterministic
}

TEST(MetricsTest, MisusedKindIsIgnoredAndUndeclaredIsAutoDeclared) {
  Metrics m;
  m.DeclareGauge("vjvector_g", "G.");
  m.Increment("vjvector_g", {}, 5);  // a counter update on a gauge: dropped
  m.Increment("vjvector_auto_total", {});
  m.Increment("vjvector_auto_total", {}, -1);  // counters never go down
  std::string text = m.Render();
  EXPECT_THAT(text, Not(HasSubstr("vjvector_g 5")));
  EXPECT_THAT(text, HasSubstr("# TYPE vjvector_auto_total counter\nvjvector_auto_total 1\n"));
}

TEST(MetricsTest, CollectorsRunAtRender) {
  Metrics m;
  m.DeclareGauge("vjvector_points", "Points.");
  int calls = 0;
  m.AddCollector([&calls](Metrics& metrics) {
    ++calls;
    metrics.Set("vjvector_points", {{"collection", "c"}}, calls);
  });
  m.Render();
  EXPECT_THAT(m.Render(), HasSubstr("vjvector_points{collection=\"c\"} 2\n"));
}

TEST(MetricsTest, ConcurrentUpdates) {
  Metrics m;
  m.DeclareCounter("vjvector_c_total", "C.");
  m.DeclareHistogram("vjvector_h_seconds", "H.", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 10000; ++i) {
        m.Increment("vjvector_c_total", {});
        m.Observe("vjvector_h_seconds", {}, 0.25);
      }
    });
  }
  std::thread renderer([&m] {
    for (int i = 0; i < 50; ++i) m.Render();
  });
  for (auto& t : threads) t.join();
  renderer.join();
  std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("vjvector_c_total 40000\n"));
  EXPECT_THAT(text, HasSubstr("vjvector_h_seconds_bucket{le=\"0.5\"} 40000\n"));
  EXPECT_THAT(text, HasSubstr("vjvector_h_seconds_count 40000\n"));
}

// The real format check: Prometheus' own linter must accept what we render.
TEST(MetricsTest, PromtoolAcceptsRenderedText) {
  const char* promtool = "/usr/bin/promtool";
  if (access(promtool, X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  Metrics m;
  m.DeclareCounter("vjvector_http_requests_total", "HTTP requests.");
  m.DeclareGauge("vjvector_collection_points", "Points per collection.");
  m.DeclareHistogram("vjvector_http_request_duration_seconds", "HTTP latency.",
                     {0.0005, 0.001, 0.01, 0.1, 1, 10});
  m.Increment("vjvector_http_requests_total",
              {{"route", "/collections/{name}"}, {"method", "GET"}, {"status", "200"}});
  m.Increment("vjvector_http_requests_total",
              {{"route", "weird \"route\"\\\n"}, {"method", "POST"}, {"status", "500"}}, 3);
  m.Set("vjvector_collection_points", {{"collection", "a"}}, 12345678901234.0);
  m.Set("vjvector_collection_points", {{"collection", "b"}}, 0.1);
  m.Observe("vjvector_http_request_duration_seconds", {{"route", "/x"}, {"method", "GET"}}, 0.003);
  m.Observe("vjvector_http_request_duration_seconds", {{"route", "/x"}, {"method", "GET"}}, 42);

  std::string path = ::testing::TempDir() + "/vj_metrics_" + std::to_string(getpid()) + ".txt";
  {
    std::ofstream out(path);
    out << m.Render();
  }
  std::string cmd = std::string(promtool) + " check metrics < " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) output.append(buf, n);
  int rc = pclose(p);
  std::remove(path.c_str());
  EXPECT_EQ(rc, 0) << "promtool said:\n" << output << "\nfor:\n" << m.Render();
}

}  // namespace
}  // namespace vj

#include "tracing/span_exporter.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>

namespace vj {
namespace {

std::unique_ptr<SpanData> NewSpan(int i) {
  auto span = std::make_unique<SpanData>();
  span->context.trace_id[15] = 1;
  span->context.span_id[7] = static_cast<uint8_t>(i + 1);
  span->name = "s" + std::to_string(i);
  return span;
}

size_t SpansIn(const std::string& body) {
  return boost::json::parse(body).at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().size();
}

// A collector that holds every request until released: the exporter's thread is stuck in a POST.
struct StuckCollector {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  int requests = 0;
  size_t spans = 0;
  Status Post(const std::string& body) {
    std::unique_lock lock(mu);
    ++requests;
    spans += SpansIn(body);
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
    return absl::OkStatus();
  }
  void Release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
};

TEST(BatchSpanExporterTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  StuckCollector collector;
  SpanExporterOptions options;
  options.max_queue_spans = 8;
  options.max_batch_spans = 4;
  options.flush_interval = std::chrono::hours(1);
  BatchSpanExporter exporter(options, [&](const std::string& body) { return collector.Post(body); });
  // The first full batch wakes the thread, which takes it and then hangs in the POST.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(exporter.Push(NewSpan(i)));
  {
    std::unique_lock lock(collector.mu);
    collector.cv.wait(lock, [&] { return collector.requests == 1; });
  }
  // Now the queue fills (8) and every further span is dropped at once.
  int accepted = 0;
  for (int i = 0; i < 20; ++i) accepted += exporter.Push(NewSpan(i));
  EXPECT_EQ(accepted, 8);
  EXPECT_EQ(exporter.dropped_spans(), 12u);
  EXPECT_EQ(exporter.queued_spans(), 8u);
  collector.Release();
  exporter.Flush();
  EXPECT_EQ(exporter.exported_spans(), 12u);
  EXPECT_EQ(collector.spans, 12u);
  EXPECT_EQ(exporter.queued_spans(), 0u);
}

TEST(BatchSpanExporterTest, BatchesAreBoundedAndFailuresCounted) {
  std::mutex mu;
  std::vector<size_t> sizes;
  SpanExporterOptions options;
  options.max_batch_spans = 3;
  options.flush_interval = std::chrono::hours(1);
  BatchSpanExporter exporter(options, [&](const std::string& body) {
    std::lock_guard lock(mu);
    sizes.push_back(SpansIn(body));
    return absl::UnavailableError("collector down");
  });
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(exporter.Push(NewSpan(i)));
  exporter.Flush();  // sends the remainder without waiting for the interval
  EXPECT_EQ(exporter.failed_spans(), 7u);
  EXPECT_EQ(exporter.exported_spans(), 0u);
  std::lock_guard lock(mu);
  size_t total = 0;
  for (size_t n : sizes) {
    EXPECT_LE(n, 3u);
    total += n;
  }
  EXPECT_EQ(total, 7u);
}

TEST(BatchSpanExporterTest, TheIntervalSendsAPartialBatch) {
  std::mutex mu;
  std::condition_variable cv;
  size_t got = 0;
  SpanExporterOptions options;
  options.max_batch_spans = 100;
  options.flush_interval = std::chrono::milliseconds(20);
  BatchSpanExporter exporter(options, [&](const std::string& body) {
    std::lock_guard lock(mu);
    got += SpansIn(body);
    cv.notify_all();
    return absl::OkStatus();
  });
  ASSERT_TRUE(exporter.Push(NewSpan(0)));
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return got == 1; });  // no Flush: only the interval can have sent it
}

TEST(BatchSpanExporterTest, DestructionSendsWhatIsQueued) {
  size_t got = 0;
  {
    SpanExporterOptions options;
    options.flush_interval = std::chrono::hours(1);
    BatchSpanExporter exporter(options, [&](const std::string& body) {
      got += SpansIn(body);
      return absl::OkStatus();
    });
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(exporter.Push(NewSpan(i)));
  }
  EXPECT_EQ(got, 5u);
}

}  // namespace
}  // namespace vj

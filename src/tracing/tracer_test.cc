#include "tracing/tracer.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "tracing/sampler.h"
#include "tracing/span_exporter.h"

namespace vj {
namespace {

TraceId IdWithLow(uint64_t low) {
  TraceId id{};
  id[0] = 1;
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<uint8_t>(low >> (8 * i));
  return id;
}

TEST(SamplerTest, RatioBoundsOnTheTraceIdsLowBytes) {
  EXPECT_FALSE(TraceIdBelowRatio(IdWithLow(0), 0.0));
  EXPECT_TRUE(TraceIdBelowRatio(IdWithLow(~0ull), 1.0));
  EXPECT_TRUE(TraceIdBelowRatio(IdWithLow(0), 0.01));
  EXPECT_TRUE(TraceIdBelowRatio(IdWithLow((1ull << 63) - 1), 0.5));
  EXPECT_FALSE(TraceIdBelowRatio(IdWithLow(1ull << 63), 0.5));
  EXPECT_FALSE(TraceIdBelowRatio(IdWithLow(0), -1));
  EXPECT_FALSE(TraceIdBelowRatio(IdWithLow(0), std::nan("")));
}

TEST(SamplerTest, ParentDecidesWhenThereIsOne) {
  TraceContext parent;
  parent.trace_id = IdWithLow(~0ull);
  parent.span_id[7] = 1;
  parent.flags = 1;
  EXPECT_TRUE(ShouldSample(parent, parent.trace_id, 0.0));  // sampled caller, ratio 0
  parent.flags = 0;
  EXPECT_FALSE(ShouldSample(parent, parent.trace_id, 1.0));  // unsampled caller, ratio 1
  EXPECT_TRUE(ShouldSample(TraceContext{}, IdWithLow(5), 0.5));  // root: the ratio
}

TEST(SamplerTest, RatioSamplesAboutThatShareOfRandomRoots) {
  std::vector<std::unique_ptr<SpanData>> sink;
  BatchSpanExporter exporter(SpanExporterOptions{}, [](const std::string&) { return absl::OkStatus(); });
  Tracer tracer(TracerOptions{0.25}, exporter);
  int sampled = 0;
  for (int i = 0; i < 20000; ++i) sampled += tracer.Start("x", SpanKind::kServer, TraceContext{}, false).recording();
  EXPECT_GT(sampled, 4500);
  EXPECT_LT(sampled, 5500);
}

// Spans sent through a real exporter, collected from its posted JSON bodies' count.
class TracerTest : public ::testing::Test {
 protected:
  void SetUp() override { InstallTracer(&tracer_); }
  void TearDown() override {
    InstallTracer(nullptr);
  }
  std::vector<std::string> Bodies() {
    exporter_.Flush();
    std::lock_guard lock(mu_);
    return bodies_;
  }

  std::mutex mu_;
  std::vector<std::string> bodies_;
  BatchSpanExporter exporter_{SpanExporterOptions{}, [this](const std::string& body) {
                                std::lock_guard lock(mu_);
                                bodies_.push_back(body);
                                return absl::OkStatus();
                              }};
  Tracer tracer_{TracerOptions{1.0}, exporter_};
};

TEST_F(TracerTest, ChildrenFollowTheThreadsCurrentContext) {
  TraceContext root_context, child_context;
  {
    Span root = StartSpan("root", SpanKind::kServer);
    ASSERT_TRUE(root.recording());
    root_context = root.context();
    std::string request_id = "req-1";
    ScopedTraceContext scope(root.context(), &request_id);
    EXPECT_EQ(CurrentRequestId(), "req-1");
    EXPECT_EQ(CurrentTraceparent(), FormatTraceparent(root.context()));
    Span child = StartSpan("child");
    child_context = child.context();
  }
  EXPECT_FALSE(CurrentTraceContext().valid());  // the scope restored the empty context
  EXPECT_EQ(CurrentRequestId(), "");
  EXPECT_EQ(child_context.trace_id, root_context.trace_id);
  EXPECT_NE(child_context.span_id, root_context.span_id);
  std::vector<std::string> bodies = Bodies();
  ASSERT_EQ(bodies.size(), 1u);
  // The child ended first and names the root as its parent.
  EXPECT_NE(bodies[0].find("\"parentSpanId\":\"" + root_context.SpanIdHex() + "\""), std::string::npos);
  EXPECT_NE(bodies[0].find("\"name\":\"child\""), std::string::npos);
}

TEST_F(TracerTest, ARemoteParentIsContinued) {
  auto parent = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(parent);
  {
    Span span = StartSpan("served", SpanKind::kServer, *parent, /*remote=*/true, "a=1");
    EXPECT_EQ(span.context().TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_TRUE(span.context().sampled());
  }
  std::vector<std::string> bodies = Bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(bodies[0].find("\"parentSpanId\":\"00f067aa0ba902b7\""), std::string::npos);
  EXPECT_NE(bodies[0].find("\"traceState\":\"a=1\""), std::string::npos);
  EXPECT_NE(bodies[0].find("\"flags\":769"), std::string::npos);  // sampled | has-remote | remote
}

TEST_F(TracerTest, AnUnsampledCallerGetsNoSpansButItsDecisionTravels) {
  auto parent = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(parent);
  {
    Span span = StartSpan("served", SpanKind::kServer, *parent, true);
    EXPECT_FALSE(span.recording());
    ScopedTraceContext scope(span.context());
    EXPECT_EQ(CurrentTraceparent().substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-");
    EXPECT_EQ(CurrentTraceparent().substr(53), "00");
    EXPECT_FALSE(StartSpan("child").recording());
  }
  EXPECT_TRUE(Bodies().empty());
}

TEST(TracingOffTest, SpansAreInertWithoutATracer) {
  ASSERT_EQ(ActiveTracer(), nullptr);
  Span span = StartSpan("x", SpanKind::kServer);
  EXPECT_FALSE(span.recording());
  EXPECT_FALSE(span.context().valid());
  span.SetAttribute("k", "v");
  span.SetError("e");
  ScopedTraceContext scope(span.context());
  EXPECT_EQ(CurrentTraceparent(), "");
}

}  // namespace
}  // namespace vj

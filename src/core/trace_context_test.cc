#include "core/trace_context.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

constexpr char kSample[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ParsesTheSpecExample) {
  auto context = ParseTraceparent(kSample);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context->SpanIdHex(), "00f067aa0ba902b7");
  EXPECT_TRUE(context->sampled());
  EXPECT_TRUE(context->valid());
  EXPECT_EQ(FormatTraceparent(*context), kSample);
}

TEST(TraceparentTest, NotSampledFlagAndOtherFlagBits) {
  auto context = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(context.has_value());
  EXPECT_FALSE(context->sampled());
  context = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  ASSERT_TRUE(context.has_value());
  EXPECT_TRUE(context->sampled());
  EXPECT_EQ(context->flags, 3);
}

TEST(TraceparentTest, RejectsMalformedHeaders) {
  const char* bad[] = {
      "",
      "00",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",            // short flags
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",     // version 00 has 4 fields
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",           // upper-case hex
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",           // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",           // zero span id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // version ff
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // separator
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",           // not hex
      "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // version not hex
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",          // later version, no '-'
  };
  for (const char* header : bad) EXPECT_FALSE(ParseTraceparent(header).has_value()) << header;
}

TEST(TraceparentTest, LaterVersionsAreReadByTheirFirstFields) {
  auto context = ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-whatever");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(FormatTraceparent(*context), kSample);  // we answer in version 00
}

TEST(TraceparentTest, DefaultContextIsInvalid) {
  TraceContext context;
  EXPECT_FALSE(context.valid());
  EXPECT_EQ(FormatTraceparent(context), "00-00000000000000000000000000000000-0000000000000000-00");
}

TEST(TracestateTest, KeepsWellFormedListsAndDropsBadOnes) {
  EXPECT_EQ(SanitizeTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(SanitizeTracestate("a=1, ,b@vendor=2 "), "a=1,b@vendor=2");
  EXPECT_EQ(SanitizeTracestate(""), "");
  EXPECT_EQ(SanitizeTracestate("novalue"), "");
  EXPECT_EQ(SanitizeTracestate("Upper=1"), "");
  EXPECT_EQ(SanitizeTracestate("a=x\ny"), "");
  EXPECT_EQ(SanitizeTracestate("a=b=c"), "");
  EXPECT_EQ(SanitizeTracestate(std::string(600, 'a')), "");
  std::string many;
  for (int i = 0; i < 33; ++i) many += "k" + std::to_string(i) + "=v,";
  EXPECT_EQ(SanitizeTracestate(many), "");
}

}  // namespace
}  // namespace vj

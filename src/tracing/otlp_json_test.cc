#include "tracing/otlp_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace vj {
namespace {

std::unique_ptr<SpanData> Sample() {
  auto span = std::make_unique<SpanData>();
  span->context = *ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  span->parent_span_id = {0, 0, 0, 0, 0, 0, 0, 9};
  span->name = "POST /collections/{name}/points";
  span->kind = SpanKind::kServer;
  span->start_unix_nanos = 1765000000123456789ull;
  span->end_unix_nanos = 1765000000223456789ull;
  span->attributes = {{"http.request.method", std::string("POST")},
                      {"http.response.status_code", int64_t{200}},
                      {"ratio", 0.5},
                      {"ok", true},
                      {"odd", std::string("a\"b\n\xff")}};
  span->status = SpanStatus::kError;
  span->status_message = "boom";
  return span;
}

TEST(OtlpJsonTest, FollowsTheOtlpJsonMapping) {
  std::vector<std::unique_ptr<SpanData>> spans;
  spans.push_back(Sample());
  auto root = std::make_unique<SpanData>();
  root->context = spans[0]->context;
  root->name = "root";
  spans.push_back(std::move(root));
  const std::string text = EncodeOtlpTraces(OtlpResource{"vjvector", "node-1", ""}, spans);
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  const auto& rs = doc.at("resourceSpans").as_array().at(0);
  const auto& resource_attrs = rs.at("resource").at("attributes").as_array();
  ASSERT_EQ(resource_attrs.size(), 2u);
  EXPECT_EQ(resource_attrs[0].at("key"), "service.name");
  EXPECT_EQ(resource_attrs[0].at("value").at("stringValue"), "vjvector");
  EXPECT_EQ(resource_attrs[1].at("key"), "service.instance.id");
  EXPECT_EQ(resource_attrs[1].at("value").at("stringValue"), "node-1");
  const auto& scope = rs.at("scopeSpans").as_array().at(0);
  EXPECT_EQ(scope.at("scope").at("name"), "vjvector");
  const auto& s = scope.at("spans").as_array().at(0).as_object();
  EXPECT_EQ(s.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.at("spanId"), "00f067aa0ba902b7");
  EXPECT_EQ(s.at("parentSpanId"), "0000000000000009");
  EXPECT_EQ(s.at("kind"), 2);
  EXPECT_EQ(s.at("startTimeUnixNano"), "1765000000123456789");
  EXPECT_EQ(s.at("endTimeUnixNano"), "1765000000223456789");
  EXPECT_EQ(s.at("status").at("code"), 2);
  EXPECT_EQ(s.at("status").at("message"), "boom");
  EXPECT_EQ(s.at("flags"), 257);
  const auto& attrs = s.at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 5u);
  EXPECT_EQ(attrs[0].at("value").at("stringValue"), "POST");
  EXPECT_EQ(attrs[1].at("value").at("intValue"), "200");  // int64 as a decimal string
  EXPECT_EQ(attrs[2].at("value").at("doubleValue"), 0.5);
  EXPECT_EQ(attrs[3].at("value").at("boolValue"), true);
  EXPECT_EQ(attrs[4].at("value").at("stringValue"), "a\"b\n\xef\xbf\xbd");  // not UTF-8 -> U+FFFD
  // A root span has no parentSpanId at all (not an empty one).
  const auto& r = scope.at("spans").as_array().at(1).as_object();
  EXPECT_FALSE(r.contains("parentSpanId"));
  EXPECT_EQ(r.at("status").at("code"), 0);
  EXPECT_FALSE(r.at("status").as_object().contains("message"));
}

TEST(OtlpJsonTest, EmptyBatchIsStillARequest) {
  boost::json::value doc = boost::json::parse(EncodeOtlpTraces(OtlpResource{}, {}));
  EXPECT_TRUE(doc.at("resourceSpans").as_array().at(0).at("scopeSpans").as_array().at(0).at("spans").as_array().empty());
}

}  // namespace
}  // namespace vj

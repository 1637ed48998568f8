#include "core/payload_limits.h"

#include <string>

#include "gtest/gtest.h"

namespace vj {
namespace {

namespace json = boost::json;

// {"a":{"a":...{"a":1}...}} with `depth` objects.
std::string NestedText(size_t depth) {
  std::string text;
  for (size_t i = 0; i < depth; ++i) text += R"({"a":)";
  text += "1";
  text.append(depth, '}');
  return text;
}

// The same value built in code, without a parser's depth limit.
Payload Nested(size_t depth) {
  Payload root;
  json::object* at = &root;
  for (size_t i = 1; i < depth; ++i) at = &at->emplace("a", json::object()).first->value().get_object();
  at->emplace("a", 1);
  return root;
}

TEST(PayloadLimitsTest, DepthCountsLikeTheParser) {
  EXPECT_EQ(JsonDepth(json::value(1)), 0u);
  EXPECT_EQ(JsonDepth(json::value(json::object())), 1u);
  EXPECT_EQ(JsonDepth(*ParseJson(R"({"a":[1,{"b":[]}],"c":{}})")), 4u);
  for (size_t depth : {size_t{1}, size_t{2}, kMaxPayloadDepth - 1, kMaxPayloadDepth, kMaxPayloadDepth + 1}) {
    const bool fits = depth <= kMaxPayloadDepth;
    EXPECT_EQ(ParseJson(NestedText(depth), kMaxPayloadDepth).ok(), fits) << depth;
    EXPECT_EQ(JsonDepth(json::value(Nested(depth))), depth);
    Status checked = CheckPayloadLimits(Nested(depth), "payload");
    EXPECT_EQ(checked.ok(), fits) << depth << ": " << checked;
    if (!fits) {
      EXPECT_EQ(checked.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(checked.message().find("payload: payload nests"), std::string_view::npos) << checked;
      EXPECT_NE(checked.message().find(std::to_string(kMaxPayloadDepth)), std::string_view::npos);
    }
  }
}

TEST(PayloadLimitsTest, VeryDeepValuesAreMeasuredWithoutRecursion) {
  // Deeper than any thread stack would survive with one frame per level.
  constexpr size_t kDepth = 200000;
  json::value root = json::object();
  json::value* at = &root;
  for (size_t i = 0; i < kDepth; ++i) at = &(at->get_object()["a"] = json::object());
  EXPECT_EQ(JsonDepth(root), kDepth + 1);
  EXPECT_FALSE(CheckPayloadLimits(root.get_object(), "payload").ok());
  // Boost.JSON destroys values recursively; take the chain apart from the bottom up instead.
  std::vector<json::object*> chain;
  for (json::value* v = &root; v->is_object() && !v->get_object().empty(); v = &v->get_object()["a"]) {
    chain.push_back(&v->get_object());
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) (*it)->clear();
}

TEST(PayloadLimitsTest, SizeIsTheStoredJsonText) {
  Payload p = ParseJson(R"({"text":"h\u00e9llo","n":[1,2.5,null,true]})")->as_object();
  EXPECT_EQ(SerializedPayloadBytes(p), json::serialize(p).size());
  EXPECT_EQ(SerializedPayloadBytes(Payload()), 0u);
  Payload big;
  big["s"] = std::string(kMaxPayloadBytes, 'x');
  Status checked = CheckPayloadLimits(big, "points[0].payload");
  EXPECT_EQ(checked.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(checked.message().find("points[0].payload"), std::string_view::npos) << checked;
  big["s"] = std::string(kMaxPayloadBytes - 8, 'x');  // {"s":"..."} adds 8 bytes
  EXPECT_EQ(SerializedPayloadBytes(big), kMaxPayloadBytes);
  EXPECT_TRUE(CheckPayloadLimits(big, "payload").ok());
}

}  // namespace
}  // namespace vj

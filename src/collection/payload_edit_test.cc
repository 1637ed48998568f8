#include "collection/payload_edit.h"

#include <gtest/gtest.h>

namespace vj {
namespace {

Payload Parse(const char* text) { return ParseJson(text)->as_object(); }

TEST(PayloadEditTest, MergeAtTopAndAtKey) {
  Payload p = Parse(R"({"a": 1, "b": {"c": 2}})");
  MergePayload(p, Parse(R"({"a": 5, "d": true})"), std::nullopt);
  EXPECT_EQ(boost::json::serialize(p), R"({"a":5,"b":{"c":2},"d":true})");
  MergePayload(p, Parse(R"({"x": 1})"), std::string("b"));
  EXPECT_EQ(boost::json::serialize(p), R"({"a":5,"b":{"c":2,"x":1},"d":true})");
}

TEST(PayloadEditTest, DeleteNestedAndMissingKeys) {
  Payload p = Parse(R"({"a": 1, "b": {"c": 2, "e": 3}})");
  DeletePayloadKeys(p, {"b.c", "zzz", "a"});
  EXPECT_EQ(boost::json::serialize(p), R"({"b":{"e":3}})");
}

TEST(PayloadEditTest, Select) {
  Payload p = Parse(R"({"a": 1, "b": {"c": 2, "e": 3}, "f": 4})");
  EXPECT_FALSE(SelectPayload(p, {PayloadSelector::Mode::kNone, {}}).has_value());
  EXPECT_EQ(boost::json::serialize(*SelectPayload(p, {PayloadSelector::Mode::kInclude, {"a", "b.e"}})),
            R"({"a":1,"b":{"e":3}})");
  EXPECT_EQ(boost::json::serialize(*SelectPayload(p, {PayloadSelector::Mode::kExclude, {"b"}})),
            R"({"a":1,"f":4})");
}

}  // namespace
}  // namespace vj

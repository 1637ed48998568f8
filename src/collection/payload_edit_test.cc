#include "collection/payload_edit.h"

#include <random>

#include <gtest/gtest.h>

#include "core/payload_limits.h"
#include "storage/point_record.h"

namespace vj {
namespace {

namespace json = boost::json;

Payload Parse(const char* text) { return ParseJson(text)->as_object(); }

PayloadPath Path(const std::string& text) {
  StatusOr<PayloadPath> path = ParsePayloadPath(text);
  EXPECT_TRUE(path.ok()) << text << ": " << path.status();
  return path.ok() ? *path : PayloadPath();
}

std::string Merged(const char* target, const char* patch, const std::string& key) {
  Payload p = Parse(target);
  PayloadPath path = key.empty() ? PayloadPath() : Path(key);
  Payload parsed = Parse(patch);
  Status s = MergePayload(p, parsed, SerializedPayloadBytes(parsed), key.empty() ? nullptr : &path);
  EXPECT_TRUE(s.ok()) << s;
  return json::serialize(p);
}

std::string Deleted(const char* target, const std::vector<std::string>& keys) {
  Payload p = Parse(target);
  std::vector<PayloadPath> paths;
  for (const std::string& k : keys) paths.push_back(Path(k));
  DeletePayloadPaths(p, paths);
  return json::serialize(p);
}

TEST(PayloadEditTest, MergeAtTopAndAtKey) {
  EXPECT_EQ(Merged(R"({"a": 1, "b": {"c": 2}})", R"({"a": 5, "d": true})", ""),
            R"({"a":5,"b":{"c":2},"d":true})");
  EXPECT_EQ(Merged(R"({"a": 5, "b": {"c": 2}})", R"({"x": 1})", "b"), R"({"a":5,"b":{"c":2,"x":1}})");
  // Missing objects are created, and a scalar on the way is replaced by an object (Qdrant).
  EXPECT_EQ(Merged(R"({"a": 10})", R"({"x": 1})", "a.b.c"), R"({"a":{"b":{"c":{"x":1}}}})");
  EXPECT_EQ(Merged("{}", R"({"c": 1})", "k1.k2"), R"({"k1":{"k2":{"c":1}}})");
}

TEST(PayloadEditTest, MergeThroughArraysAsQdrant) {
  const char* doc = R"({"a": {"b": [{"c": 1}, {"c": 2}, {"d": {"e": 3}}]}, "f": 3})";
  EXPECT_EQ(Merged(doc, R"({"c": 5})", "a.b[1]"), R"({"a":{"b":[{"c":1},{"c":5},{"d":{"e":3}}]},"f":3})");
  EXPECT_EQ(Merged(doc, R"({"z": 0})", "a.b[]"),
            R"({"a":{"b":[{"c":1,"z":0},{"c":2,"z":0},{"d":{"e":3},"z":0}]},"f":3})");
  EXPECT_EQ(Merged(doc, R"({"z": 0})", "a.b[].d"),
            R"({"a":{"b":[{"c":1,"d":{"z":0}},{"c":2,"d":{"z":0}},{"d":{"e":3,"z":0}}]},"f":3})");
  // An index past the end extends the array with nulls; [] on a missing array leaves an empty one.
  EXPECT_EQ(Merged("{}", R"({"c": 1})", "k1.k2[3]"), R"({"k1":{"k2":[null,null,null,{"c":1}]}})");
  EXPECT_EQ(Merged("{}", R"({"c": 1})", "k1.k2[].k3"), R"({"k1":{"k2":[]}})");
  // A quoted segment is one key, dots and all.
  EXPECT_EQ(Merged("{}", R"({"v": 1})", R"(a."b.c")"), R"({"a":{"b.c":{"v":1}}})");
}

TEST(PayloadEditTest, MergeThatWouldWriteTooMuchFailsFast) {
  Payload p;
  json::array& arr = p["a"].emplace_array();
  arr.resize(2000);  // 2,000 nulls
  PayloadPath path = Path("a[].b[" + std::to_string(kMaxPayloadPathIndex) + "]");
  Status s = MergePayload(p, Parse(R"({"x": 1})"), 7, &path);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("would write more than"), std::string_view::npos) << s;
}

TEST(PayloadEditTest, DeleteAsQdrant) {
  const char* doc = R"({"a": 1, "b": {"c": 123, "e": {"f": [1, 2, 3], "i": [{"j": 1, "k": 2}, {"j": 3, "k": 4}]}}})";
  EXPECT_EQ(Deleted(doc, {"b.c", "zzz", "a"}),
            R"({"b":{"e":{"f":[1,2,3],"i":[{"j":1,"k":2},{"j":3,"k":4}]}}})");
  EXPECT_EQ(Deleted(doc, {"b.e.f[1]", "b.e.i[0].j"}),
            R"({"a":1,"b":{"c":123,"e":{"f":[1,3],"i":[{"k":2},{"j":3,"k":4}]}}})");
  EXPECT_EQ(Deleted(doc, {"b.e.i[].k"}), R"({"a":1,"b":{"c":123,"e":{"f":[1,2,3],"i":[{"j":1},{"j":3}]}}})");
  EXPECT_EQ(Deleted(doc, {"b.e.i[]", "b.e.f[9]", "a.x"}), R"({"a":1,"b":{"c":123,"e":{"f":[1,2,3],"i":[]}}})");
  EXPECT_EQ(Deleted(R"({"a.b": 1, "a": {"b": 2}})", {R"("a.b")"}), R"({"a":{"b":2}})");
  EXPECT_EQ(Deleted(R"({"a.b": 1, "a": {"b": 2}})", {"a.b"}), R"({"a.b":1,"a":{}})");
}

TEST(PayloadEditTest, ParsePathsNamesTheBadKey) {
  StatusOr<std::vector<PayloadPath>> paths = ParsePayloadPaths({"a", "a..b"}, "keys");
  ASSERT_FALSE(paths.ok());
  EXPECT_EQ(paths.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(paths.status().message().find("keys[1]"), std::string_view::npos) << paths.status();
  EXPECT_NE(paths.status().message().find("a..b"), std::string_view::npos) << paths.status();
}

TEST(PayloadEditTest, Select) {
  Payload p = Parse(R"({"a": 1, "b": {"c": 2, "e": 3}, "f": 4, "g": [{"h": 1}]})");
  EXPECT_FALSE(SelectPayload(p, {PayloadSelector::Mode::kNone, {}}).has_value());
  EXPECT_EQ(json::serialize(*SelectPayload(p, {PayloadSelector::Mode::kInclude, {"a", "b.e", "g[0].h"}})),
            R"({"a":1,"b":{"e":3},"g":[{"h":1}]})");
  EXPECT_EQ(json::serialize(*SelectPayload(p, {PayloadSelector::Mode::kExclude, {"b", "g[].h"}})),
            R"({"a":1,"g":[{}],"f":4})");  // Boost.JSON's erase moves the last member into the gap
}

// Random set / overwrite / delete operations with random keys and patches go through the same steps
// as a request (key parsing, input limits, merge, result limits); every payload that passes is encoded
// as a point record and must decode to the same payload.
class AcceptedWritesDecode : public ::testing::Test {
 protected:
  std::string RandomKey() {
    static const char* kNames[] = {"a", "b", "tag", "x-y", "\"q.r\"", "\"\"", "", "a..b", "[0]"};
    std::string key;
    const int segments = 1 + Pick(40);  // sometimes over kMaxPayloadPathSegments
    for (int i = 0; i < segments; ++i) {
      if (i > 0) key += Pick(50) == 0 ? ".." : ".";
      key += kNames[Pick(std::size(kNames))];
      switch (Pick(6)) {
        case 0: key += "[]"; break;
        case 1: key += "[" + std::to_string(Pick(4)) + "]"; break;
        default: break;
      }
    }
    return key;
  }

  json::value RandomValue(int depth_left) {
    switch (depth_left <= 0 ? Pick(3) : Pick(6)) {
      case 0: return json::value(static_cast<int64_t>(Pick(1000)));
      case 1: return json::value("s" + std::to_string(Pick(10)));
      case 2: return json::value(nullptr);
      case 3: {
        json::array arr;
        for (int i = Pick(3); i > 0; --i) arr.push_back(RandomValue(depth_left - 1));
        return arr;
      }
      default: return RandomPatch(depth_left - 1);
    }
  }

  json::object RandomPatch(int depth_left) {
    json::object obj;
    for (int i = 1 + Pick(2); i > 0; --i) obj["k" + std::to_string(Pick(4))] = RandomValue(depth_left);
    return obj;
  }

  // A chain of objects around the depth limit, or a small random patch.
  json::object SomePatch() {
    if (Pick(4) != 0) return RandomPatch(4);
    json::object root;
    json::object* at = &root;
    for (int i = 40 + Pick(40); i > 1; --i) at = &(*at)["n"].emplace_object();
    (*at)["leaf"] = 1;
    return root;
  }

  int Pick(size_t n) { return static_cast<int>(rng_() % n); }

  std::mt19937 rng_{20261207};
};

TEST_F(AcceptedWritesDecode, RandomPayloadEdits) {
  Payload stored;
  int accepted = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    Payload next = stored;
    Status status;
    const int op = Pick(10);
    if (op < 6) {  // set_payload, with a key most of the time
      Payload patch = SomePatch();
      const std::string key = RandomKey();
      status = CheckPayloadLimits(patch, "payload");
      StatusOr<PayloadPath> path = ParsePayloadPath(key);
      if (status.ok() && op > 0) status = path.status();
      if (status.ok()) {
        status = MergePayload(next, patch, SerializedPayloadBytes(patch), op > 0 ? &*path : nullptr);
      }
      if (status.ok()) status = CheckPayloadLimits(next, "payload");
    } else if (op < 8) {  // delete_payload
      StatusOr<std::vector<PayloadPath>> paths = ParsePayloadPaths({RandomKey(), RandomKey()}, "keys");
      status = paths.status();
      if (status.ok()) DeletePayloadPaths(next, *paths);
    } else {  // overwrite_payload
      next = SomePatch();
      status = CheckPayloadLimits(next, "payload");
    }
    if (!status.ok()) {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
      ++refused;
      continue;
    }
    ++accepted;
    PointRecord record;
    record.id = PointId::Num(static_cast<uint64_t>(round));
    record.payload = next;
    StatusOr<PointRecord> decoded = DecodePointRecord(EncodePointRecord(record));
    ASSERT_TRUE(decoded.ok()) << "round " << round << ": " << decoded.status();
    ASSERT_EQ(json::serialize(decoded->payload), json::serialize(next)) << "round " << round;
    stored = std::move(next);
  }
  // Both outcomes must be exercised for the test to mean anything.
  EXPECT_GT(accepted, 500);
  EXPECT_GT(refused, 100);
}

}  // namespace
}  // namespace vj

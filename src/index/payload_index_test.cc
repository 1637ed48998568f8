#include "index/payload_index.h"

#include <gtest/gtest.h>

#include <random>

namespace vj {
namespace {

namespace json = boost::json;

RangeCondition Bounds(std::optional<double> gt, std::optional<double> gte, std::optional<double> lt,
                      std::optional<double> lte) {
  RangeCondition r;
  r.gt = gt;
  r.gte = gte;
  r.lt = lt;
  r.lte = lte;
  return r;
}

ValuesCountCondition Counts(std::optional<uint64_t> gt, std::optional<uint64_t> gte,
                            std::optional<uint64_t> lt, std::optional<uint64_t> lte) {
  ValuesCountCondition c;
  c.gt = gt;
  c.gte = gte;
  c.lt = lt;
  c.lte = lte;
  return c;
}

const char* const kUuids[] = {"550e8400-e29b-41d4-a716-446655440000", "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                              "00000000-0000-0000-0000-000000000001"};
const char* const kWords[] = {"red", "green", "blue", "", "Red"};

// One random scalar of any JSON kind, from small domains so that conditions hit often.
json::value RandomScalar(std::mt19937& rng) {
  switch (rng() % 9) {
    case 0:
      return nullptr;
    case 1:
      return kWords[rng() % 5];
    case 2:
      return kUuids[rng() % 3];
    case 3:
      return static_cast<int64_t>(rng() % 11) - 5;
    case 4:
      return static_cast<double>(static_cast<int>(rng() % 21) - 10) / 2;  // integral half the time
    case 5:
      return static_cast<uint64_t>(18446744073709551615ull);
    case 6:
      return (rng() % 2) == 0;
    case 7:
      return json::object{{"x", 1}};
    default:
      return kWords[rng() % 3];
  }
}

Payload RandomPayload(std::mt19937& rng) {
  Payload p;
  switch (rng() % 4) {
    case 0:
      break;  // key absent
    case 1:
      p["v"] = RandomScalar(rng);
      break;
    default: {
      json::array arr;
      for (size_t n = rng() % 4; n > 0; --n) arr.push_back(RandomScalar(rng));
      p["v"] = std::move(arr);
    }
  }
  if (rng() % 2 == 0) {
    json::array objs;
    for (size_t n = rng() % 3; n > 0; --n) objs.push_back(json::object{{"v", RandomScalar(rng)}});
    p["o"] = std::move(objs);
  }
  return p;
}

MatchValue RandomMatchValue(std::mt19937& rng) {
  switch (rng() % 4) {
    case 0:
      return std::string(kWords[rng() % 5]);
    case 1:
      return std::string(kUuids[rng() % 3]);
    case 2:
      return static_cast<int64_t>(rng() % 13) - 6;
    default:
      return rng() % 2 == 0;
  }
}

FieldCondition RandomCondition(std::mt19937& rng, const std::string& key) {
  FieldCondition c;
  c.key = key;
  c.path = *ParsePayloadPath(key);
  const uint32_t kind = rng() % 6;
  if (kind <= 3) {
    MatchCondition m;
    m.kind = static_cast<MatchCondition::Kind>(kind);
    if (m.kind == MatchCondition::Kind::kText) {
      m.text = kWords[rng() % 3];
    } else {
      const size_t n = m.kind == MatchCondition::Kind::kValue ? 1 : rng() % 4;
      // any/except lists hold one type, as the codec enforces.
      const bool strings = rng() % 2 == 0;
      for (size_t i = 0; i < n; ++i) {
        MatchValue v = RandomMatchValue(rng);
        if (m.kind != MatchCondition::Kind::kValue) {
          v = strings ? MatchValue(std::string(kWords[rng() % 5])) : MatchValue(int64_t(rng() % 13) - 6);
        }
        m.values.push_back(std::move(v));
      }
    }
    c.match = std::move(m);
  }
  if (kind >= 4) {
    RangeCondition r;
    auto bound = [&]() -> std::optional<double> {
      if (rng() % 2 == 0) return std::nullopt;
      return static_cast<double>(static_cast<int>(rng() % 25) - 12) / 2;
    };
    r.gt = bound();
    r.gte = bound();
    r.lt = bound();
    r.lte = bound();
    c.range = r;
    if (kind == 5 && rng() % 2 == 0) c.match = MatchCondition{MatchCondition::Kind::kValue, {int64_t{1}}, ""};
  }
  return c;
}

roaring::Roaring BruteForce(const FieldCondition& c, const std::vector<Payload>& payloads,
                            const std::vector<bool>& live) {
  roaring::Roaring out;
  for (uint32_t id = 0; id < payloads.size(); ++id) {
    if (live[id] && Matches(Condition(c), PointId::Num(id), payloads[id])) out.add(id);
  }
  return out;
}

// Checks every answer the index gives against evaluation on the raw payloads; returns how many
// conditions it answered.
int CheckAgainstBruteForce(const PayloadIndex& index, const std::vector<Payload>& payloads,
                           const std::vector<bool>& live, std::mt19937& rng) {
  int answered = 0;
  for (int i = 0; i < 400; ++i) {
    FieldCondition c = RandomCondition(rng, index.key());
    std::optional<roaring::Roaring> got = index.Answer(c);
    if (!got) continue;
    ++answered;
    EXPECT_TRUE(*got == BruteForce(c, payloads, live))
        << "schema " << PayloadSchemaTypeName(index.type()) << " condition #" << i;
  }
  return answered;
}

class PayloadIndexPropertyTest : public ::testing::TestWithParam<std::tuple<PayloadSchemaType, std::string>> {
};

TEST_P(PayloadIndexPropertyTest, AnswerEqualsBruteForce) {
  const auto& [type, key] = GetParam();
  std::mt19937 rng(20240611);
  std::vector<Payload> payloads;
  for (int i = 0; i < 500; ++i) payloads.push_back(RandomPayload(rng));
  std::vector<bool> live(payloads.size(), true);

  StatusOr<std::unique_ptr<PayloadIndex>> index = PayloadIndex::Create(key, type);
  ASSERT_TRUE(index.ok()) << index.status();
  for (uint32_t id = 0; id < payloads.size(); ++id) (*index)->Add(id, payloads[id]);
  EXPECT_GT(CheckAgainstBruteForce(**index, payloads, live, rng), 20);

  // Remove a third of the points and change another third; answers must follow.
  for (uint32_t id = 0; id < payloads.size(); ++id) {
    if (id % 3 == 0) {
      (*index)->Remove(id, payloads[id]);
      live[id] = false;
    } else if (id % 3 == 1) {
      (*index)->Remove(id, payloads[id]);
      payloads[id] = RandomPayload(rng);
      (*index)->Add(id, payloads[id]);
    }
  }
  EXPECT_GT(CheckAgainstBruteForce(**index, payloads, live, rng), 20);

  // indexed_points counts live points that hold at least one value of the index's kind.
  roaring::Roaring all;
  for (uint32_t id = 0; id < payloads.size(); ++id) {
    if (!live[id]) continue;
    auto probe = PayloadIndex::Create(key, type);
    (*probe)->Add(id, payloads[id]);
    if ((*probe)->indexed_points() == 1) all.add(id);
  }
  EXPECT_EQ((*index)->indexed_points(), all.cardinality());
  EXPECT_GT((*index)->memory_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    PayloadIndexSchemas, PayloadIndexPropertyTest,
    ::testing::Combine(::testing::Values(PayloadSchemaType::kKeyword, PayloadSchemaType::kInteger,
                                         PayloadSchemaType::kFloat, PayloadSchemaType::kBool,
                                         PayloadSchemaType::kUuid),
                       ::testing::Values(std::string("v"), std::string("o[].v"))),
    [](const auto& info) {
      std::string key = std::get<1>(info.param) == "v" ? "Top" : "Nested";
      return std::string(PayloadSchemaTypeName(std::get<0>(info.param))) + key;
    });

FieldCondition MatchOn(const std::string& key, MatchCondition::Kind kind, std::vector<MatchValue> values) {
  FieldCondition c;
  c.key = key;
  c.path = *ParsePayloadPath(key);
  c.match = MatchCondition{kind, std::move(values), ""};
  return c;
}

TEST(PayloadIndexTest, AnswersOnlyWhatItCanAnswerExactly) {
  auto keyword = *PayloadIndex::Create("k", PayloadSchemaType::kKeyword);
  EXPECT_TRUE(keyword->Answer(MatchOn("k", MatchCondition::Kind::kValue, {std::string("a")})));
  EXPECT_FALSE(keyword->Answer(MatchOn("k", MatchCondition::Kind::kValue, {int64_t{1}})));
  EXPECT_FALSE(keyword->Answer(MatchOn("k", MatchCondition::Kind::kExcept, {std::string("a")})));
  EXPECT_FALSE(keyword->Answer(MatchOn("k", MatchCondition::Kind::kText, {})));
  EXPECT_FALSE(keyword->Answer(MatchOn("other", MatchCondition::Kind::kValue, {std::string("a")})));
  FieldCondition range = MatchOn("k", MatchCondition::Kind::kValue, {});
  range.match.reset();
  range.range = Bounds(1.0, {}, {}, {});
  EXPECT_FALSE(keyword->Answer(range));

  auto integer = *PayloadIndex::Create("k", PayloadSchemaType::kInteger);
  EXPECT_TRUE(integer->Answer(range));
  EXPECT_TRUE(integer->Answer(MatchOn("k", MatchCondition::Kind::kAny, {int64_t{1}, int64_t{2}})));
  EXPECT_FALSE(integer->Answer(MatchOn("k", MatchCondition::Kind::kAny, {std::string("1")})));
  // Beyond 2^53 doubles cannot tell neighbouring integers apart.
  EXPECT_FALSE(integer->Answer(MatchOn("k", MatchCondition::Kind::kValue, {int64_t{1} << 60})));

  auto flt = *PayloadIndex::Create("k", PayloadSchemaType::kFloat);
  EXPECT_TRUE(flt->Answer(range));
  EXPECT_FALSE(flt->Answer(MatchOn("k", MatchCondition::Kind::kValue, {int64_t{1}})));

  auto boolean = *PayloadIndex::Create("k", PayloadSchemaType::kBool);
  EXPECT_TRUE(boolean->Answer(MatchOn("k", MatchCondition::Kind::kValue, {true})));
  EXPECT_FALSE(boolean->Answer(range));

  FieldCondition count = MatchOn("k", MatchCondition::Kind::kValue, {std::string("a")});
  count.values_count = Counts(1, {}, {}, {});
  EXPECT_FALSE(keyword->Answer(count));
}

TEST(PayloadIndexTest, UuidIndexMatchesAnySpellingOfAUuid) {
  auto index = *PayloadIndex::Create("u", PayloadSchemaType::kUuid);
  index->Add(1, Payload{{"u", "550E8400-E29B-41D4-A716-446655440000"}});
  index->Add(2, Payload{{"u", "550e8400e29b41d4a716446655440000"}});
  index->Add(3, Payload{{"u", "not-a-uuid"}});
  std::optional<roaring::Roaring> got = index->Answer(
      MatchOn("u", MatchCondition::Kind::kValue, {std::string("550e8400-e29b-41d4-a716-446655440000")}));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->cardinality(), 2u);
  EXPECT_TRUE(got->contains(1) && got->contains(2));
  got = index->Answer(MatchOn("u", MatchCondition::Kind::kValue, {std::string("not-a-uuid")}));
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->contains(3));
  EXPECT_EQ(got->cardinality(), 1u);
}

TEST(PayloadIndexTest, RemoveForgetsThePoint) {
  auto index = *PayloadIndex::Create("tags", PayloadSchemaType::kKeyword);
  Payload a{{"tags", json::array{"x", "y", "x"}}};
  Payload b{{"tags", "x"}};
  index->Add(1, a);
  index->Add(2, b);
  EXPECT_EQ(index->indexed_points(), 2u);
  const size_t before = index->memory_bytes();
  index->Remove(1, a);
  EXPECT_EQ(index->indexed_points(), 1u);
  EXPECT_LT(index->memory_bytes(), before);  // "y" is gone
  auto got = index->Answer(MatchOn("tags", MatchCondition::Kind::kAny, {std::string("x"), std::string("y")}));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->cardinality(), 1u);
  EXPECT_TRUE(got->contains(2));
  index->Remove(2, b);
  EXPECT_EQ(index->indexed_points(), 0u);
  // Removing again, or a point never added, is harmless.
  index->Remove(2, b);
  index->Remove(9, a);
  EXPECT_EQ(index->indexed_points(), 0u);
}

TEST(PayloadIndexTest, SchemaNames) {
  for (auto type : {PayloadSchemaType::kKeyword, PayloadSchemaType::kInteger, PayloadSchemaType::kFloat,
                    PayloadSchemaType::kBool, PayloadSchemaType::kUuid}) {
    StatusOr<PayloadSchemaType> parsed = ParsePayloadSchemaType(PayloadSchemaTypeName(type));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_EQ(ParsePayloadSchemaType("geo").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePayloadSchemaType("Keyword").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PayloadIndex::Create("a..b", PayloadSchemaType::kKeyword).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vj

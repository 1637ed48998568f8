#include "index/text_index.h"

#include <random>

#include <gtest/gtest.h>

#include "index/filter.h"
#include "index/payload_index.h"

namespace vj {
namespace {
namespace json = boost::json;

FieldCondition TextOn(const std::string& key, MatchCondition::Kind kind, std::string text) {
  FieldCondition c;
  c.key = key;
  c.path = *ParsePayloadPath(key);
  c.match = MatchCondition{kind, {}, std::move(text)};
  return c;
}

Payload Doc(json::value v) {
  Payload p;
  p["t"] = std::move(v);
  return p;
}

std::vector<uint32_t> Ids(const roaring::Roaring& r) {
  std::vector<uint32_t> out;
  for (uint32_t id : r) out.push_back(id);
  return out;
}

PayloadFieldSchema TextSchema(bool phrase) {
  PayloadFieldSchema s(PayloadSchemaType::kText);
  s.text.phrase_matching = phrase;
  return s;
}

TEST(TextIndexTest, AllAnyPhraseAndDeletes) {
  auto index = *PayloadIndex::Create("t", TextSchema(true));
  std::vector<Payload> docs = {Doc("The quick brown fox"), Doc("a quick red fox"), Doc("brown bear, quick!"),
                               Doc(json::array{"quick start", "brown paper"}), Doc(42)};
  for (uint32_t i = 0; i < docs.size(); ++i) index->Add(i, docs[i]);
  using K = MatchCondition::Kind;
  EXPECT_EQ(Ids(*index->Answer(TextOn("t", K::kText, "QUICK fox"))), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(Ids(*index->Answer(TextOn("t", K::kText, "quick brown"))), (std::vector<uint32_t>{0, 2}))
      << "point 3 has both words, but in different elements";
  EXPECT_EQ(Ids(*index->Answer(TextOn("t", K::kTextAny, "bear red"))), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(Ids(*index->Answer(TextOn("t", K::kPhrase, "quick brown"))), (std::vector<uint32_t>{0}));
  EXPECT_EQ(Ids(*index->Answer(TextOn("t", K::kPhrase, "brown paper"))), (std::vector<uint32_t>{3}));
  EXPECT_TRUE(index->Answer(TextOn("t", K::kText, "unicorn"))->isEmpty());
  EXPECT_TRUE(index->Answer(TextOn("t", K::kText, " ,. "))->isEmpty()) << "no tokens: nothing";
  EXPECT_EQ(index->indexed_points(), 4u);
  index->Remove(0, docs[0]);
  EXPECT_EQ(Ids(*index->Answer(TextOn("t", K::kText, "quick fox"))), (std::vector<uint32_t>{1}));
  EXPECT_TRUE(index->Answer(TextOn("t", K::kPhrase, "quick brown"))->isEmpty());
  EXPECT_EQ(index->indexed_points(), 3u);
  // Keyword-style conditions are not a text index's to answer.
  FieldCondition value;
  value.key = "t";
  value.match = MatchCondition{K::kValue, {std::string("a quick red fox")}, ""};
  EXPECT_FALSE(index->Answer(value));
}

TEST(TextIndexTest, PhraseNeedsPhraseMatching) {
  auto index = *PayloadIndex::Create("t", TextSchema(false));
  index->Add(0, Doc("quick brown"));
  auto phrase = TextOn("t", MatchCondition::Kind::kPhrase, "quick brown");
  EXPECT_FALSE(index->Answer(phrase));
  EXPECT_EQ(index->TextTokenizerFor(phrase), nullptr);
  EXPECT_NE(index->TextTokenizerFor(TextOn("t", MatchCondition::Kind::kText, "x")), nullptr);
}

TEST(TextIndexTest, UnindexedSemanticsAreQdrants) {
  using K = MatchCondition::Kind;
  const Payload p = Doc("Hello wonderful world");
  const PointId id = PointId::Num(1);
  auto holds = [&](K kind, std::string text) {
    Filter f;
    f.must.push_back(TextOn("t", kind, std::move(text)));
    return Matches(f, id, p);
  };
  EXPECT_TRUE(holds(K::kText, "wonderful wor"));   // a substring
  EXPECT_FALSE(holds(K::kText, "hello"));          // case-sensitive
  EXPECT_TRUE(holds(K::kPhrase, "lo wonder"));
  EXPECT_TRUE(holds(K::kTextAny, "nope  world"));  // some word is a substring
  EXPECT_FALSE(holds(K::kTextAny, "nope hello"));
}

// The index's answer equals Matches with the index's tokenizer on every point, for random documents.
TEST(TextIndexTest, AnswerEqualsTokenizedMatches) {
  const std::vector<std::string> vocab = {"alpha", "Beta", "gamma", "delta", "the", "running", "runs", "Ωmega"};
  std::mt19937 rng(7);
  for (bool phrase : {false, true}) {
    PayloadFieldSchema schema = TextSchema(phrase);
    schema.text.stopword_languages = {"english"};
    schema.text.stemmer_language = "english";
    auto index = *PayloadIndex::Create("t", schema);
    std::vector<Payload> docs;
    auto sentence = [&] {
      std::string s;
      for (int w = rng() % 6; w >= 0; --w) s += vocab[rng() % vocab.size()] + (rng() % 3 == 0 ? ", " : " ");
      return s;
    };
    for (uint32_t i = 0; i < 300; ++i) {
      docs.push_back(rng() % 4 == 0 ? Doc(json::array{json::string(sentence()), json::string(sentence())})
                                    : Doc(json::string(sentence())));
      index->Add(i, docs.back());
    }
    for (uint32_t i = 0; i < 300; i += 7) index->Remove(i, docs[i]);
    for (int q = 0; q < 60; ++q) {
      std::string query = vocab[rng() % vocab.size()] + " " + vocab[rng() % vocab.size()];
      for (auto kind : {MatchCondition::Kind::kText, MatchCondition::Kind::kTextAny, MatchCondition::Kind::kPhrase}) {
        FieldCondition c = TextOn("t", kind, query);
        std::optional<roaring::Roaring> answer = index->Answer(c);
        if (kind == MatchCondition::Kind::kPhrase && !phrase) {
          EXPECT_FALSE(answer);
          continue;
        }
        ASSERT_TRUE(answer);
        Filter f;
        f.must.push_back(c);
        MatchContext context;
        context.text_tokenizer = [&](const FieldCondition& fc) { return index->TextTokenizerFor(fc); };
        roaring::Roaring expected;
        for (uint32_t i = 0; i < 300; ++i) {
          if (i % 7 != 0 && Matches(f, PointId::Num(i), docs[i], context)) expected.add(i);
        }
        EXPECT_EQ(Ids(*answer), Ids(expected)) << query << " kind " << static_cast<int>(kind);
        roaring::Roaring per_point;
        for (uint32_t i = 0; i < 300; ++i) {
          if (index->TextConditionHolds(c, i)) per_point.add(i);
        }
        EXPECT_EQ(Ids(per_point), Ids(expected)) << query << " kind " << static_cast<int>(kind);
      }
    }
  }
}

TEST(PayloadFieldSchemaTest, ParsesTextSchemaAndRoundTrips) {
  auto v = ParseJson(R"({"type": "text", "tokenizer": "whitespace", "phrase_matching": true})");
  auto schema = ParsePayloadFieldSchema(*v, "field_schema");
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_EQ(schema->type, PayloadSchemaType::kText);
  EXPECT_TRUE(schema->text.phrase_matching);
  auto back = ParsePayloadFieldSchema(PayloadFieldSchemaToJson(*schema), "x");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *schema);
  EXPECT_EQ(*ParsePayloadFieldSchema(json::value("text"), "f"), PayloadFieldSchema(PayloadSchemaType::kText));
  auto bad = ParsePayloadFieldSchema(*ParseJson(R"({"type": "text", "tokenizer": "bogus"})"), "field_schema");
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace vj

#include "text/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/payload.h"
#include "text/text_match.h"
#include "text/unicode.h"

namespace vj::text {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Words(const TextIndexParams& params, std::string_view s) {
  auto t = Tokenizer::Create(params);
  EXPECT_TRUE(t.ok()) << t.status();
  std::vector<std::string> out;
  (*t)->Words(s, &out);
  return out;
}

TEST(TokenizerTest, WordSplitsAtPunctuationAndLowercases) {
  TextIndexParams p;
  EXPECT_THAT(Words(p, "Hello, World! foo-bar_baz 42x"), ElementsAre("hello", "world", "foo", "bar", "baz", "42x"));
  p.lowercase = false;
  EXPECT_THAT(Words(p, "Hello World"), ElementsAre("Hello", "World"));
}

TEST(TokenizerTest, WhitespaceKeepsPunctuation) {
  TextIndexParams p;
  p.tokenizer = TokenizerKind::kWhitespace;
  EXPECT_THAT(Words(p, "Hello,  World!\tfoo-bar\u3000x"), ElementsAre("hello,", "world!", "foo-bar", "x"));
}

TEST(TokenizerTest, LowercaseIsUnicodeAware) {
  TextIndexParams p;
  EXPECT_THAT(Words(p, "ÀÉÎÕÜ ΑΒΓΔ Ωμέγα ПРИВЕТ Ёж Ŝtelo ŁÓDŹ İ ẞ"),
              ElementsAre("àéîõü", "αβγδ", "ωμέγα", "привет", "ёж", "ŝtelo", "łódź", "i", "ẞ"));
  // Case-insensitive matching across scripts: the upper-case query finds the lower-case text.
  auto t = *Tokenizer::Create(p);
  std::vector<std::string> doc, query;
  t->Words("москва и санкт-петербург", &doc);
  t->QueryTokens("МОСКВА", &query);
  EXPECT_TRUE(TokensMatch(*t, TextQueryKind::kAll, query, doc));
}

TEST(TokenizerTest, PunctuationOutsideAsciiSplitsWords) {
  TextIndexParams p;
  EXPECT_THAT(Words(p, "naïve—café «déjà» vu… 3×4 ¿qué?"),
              ElementsAre("naïve", "café", "déjà", "vu", "3", "4", "qué"));
}

TEST(TokenizerTest, TokenLengthsCountCodePoints) {
  TextIndexParams p;
  p.min_token_len = 2;
  p.max_token_len = 4;
  EXPECT_THAT(Words(p, "a ab abcd abcde éé ééééé"), ElementsAre("ab", "abcd", "éé"));
}

TEST(TokenizerTest, StopwordsBuiltInAndCustom) {
  TextIndexParams p;
  p.stopword_languages = {"english"};
  EXPECT_THAT(Words(p, "The cat and THE hat"), ElementsAre("cat", "hat"));
  p.stopword_languages.clear();
  p.custom_stopwords = {"Cat"};
  EXPECT_THAT(Words(p, "The cat and the hat"), ElementsAre("the", "and", "the", "hat"));
}

TEST(TokenizerTest, SnowballStemming) {
  TextIndexParams p;
  p.stemmer_language = "english";
  EXPECT_THAT(Words(p, "Running runs connection connected"), ElementsAre("run", "run", "connect", "connect"));
  p.stemmer_language = "russian";
  EXPECT_THAT(Words(p, "книгами книги"), ElementsAre("книг", "книг"));
  p.stemmer_language = "klingon";
  EXPECT_FALSE(Tokenizer::Create(p).ok());
}

TEST(TokenizerTest, PrefixIndexesPrefixesAndCutsQueries) {
  TextIndexParams p;
  p.tokenizer = TokenizerKind::kPrefix;
  p.min_token_len = 2;
  p.max_token_len = 4;
  auto t = *Tokenizer::Create(p);
  std::vector<std::string> words, terms, query;
  t->Words("Qdrant is", &words);
  t->DocumentTerms(words, &terms);
  EXPECT_THAT(terms, ElementsAre("qd", "qdr", "qdra", "is"));
  t->QueryTokens("QDRANTS", &query);
  EXPECT_THAT(query, ElementsAre("qdra"));
  EXPECT_TRUE(TokensMatch(*t, TextQueryKind::kAll, query, words));
}

TEST(TokenizerTest, MultilingualSplitsUnspacedScripts) {
  TextIndexParams p;
  p.tokenizer = TokenizerKind::kMultilingual;
  EXPECT_THAT(Words(p, "東京タワー Tall"), ElementsAre("東", "京", "タ", "ワ", "ー", "tall"));
  p.tokenizer = TokenizerKind::kWord;
  EXPECT_THAT(Words(p, "東京タワー Tall"), ElementsAre("東京タワー", "tall"));
}

TEST(TokenizerTest, MalformedUtf8DoesNotCrash) {
  TextIndexParams p;
  EXPECT_THAT(Words(p, std::string("ab\xff\xc3" "cd\xe2\x82", 8)), ElementsAre("ab", "cd"));
}

TEST(TextMatchTest, AllAnyPhrase) {
  auto t = *Tokenizer::Create(TextIndexParams{});
  std::vector<std::string> doc{"the", "quick", "brown", "fox"};
  EXPECT_TRUE(TokensMatch(*t, TextQueryKind::kAll, {"fox", "quick"}, doc));
  EXPECT_FALSE(TokensMatch(*t, TextQueryKind::kAll, {"fox", "dog"}, doc));
  EXPECT_TRUE(TokensMatch(*t, TextQueryKind::kAny, {"dog", "fox"}, doc));
  EXPECT_TRUE(TokensMatch(*t, TextQueryKind::kPhrase, {"quick", "brown"}, doc));
  EXPECT_FALSE(TokensMatch(*t, TextQueryKind::kPhrase, {"brown", "quick"}, doc));
  EXPECT_FALSE(TokensMatch(*t, TextQueryKind::kPhrase, {"quick", "fox"}, doc));
  EXPECT_FALSE(TokensMatch(*t, TextQueryKind::kAll, {}, doc));
}

StatusOr<TextIndexParams> ParseParams(std::string_view json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok());
  return ParseTextIndexParams(v->as_object(), "field_schema");
}

TEST(TextParamsTest, ParsesQdrantShapesAndRoundTrips) {
  auto p = ParseParams(R"({"type": "text", "tokenizer": "prefix", "lowercase": false, "min_token_len": 2,
      "max_token_len": 10, "phrase_matching": true, "stopwords": {"languages": ["english"], "custom": ["foo"]},
      "stemmer": {"type": "snowball", "language": "english"}, "ascii_folding": false, "on_disk": false})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tokenizer, TokenizerKind::kPrefix);
  EXPECT_FALSE(p->lowercase);
  EXPECT_EQ(p->min_token_len, 2u);
  EXPECT_EQ(p->max_token_len, 10u);
  EXPECT_TRUE(p->phrase_matching);
  EXPECT_THAT(p->stopword_languages, ElementsAre("english"));
  EXPECT_THAT(p->custom_stopwords, ElementsAre("foo"));
  EXPECT_EQ(p->stemmer_language, "english");
  auto back = ParseTextIndexParams(TextIndexParamsToJson(*p), "x");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *p);
  auto simple = ParseParams(R"({"type": "text", "stopwords": "english"})");
  ASSERT_TRUE(simple.ok());
  EXPECT_THAT(simple->stopword_languages, ElementsAre("english"));
}

TEST(TextParamsTest, RejectsBadParamsNamingTheField) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"type": "text", "tokenizer": "ngram"})", "field_schema.tokenizer"},
           Case{R"({"type": "text", "min_token_len": -1})", "field_schema.min_token_len"},
           Case{R"({"type": "text", "min_token_len": 5, "max_token_len": 2})", "min_token_len"},
           Case{R"({"type": "text", "max_token_len": 0})", "field_schema.max_token_len"},
           Case{R"({"type": "text", "stopwords": "klingon"})", "field_schema.stopwords"},
           Case{R"({"type": "text", "stopwords": {"custom": [1]}})", "field_schema.stopwords.custom[0]"},
           Case{R"({"type": "text", "stemmer": {"type": "porter", "language": "english"}})", "field_schema.stemmer.type"},
           Case{R"({"type": "text", "stemmer": {"type": "snowball", "language": "xx"}})",
                "field_schema.stemmer.language"},
           Case{R"({"type": "text", "ascii_folding": true})", "field_schema.ascii_folding"},
           Case{R"({"type": "text", "phrase": true})", "unknown field"},
       }) {
    auto p = ParseParams(c.json);
    EXPECT_FALSE(p.ok()) << c.json;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(c.message)) << c.json;
  }
}

}  // namespace
}  // namespace vj::text

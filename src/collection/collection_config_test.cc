#include "collection/collection_config.h"

#include <gtest/gtest.h>

#include "core/test_dir.h"
#include "core/payload.h"

namespace vj {
namespace {

StatusOr<CollectionConfig> Parse(const std::string& text) {
  auto json = ParseJson(text);
  if (!json.ok()) return json.status();
  return ParseCollectionConfig(*json);
}

TEST(CollectionConfigTest, UnnamedVector) {
  auto config = Parse(R"({"vectors": {"size": 4, "distance": "Dot"}, "hnsw_config": {"m": 8}})");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->has_unnamed_vector());
  EXPECT_EQ(config->vectors.at("").size, 4u);
  EXPECT_EQ(config->vectors.at("").distance, Metric::kDot);
  EXPECT_EQ(config->hnsw.m, 8u);
}

TEST(CollectionConfigTest, NamedVectorsWithOverride) {
  auto config = Parse(R"({"vectors": {"img": {"size": 3, "distance": "Euclid", "hnsw_config": {"m": 32}},
                                      "txt": {"size": 5, "distance": "Cosine"}}})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->has_unnamed_vector());
  EXPECT_EQ(config->EffectiveHnsw("img").m, 32u);
  EXPECT_EQ(config->EffectiveHnsw("txt").m, 16u);
}

// An index on a key an older version accepted but the path grammar now refuses is dropped on load,
// not fatal: the collection (and the node) still opens.
TEST(CollectionConfigTest, StoredIndexOnAKeyTheGrammarRefusesIsDropped) {
  auto config = Parse(R"({"vectors": {"size": 4, "distance": "Dot"},
                          "payload_schema": {"a]b": "keyword", "city": "keyword"}})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->payload_schema.size(), 1u);
  EXPECT_EQ(config->payload_schema.count("city"), 1u);
}

TEST(CollectionConfigTest, RejectsBadInputNamingTheField) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {R"({})", "vectors: missing"},
      {R"({"vectors": {"size": 0, "distance": "Dot"}})", "vectors.size"},
      {R"({"vectors": {"size": 4, "distance": "Hamming"}})", "vectors.distance"},
      {R"({"vectors": {"size": "4", "distance": "Dot"}})", "vectors.size"},
      {R"({"vectors": {"size": 4, "distance": "Dot"}, "colour": 1})", "unknown field \"colour\""},
      {R"({"vectors": {"size": 4, "distance": "Dot", "sise": 1}})", "unknown field \"sise\""},
      {R"({"vectors": {"a": {"size": 4}}})", "vectors.a.distance"},
      {R"({"vectors": {"size": 4, "distance": "Dot"}, "hnsw_config": {"m": 1}})", "hnsw_config.m"},
      {R"({"vectors": {"size": -4, "distance": "Dot"}})", "vectors.size"},
      {R"([1, 2])", "body"},
      {R"({"vectors": {"size": 4, "distance": "Dot"}, "quantization_config": {"scalar": {"type": "int4"}}})",
       "quantization_config.scalar.type"},
      {R"({"vectors": {"size": 4, "distance": "Dot"}, "quantization_config": {"product": {}}})",
       "quantization_config.product"},
      {R"({"vectors": {"size": 4, "distance": "Dot", "quantization_config": {"scalar": {"type": "int8", "x": 1}}}})",
       "vectors.quantization_config.scalar: unknown field \"x\""},
      {R"({"vectors": {"size": 4, "distance": "Dot", "quantization_config": {"binary": {"x": 1}}}})",
       "vectors.quantization_config.binary: unknown field \"x\""},
  };
  for (const Case& c : cases) {
    auto config = Parse(c.body);
    ASSERT_FALSE(config.ok()) << c.body;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(std::string(config.status().message()).find(c.message), std::string::npos)
        << c.body << " -> " << config.status();
  }
}

TEST(CollectionConfigTest, Quantization) {
  auto config = Parse(R"({"vectors": {"a": {"size": 3, "distance": "Dot",
                                            "quantization_config": {"scalar": {"type": "int8", "always_ram": true}}},
                                      "b": {"size": 3, "distance": "Dot"},
                                      "c": {"size": 3, "distance": "Dot", "quantization_config": {"binary": {}}}},
                          "quantization_config": {"scalar": {"type": "int8", "quantile": 0.99}}})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->EffectiveQuantization("a")->kind, QuantizationConfig::Kind::kScalarInt8);
  EXPECT_FLOAT_EQ(config->EffectiveQuantization("a")->quantile, 1.0f);
  EXPECT_TRUE(config->EffectiveQuantization("a")->always_ram);
  EXPECT_EQ(config->EffectiveQuantization("b")->kind, QuantizationConfig::Kind::kScalarInt8);
  EXPECT_FLOAT_EQ(config->EffectiveQuantization("b")->quantile, 0.99f);
  EXPECT_EQ(config->EffectiveQuantization("c")->kind, QuantizationConfig::Kind::kBinary);
  auto round_trip = ParseCollectionConfig(CollectionConfigToJson(*config));
  ASSERT_TRUE(round_trip.ok()) << round_trip.status();
  EXPECT_EQ(boost::json::serialize(CollectionConfigToJson(*round_trip)),
            boost::json::serialize(CollectionConfigToJson(*config)));
}

TEST(CollectionConfigTest, ScalarRangesExtension) {
  auto config = Parse(R"({"vectors": {"a": {"size": 3, "distance": "Dot",
                                            "quantization_config": {"scalar": {"type": "int8", "ranges": "global"}}},
                                      "b": {"size": 3, "distance": "Dot"}},
                          "quantization_config": {"scalar": {"type": "int8"}}})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->EffectiveQuantization("a")->ranges, Sq8Ranges::kGlobal);
  EXPECT_EQ(config->EffectiveQuantization("b")->ranges, Sq8Ranges::kAuto);
  // Written back only when not the default, so configs stored before the extension read the same.
  const std::string json = boost::json::serialize(CollectionConfigToJson(*config));
  EXPECT_NE(json.find("\"ranges\":\"global\""), std::string::npos) << json;
  EXPECT_EQ(json.find("auto"), std::string::npos) << json;
  auto round_trip = ParseCollectionConfig(CollectionConfigToJson(*config));
  ASSERT_TRUE(round_trip.ok()) << round_trip.status();
  EXPECT_EQ(round_trip->EffectiveQuantization("a")->ranges, Sq8Ranges::kGlobal);
  auto bad = Parse(R"({"vectors": {"size": 3, "distance": "Dot"},
                       "quantization_config": {"scalar": {"type": "int8", "ranges": "pca"}}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("quantization_config.scalar.ranges"), std::string::npos)
      << bad.status();
}

TEST(CollectionConfigTest, SaveAndLoadRoundTrip) {
  TestDir dir;
  auto config = Parse(R"({"vectors": {"a": {"size": 3, "distance": "Manhattan"}}, "shard_number": 2})");
  ASSERT_TRUE(config.ok());
  config->payload_schema["color"] = PayloadSchemaType::kKeyword;
  ASSERT_TRUE(SaveCollectionConfig(dir.path(), *config).ok());
  auto loaded = LoadCollectionConfig(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(boost::json::serialize(CollectionConfigToJson(*loaded)),
            boost::json::serialize(CollectionConfigToJson(*config)));
}

TEST(CollectionConfigTest, CorruptConfigFileIsDataLoss) {
  TestDir dir;
  {
    std::FILE* f = std::fopen((dir.path() + "/config.json").c_str(), "w");
    std::fputs("{\"vectors\": {\"size\": 4", f);
    std::fclose(f);
  }
  auto loaded = LoadCollectionConfig(dir.path());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
}

TEST(CollectionConfigTest, CollectionNames) {
  EXPECT_TRUE(ValidateCollectionName("my_collection-1.v2").ok());
  EXPECT_FALSE(ValidateCollectionName("").ok());
  EXPECT_FALSE(ValidateCollectionName(".hidden").ok());
  EXPECT_FALSE(ValidateCollectionName("a/b").ok());
  EXPECT_FALSE(ValidateCollectionName("..").ok());
  EXPECT_FALSE(ValidateCollectionName(std::string(256, 'a')).ok());
}

TEST(CollectionConfigTest, UpdateAppliesIndexSettingsAsADiff) {
  auto base = ParseCollectionConfig(boost::json::parse(
      R"({"vectors": {"a": {"size": 4, "distance": "Dot"}, "b": {"size": 2, "distance": "Euclid"}},
          "hnsw_config": {"m": 16, "ef_construct": 100}})"));
  ASSERT_TRUE(base.ok()) << base.status();
  auto updated = ApplyCollectionUpdate(*base, boost::json::parse(
      R"({"hnsw_config": {"m": 8}, "quantization_config": {"scalar": {"type": "int8"}},
          "vectors": {"b": {"hnsw_config": {"ef_construct": 50}, "quantization_config": {"binary": {}}}},
          "optimizers_config": {}, "params": null})").as_object());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->hnsw.m, 8u);
  EXPECT_EQ(updated->hnsw.ef_construct, 100u);  // not given: kept
  EXPECT_EQ(updated->EffectiveHnsw("a").m, 8u);
  EXPECT_EQ(updated->EffectiveHnsw("b").m, 8u);
  EXPECT_EQ(updated->EffectiveHnsw("b").ef_construct, 50u);
  EXPECT_EQ(updated->EffectiveQuantization("a")->kind, QuantizationConfig::Kind::kScalarInt8);
  EXPECT_EQ(updated->EffectiveQuantization("b")->kind, QuantizationConfig::Kind::kBinary);
  EXPECT_FALSE(SameIndexSettings(*base, *updated));
  EXPECT_TRUE(SameIndexSettings(*base, *base));
  auto disabled = ApplyCollectionUpdate(*updated, boost::json::parse(R"({"quantization_config": "Disabled"})").as_object());
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->EffectiveQuantization("a").has_value());
  // Stored and read back as it was applied.
  auto reread = ParseCollectionConfig(CollectionConfigToJson(*updated));
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_TRUE(SameIndexSettings(*reread, *updated));
}

TEST(CollectionConfigTest, UpdateRefusesFixedSettingsByName) {
  auto base = ParseCollectionConfig(boost::json::parse(R"({"vectors": {"size": 4, "distance": "Dot"}})"));
  ASSERT_TRUE(base.ok());
  const std::pair<const char*, const char*> cases[] = {
      {R"({"optimizers_config": {"indexing_threshold": 0}})", "optimizers_config.indexing_threshold"},
      {R"({"params": {"write_consistency_factor": 2}})", "params.write_consistency_factor"},
      {R"({"vectors": {"": {"on_disk": true}}})", "on_disk"},
      {R"({"vectors": {"x": {}}})", "vectors.x"},
      {R"({"hnsw_config": {"m": 1000}})", "hnsw_config.m"},
      {R"({"quantization_config": "Enabled"})", "quantization_config"},
      {R"({"metadata": {"k": 1}})", "metadata.k"},
      {R"({"what": 1})", "what"},
  };
  for (const auto& [body, word] : cases) {
    auto got = ApplyCollectionUpdate(*base, boost::json::parse(body).as_object());
    ASSERT_FALSE(got.ok()) << body;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_NE(std::string(got.status().message()).find(word), std::string::npos) << got.status();
  }
}

TEST(CollectionConfigTest, CreateRefusesOptimizerSettingsAndOnDiskPayload) {
  EXPECT_FALSE(ParseCollectionConfig(boost::json::parse(
      R"({"vectors": {"size": 4, "distance": "Dot"}, "optimizers_config": {"indexing_threshold": 0}})")).ok());
  EXPECT_FALSE(ParseCollectionConfig(boost::json::parse(
      R"({"vectors": {"size": 4, "distance": "Dot"}, "on_disk_payload": true})")).ok());
  EXPECT_TRUE(ParseCollectionConfig(boost::json::parse(
      R"({"vectors": {"size": 4, "distance": "Dot"}, "on_disk_payload": false, "optimizers_config": {}})")).ok());
}

}  // namespace
}  // namespace vj

namespace vj {
namespace {

TEST(CollectionConfigSparseTest, SparseOnlyAndMixedRoundTrip) {
  auto only = Parse(R"({"sparse_vectors": {"text": {"modifier": "idf", "index": {"on_disk": true,
                        "full_scan_threshold": 100, "datatype": "float32"}}}})");
  ASSERT_TRUE(only.ok()) << only.status();
  EXPECT_TRUE(only->vectors.empty());
  ASSERT_EQ(only->sparse_vectors.count("text"), 1u);
  EXPECT_TRUE(only->sparse_vectors.at("text").idf);
  EXPECT_TRUE(only->sparse_vectors.at("text").on_disk);
  EXPECT_EQ(only->sparse_vectors.at("text").full_scan_threshold, 100u);
  // What is stored (and sent through etcd) reads back the same.
  auto back = ParseCollectionConfig(CollectionConfigToJson(*only));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sparse_vectors, only->sparse_vectors);
  EXPECT_TRUE(back->vectors.empty());
  const auto info = CollectionInfoConfigJson(*only);
  EXPECT_EQ(info.at("params").at("sparse_vectors").at("text").at("modifier").as_string(), "idf");

  auto mixed = Parse(R"({"vectors": {"dense": {"size": 4, "distance": "Dot"}}, "sparse_vectors": {"s": {}}})");
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_FALSE(mixed->sparse_vectors.at("s").idf);
  back = ParseCollectionConfig(CollectionConfigToJson(*mixed));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sparse_vectors, mixed->sparse_vectors);
  EXPECT_EQ(back->vectors.size(), 1u);
}

TEST(CollectionConfigSparseTest, RejectsBadSparseConfigNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"sparse_vectors": {"s": {"modifier": "bm25"}}})", "sparse_vectors.s.modifier"},
      {R"({"sparse_vectors": {"s": {"index": {"datatype": "uint8"}}}})", "sparse_vectors.s.index.datatype"},
      {R"({"sparse_vectors": {"s": {"idx": {}}}})", "unknown field \"idx\""},
      {R"({"sparse_vectors": {"s": {"index": {"full_scan_threshold": -1}}}})", "full_scan_threshold"},
      {R"({"vectors": {"s": {"size": 2, "distance": "Dot"}}, "sparse_vectors": {"s": {}}})", "same name"},
      {R"({"sparse_vectors": {}})", "vectors"},
      {R"({"sparse_vectors": {"": {}}})", "sparse vector names"},
  };
  for (const auto& [body, expected] : cases) {
    auto config = Parse(body);
    ASSERT_FALSE(config.ok()) << body;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_NE(config.status().message().find(expected), std::string_view::npos)
        << body << " -> " << config.status().message();
  }
}

}  // namespace
}  // namespace vj

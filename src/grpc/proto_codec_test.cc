#include "grpc/proto_codec.h"

#include <cmath>

#include <gtest/gtest.h>

#include "grpc/unsupported_fields.h"

namespace vj {
namespace {

TEST(ProtoCodecTest, FilterMatchesAsTheJsonDecoderBuildsIt) {
  qdrant::Filter f;
  qdrant::FieldCondition* field = f.add_must()->mutable_field();
  field->set_key("color");
  field->mutable_match()->set_keyword("red");
  qdrant::FieldCondition* range = f.add_must_not()->mutable_field();
  range->set_key("n");
  range->mutable_range()->set_gte(3);
  f.add_should()->mutable_has_id()->add_has_id()->set_num(7);
  StatusOr<Filter> parsed = FilterFromProto(f, FilterLimits());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  Payload red{{"color", "red"}, {"n", 1}};
  Payload big{{"color", "red"}, {"n", 5}};
  EXPECT_TRUE(Matches(*parsed, PointId::Num(7), red));
  EXPECT_FALSE(Matches(*parsed, PointId::Num(8), red));  // should: has_id 7
  EXPECT_FALSE(Matches(*parsed, PointId::Num(7), big));  // must_not n >= 3
}

TEST(ProtoCodecTest, FilterLimitsAndBadKeysAreRefusedNamingTheField) {
  qdrant::Filter f;
  f.add_must()->mutable_field()->set_key("a");  // no match, range or values_count
  StatusOr<Filter> parsed = FilterFromProto(f, FilterLimits());
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("filter.must[0].field"), std::string::npos) << parsed.status();

  FilterLimits limits;
  limits.max_depth = 2;
  qdrant::Filter deep;
  deep.add_must()->mutable_filter()->add_must()->mutable_filter()->add_must()->mutable_is_empty()->set_key("x");
  parsed = FilterFromProto(deep, limits);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("filter_depth"), std::string::npos) << parsed.status();

  qdrant::Filter bad_key;
  bad_key.add_must()->mutable_is_null()->set_key("a..b");
  EXPECT_EQ(FilterFromProto(bad_key, FilterLimits()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProtoCodecTest, PointsRefuseNonFiniteVectorsAndBadIds) {
  google::protobuf::RepeatedPtrField<qdrant::PointStruct> points;
  qdrant::PointStruct* p = points.Add();
  p->mutable_id()->set_uuid("not-a-uuid");
  p->mutable_vectors()->mutable_vector()->mutable_dense()->add_data(1.0f);
  RequestLimits limits;
  StatusOr<std::vector<PointInput>> parsed = PointsFromProto(points, limits);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("points[0].id.uuid"), std::string::npos) << parsed.status();

  p->mutable_id()->set_num(1);
  p->mutable_vectors()->mutable_vector()->mutable_dense()->add_data(std::nanf(""));
  parsed = PointsFromProto(points, limits);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("finite"), std::string::npos) << parsed.status();

  p->mutable_vectors()->mutable_vector()->mutable_dense()->set_data(1, 2.0f);
  (*p->mutable_payload())["k"].set_string_value("v");
  parsed = PointsFromProto(points, limits);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].vectors.at(""), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ((*parsed)[0].payload.at("k").as_string(), "v");

  limits.max_points_per_request = 0;
  EXPECT_NE(PointsFromProto(points, limits).status().message().find("points_per_request"), std::string::npos);
}

TEST(ProtoCodecTest, QueryPlanChecksPrefetchLimitsAndFusion) {
  qdrant::QueryPoints q;
  q.mutable_query()->set_fusion(qdrant::RRF);
  EXPECT_NE(QueryPlanFromProto(q, RequestLimits(), "").status().message().find("fusion needs prefetches"),
            std::string::npos);
  RequestLimits limits;
  limits.max_prefetch_depth = 1;
  qdrant::PrefetchQuery* pre = q.add_prefetch();
  pre->add_prefetch()->mutable_query()->mutable_nearest()->mutable_dense()->add_data(1.0f);
  EXPECT_NE(QueryPlanFromProto(q, limits, "").status().message().find("prefetch_depth"), std::string::npos);
}

TEST(ProtoCodecTest, UnknownFieldsAreRefusedNamingTheMessage) {
  qdrant::UpsertPoints upsert;
  upsert.set_collection_name("c");
  qdrant::PointStruct* p = upsert.add_points();
  p->mutable_id()->set_num(1);
  std::string wire = upsert.SerializeAsString();
  EXPECT_TRUE(RejectUnknownFields(upsert).ok());
  // Field 6 of UpsertPoints is Qdrant's update_filter, which VJVector does not serve: a length-delimited
  // field (tag 6 << 3 | 2) with an empty body.
  wire += std::string("\x32\x00", 2);
  qdrant::UpsertPoints parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  Status refused = RejectUnknownFields(parsed);
  ASSERT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("field 6 of qdrant.UpsertPoints"), std::string::npos) << refused;
}

}  // namespace
}  // namespace vj

// Groups, order_by, facet and the search matrix of a 3-shard collection against brute force computed
// here from the points themselves; and the pure merge functions on their own.
#include "collection/aggregations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "collection/collection.h"
#include "collection/order_by.h"
#include "core/distance.h"
#include "core/test_dir.h"

namespace vj {
namespace {
namespace json = boost::json;

constexpr size_t kDim = 6;

std::vector<PointInput> Points(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<PointInput> points(n);
  for (size_t i = 0; i < n; ++i) {
    points[i].id = PointId::Num(i * 3 + 2);
    points[i].vectors[""].resize(kDim);
    for (float& v : points[i].vectors[""]) v = normal(rng);
    // Groups: a string color (some points two of them), an integer rank with many ties.
    json::array colors{"c" + std::to_string(rng() % 17)};
    if (i % 5 == 0) colors.push_back(json::value("c" + std::to_string(rng() % 17)));
    points[i].payload["color"] = std::move(colors);
    points[i].payload["rank"] = static_cast<int64_t>(rng() % 40);
    if (i % 7 == 0) points[i].payload["rank"] = json::array{static_cast<int64_t>(rng() % 40), 100};
    points[i].payload["even"] = i % 2 == 0;
  }
  return points;
}

class AggregationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CollectionConfig config;
    config.vectors[""] = VectorParams{kDim, Metric::kEuclid, std::nullopt, false, std::nullopt};
    config.shard_number = 3;
    auto c = Collection::Open("agg", dir_.path(), config, CollectionOptions{});
    ASSERT_TRUE(c.ok()) << c.status();
    collection_ = std::move(*c);
    points_ = Points(500, 5);
    ASSERT_TRUE(collection_->Upsert(points_, true, RequestContext()).ok());
    ASSERT_TRUE(collection_->CreatePayloadIndex("rank", PayloadSchemaType::kInteger, true).ok());
    ASSERT_TRUE(collection_->CreatePayloadIndex("color", PayloadSchemaType::kKeyword, true).ok());
  }
  // Every point, best first for `query` (Euclid: ascending distance, ties by id).
  std::vector<std::pair<float, const PointInput*>> Ranked(const std::vector<float>& query) const {
    std::vector<std::pair<float, const PointInput*>> out;
    for (const PointInput& p : points_) out.emplace_back(Distance(Metric::kEuclid, query.data(), p.vectors.at("").data(), kDim), &p);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second->id < b.second->id;
    });
    return out;
  }
  TestDir dir_;
  std::unique_ptr<Collection> collection_;
  std::vector<PointInput> points_;
};

TEST_F(AggregationsTest, GroupsMatchBruteForce) {
  const PayloadPath path = *ParsePayloadPath("color");
  for (size_t group_size : {1, 2, 4}) {
    for (size_t limit : {1, 5, 17, 30}) {
      std::vector<float> query(kDim, 0.1f * static_cast<float>(group_size + limit));
      GroupRequest request;
      request.query.vector = query;
      request.query.exact = true;
      request.query.with_payload = PayloadSelector{PayloadSelector::Mode::kAll, {}};
      request.group_by = "color";
      request.group_by_path = path;
      request.group_size = group_size;
      request.limit = limit;
      auto groups = collection_->QueryGroups(request);
      ASSERT_TRUE(groups.ok()) << groups.status();
      // Brute force: walk every point best first, a group opens at its first point.
      std::vector<std::string> order;
      std::map<std::string, std::vector<PointId>> hits;
      for (const auto& [d, p] : Ranked(query)) {
        std::set<std::string> seen;
        for (const json::value& c : p->payload.at("color").as_array()) {
          std::string color(c.as_string());
          if (!seen.insert(color).second) continue;
          if (!hits.count(color)) order.push_back(color);
          if (hits[color].size() < group_size) hits[color].push_back(p->id);
        }
      }
      const size_t expected_groups = std::min(limit, order.size());  // 17 colors at most
      ASSERT_EQ(groups->size(), expected_groups) << group_size << " " << limit;
      for (size_t g = 0; g < expected_groups; ++g) {
        const PointGroup& got = (*groups)[g];
        ASSERT_EQ(std::string(got.id.as_string()), order[g]);
        std::vector<PointId> ids;
        for (const PointView& v : got.hits) ids.push_back(v.id);
        EXPECT_EQ(ids, hits[order[g]]) << "group " << order[g];
        ASSERT_TRUE(got.hits[0].payload.has_value());
        ASSERT_TRUE(got.hits[0].score.has_value());
      }
    }
  }
}

TEST_F(AggregationsTest, GroupsOfAFilteredQueryAndIntegerValues) {
  GroupRequest request;
  request.query.vector = std::vector<float>(kDim, -0.3f);
  request.query.exact = true;
  Filter even;
  FieldCondition c;
  c.key = "even";
  c.path = *ParsePayloadPath("even");
  c.match = MatchCondition{MatchCondition::Kind::kValue, {MatchValue(true)}, ""};
  even.must.push_back(c);
  request.query.filter = even;
  request.group_by = "rank";
  request.group_by_path = *ParsePayloadPath("rank");
  request.group_size = 3;
  request.limit = 50;  // more than the 41 distinct ranks: every group comes back
  auto groups = collection_->QueryGroups(request);
  ASSERT_TRUE(groups.ok()) << groups.status();
  std::map<int64_t, size_t> expected;  // rank -> min(3, points)
  for (const PointInput& p : points_) {
    if (!p.payload.at("even").as_bool()) continue;
    std::set<int64_t> ranks;
    const json::value& r = p.payload.at("rank");
    if (r.is_array()) {
      for (const json::value& x : r.as_array()) ranks.insert(x.as_int64());
    } else {
      ranks.insert(r.as_int64());
    }
    for (int64_t x : ranks) expected[x] = std::min<size_t>(3, expected[x] + 1);
  }
  ASSERT_EQ(groups->size(), expected.size());
  for (const PointGroup& g : *groups) {
    ASSERT_TRUE(g.id.is_int64());
    EXPECT_EQ(g.hits.size(), expected[g.id.as_int64()]) << g.id;
    EXPECT_FALSE(g.hits[0].payload.has_value());  // with_payload was not asked
  }
}

// Brute force of order_by: (value, id) for every value of every point, sorted.
std::vector<std::pair<double, PointId>> OrderedEntries(const std::vector<PointInput>& points, bool desc) {
  std::vector<std::pair<double, PointId>> out;
  for (const PointInput& p : points) {
    std::set<int64_t> values;
    const json::value& r = p.payload.at("rank");
    if (r.is_array()) {
      for (const json::value& x : r.as_array()) values.insert(x.as_int64());
    } else {
      values.insert(r.as_int64());
    }
    for (int64_t v : values) out.emplace_back(static_cast<double>(v), p.id);
  }
  std::sort(out.begin(), out.end(), [desc](const auto& a, const auto& b) {
    if (a.first != b.first) return desc ? a.first > b.first : a.first < b.first;
    return a.second < b.second;
  });
  return out;
}

TEST_F(AggregationsTest, OrderByMatchesBruteForceWithTiesAndStartFrom) {
  for (bool desc : {false, true}) {
    const auto expected = OrderedEntries(points_, desc);
    for (std::optional<double> start : {std::optional<double>(), std::optional<double>(17), std::optional<double>(100)}) {
      for (size_t limit : {1, 13, 64, 2000}) {
        ScrollRequest request;
        request.limit = limit;
        request.with_payload = PayloadSelector{};
        request.order_by = OrderBy{"rank", desc, start};
        auto result = collection_->Scroll(request);
        ASSERT_TRUE(result.ok()) << result.status();
        EXPECT_FALSE(result->next_page_offset.has_value());
        std::vector<std::pair<double, PointId>> want;
        for (const auto& e : expected) {
          if (start && (desc ? e.first > *start : e.first < *start)) continue;
          if (want.size() < limit) want.push_back(e);
        }
        std::vector<std::pair<double, PointId>> got;
        for (const PointView& v : result->points) got.emplace_back(*v.order_value, v.id);
        EXPECT_EQ(got, want) << "desc " << desc << " start " << start.value_or(-1) << " limit " << limit;
      }
    }
  }
}

TEST_F(AggregationsTest, OrderByNeedsARangeIndex) {
  ScrollRequest request;
  request.order_by = OrderBy{"color", false, std::nullopt};
  auto result = collection_->Scroll(request);
  ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("color"), std::string::npos);
}

TEST_F(AggregationsTest, FacetCountsMatchBruteForce) {
  FacetRequest request;
  request.key = "color";
  request.path = *ParsePayloadPath("color");
  request.type = PayloadSchemaType::kKeyword;
  request.limit = 100;
  auto hits = collection_->Facet(request);
  ASSERT_TRUE(hits.ok()) << hits.status();
  std::map<std::string, uint64_t> expected;
  for (const PointInput& p : points_) {
    std::set<std::string> colors;
    for (const json::value& c : p.payload.at("color").as_array()) colors.insert(std::string(c.as_string()));
    for (const std::string& c : colors) ++expected[c];
  }
  ASSERT_EQ(hits->size(), expected.size());
  for (size_t i = 0; i < hits->size(); ++i) {
    EXPECT_EQ((*hits)[i].count, expected[std::string((*hits)[i].value.as_string())]);
    if (i > 0) EXPECT_GE((*hits)[i - 1].count, (*hits)[i].count);
  }
  request.limit = 3;
  auto top = collection_->Facet(request);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 3u);
  EXPECT_EQ((*top)[0].count, (*hits)[0].count);
}

TEST_F(AggregationsTest, MatrixPairsMatchBruteForce) {
  MatrixRequest request;
  request.sample = 40;
  request.limit = 4;
  auto result = collection_->SearchMatrix(request);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->ids.size(), 40u);
  ASSERT_TRUE(std::is_sorted(result->ids.begin(), result->ids.end()));
  std::map<PointId, const PointInput*> by_id;
  for (const PointInput& p : points_) by_id[p.id] = &p;
  ASSERT_EQ(result->entries.size(), 40u * 4);
  for (size_t row = 0; row < 40; ++row) {
    const auto& a = by_id.at(result->ids[row])->vectors.at("");
    std::vector<std::pair<float, size_t>> all;
    for (size_t col = 0; col < 40; ++col) {
      if (col == row) continue;
      all.emplace_back(Distance(Metric::kEuclid, a.data(), by_id.at(result->ids[col])->vectors.at("").data(), kDim), col);
    }
    std::sort(all.begin(), all.end());
    for (size_t k = 0; k < 4; ++k) {
      const MatrixResult::Entry& e = result->entries[row * 4 + k];
      EXPECT_EQ(e.row, row);
      EXPECT_EQ(e.col, all[k].second);
      EXPECT_FLOAT_EQ(e.score, DistanceToScore(Metric::kEuclid, all[k].first));
    }
  }
  // The sample is deterministic.
  auto again = collection_->SearchMatrix(request);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ids, result->ids);
}

TEST(AssembleGroupsTest, CompleteOnlyWhenEveryGroupIsFull) {
  auto point = [](uint64_t id, json::value tag) {
    PointView v;
    v.id = PointId::Num(id);
    v.payload = Payload{{"g", std::move(tag)}};
    return v;
  };
  const PayloadPath path = *ParsePayloadPath("g");
  std::vector<PointView> candidates{point(1, "a"), point(2, json::array{"b", "a"}), point(3, 7), point(4, 7.0),
                                    point(5, 1.5), point(6, true), point(7, "b")};
  bool complete = false;
  auto groups = AssembleGroups(candidates, path, 2, 2, &complete);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].id, json::value("a"));
  EXPECT_EQ(groups[0].hits.size(), 2u);
  EXPECT_EQ(groups[1].id, json::value("b"));
  EXPECT_TRUE(complete);
  groups = AssembleGroups(candidates, path, 3, 3, &complete);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[2].id, json::value(7));  // 7 and 7.0 meet; 1.5 and true are no group ids
  EXPECT_EQ(groups[2].hits.size(), 2u);
  EXPECT_FALSE(complete);
}

TEST(FacetCountsTest, MergesAndOrdersByCountThenValue) {
  FacetCounts a, b;
  a.Add(json::value("x"), 2);
  a.Add(json::value(5), 2);
  b.Add(json::value("x"), 1);
  b.Add(json::value(3), 2);
  b.Add(json::value(1.5), 9);  // not a facet value
  a.Merge(b);
  auto top = a.Top(10);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].value, json::value("x"));
  EXPECT_EQ(top[0].count, 3u);
  EXPECT_EQ(top[1].value, json::value(3));
  EXPECT_EQ(top[2].value, json::value(5));
}

TEST(MergeOrderedPagesTest, TiesByIdAcrossPages) {
  auto v = [](uint64_t id, double value) {
    PointView p;
    p.id = PointId::Num(id);
    p.order_value = value;
    return p;
  };
  OrderBy desc{"k", true, std::nullopt};
  auto merged = MergeOrderedPages(desc, {{v(9, 5), v(1, 2)}, {v(3, 5), v(2, 4)}}, 3);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].id, PointId::Num(3));
  EXPECT_EQ(merged[1].id, PointId::Num(9));
  EXPECT_EQ(merged[2].id, PointId::Num(2));
}

}  // namespace
}  // namespace vj

#include "collection/shard_state.h"

namespace vj {

HnswParams ShardState::IndexParamsFor(const std::string& vector_name) const {
  HnswParams hnsw = config.EffectiveHnsw(vector_name);
  if (std::optional<QuantizationConfig> q = config.EffectiveQuantization(vector_name)) {
    hnsw.quantization = q->kind == QuantizationConfig::Kind::kBinary ? Quantization::kBinary
                                                                       : Quantization::kScalarInt8;
    hnsw.quantile = q->quantile;
    hnsw.sq8_ranges = q->ranges;
  }
  return hnsw;
}

void ShardState::CreateVectorIndexes() {
  vector_indexes.clear();
  for (const auto& [name, params] : config.vectors) {
    vector_indexes[name] = NewHnswIndex(params.size, params.distance, IndexParamsFor(name));
  }
  CreateSparseIndexes();
}

void ShardState::CreateSparseIndexes() {
  sparse_indexes.clear();
  for (const auto& [name, params] : config.sparse_vectors) {
    sparse_indexes[name] = std::make_unique<SparseIndex>(params.idf);
  }
}

void ShardState::Clear() {
  internal_of.clear();
  external_of.clear();
  payloads.clear();
  live = roaring::Roaring();
  next_internal = 0;
  applied_sequence = 0;
  payload_indexes.clear();
  CreateVectorIndexes();
}

Status ShardState::BuildPayloadIndex(const std::string& key, const PayloadFieldSchema& schema) {
  VJ_ASSIGN_OR_RETURN(std::unique_ptr<PayloadIndex> index, PayloadIndex::Create(key, schema));
  for (uint32_t internal : live) index->Add(internal, payloads[internal]);
  payload_indexes[key] = std::move(index);
  return absl::OkStatus();
}

namespace {

// Narrows `ids` by one must-condition when an index (or the id map) can answer it exactly.
// Returns true when the condition was fully answered.
bool NarrowBy(const ShardState& state, const Condition& condition, roaring::Roaring* ids) {
  if (const auto* field = std::get_if<FieldCondition>(&condition)) {
    auto it = state.payload_indexes.find(field->key);
    if (it == state.payload_indexes.end()) return false;
    std::optional<roaring::Roaring> answer = it->second->Answer(*field);
    if (!answer) return false;
    *ids &= *answer;
    return true;
  }
  if (const auto* has_id = std::get_if<HasIdCondition>(&condition)) {
    roaring::Roaring matching;
    for (const PointId& id : has_id->ids) {
      auto it = state.internal_of.find(id);
      if (it != state.internal_of.end()) matching.add(it->second);
    }
    *ids &= matching;
    return true;
  }
  if (const auto* nested = std::get_if<std::shared_ptr<const Filter>>(&condition)) {
    const Filter& f = **nested;
    if (!f.should.empty() || !f.must_not.empty() || f.min_should) return false;
    bool all = true;
    for (const Condition& c : f.must) all = NarrowBy(state, c, ids) && all;
    return all;
  }
  return false;
}

}  // namespace

roaring::Roaring ShardState::CandidateIds(const Filter& filter) const {
  roaring::Roaring ids = live;
  for (const Condition& c : filter.must) NarrowBy(*this, c, &ids);
  return ids;
}

FilterMatcher::FilterMatcher(const ShardState& state, const Filter& filter)
    : state_(state), filter_(filter), needs_(NeedsOf(filter)) {
  if (needs_.vectors) context_.vectors = &held_;
  if (needs_.text) {
    // Tokenizing the payload instead cost ~16 us per 30-word point.
    context_.indexed_text = [this](const FieldCondition& c) -> std::optional<bool> {
      auto it = state_.payload_indexes.find(c.key);
      if (it == state_.payload_indexes.end() || it->second->TextTokenizerFor(c) == nullptr) return std::nullopt;
      return it->second->TextConditionHolds(c, internal_);
    };
  }
}

bool FilterMatcher::operator()(uint32_t internal) const {
  internal_ = internal;
  if (needs_.vectors) {
    held_.clear();
    for (const auto& [name, index] : state_.vector_indexes) {
      if (index->Contains(internal)) held_.push_back(name);
    }
    for (const auto& [name, index] : state_.sparse_indexes) {
      if (index->Contains(internal)) held_.push_back(name);
    }
  }
  return vj::Matches(filter_, state_.external_of[internal], state_.payloads[internal], context_);
}

roaring::Roaring ShardState::MatchingIds(const Filter& filter, DeadlineTicker* ticker) const {
  roaring::Roaring ids = live;
  bool exact = filter.should.empty() && filter.must_not.empty() && !filter.min_should;
  for (const Condition& c : filter.must) exact = NarrowBy(*this, c, &ids) && exact;
  if (exact) return ids;
  roaring::Roaring out;
  const FilterMatcher matches(*this, filter);
  for (uint32_t internal : ids) {
    if (ticker != nullptr && ticker->Expired()) break;
    if (matches(internal)) out.add(internal);
  }
  return out;
}

StatusOr<std::vector<PointId>> SelectedIds(const ShardState& s, const PointSelector& selector,
                                           bool require_existing) {
  std::vector<PointId> out;
  if (selector.filter) {
    std::shared_lock lock(s.mu);
    for (uint32_t internal : s.MatchingIds(*selector.filter)) out.push_back(s.external_of[internal]);
    return out;
  }
  if (require_existing) {
    std::shared_lock lock(s.mu);
    for (const PointId& id : selector.ids) {
      if (s.internal_of.find(id) == s.internal_of.end()) {
        return absl::NotFoundError("No point with id " + id.ToString() + " found");
      }
    }
  }
  return selector.ids;
}

}  // namespace vj
